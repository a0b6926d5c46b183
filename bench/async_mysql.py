"""MySQL/MariaDB, async: AsyncMemory from the URL (memstore runs PyMySQL on a dedicated
thread); the floor is bench/target_mysql.py's PyMySQL floor on a dedicated thread of its
own (one ``run_in_executor`` hop per operation); the alternative is aiomysql doing the
same SQL. A database of its own with the same data."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from importlib.metadata import version
from typing import Any
from urllib.parse import unquote, urlsplit

import memstore

from . import ops, servers, target_mysql
from .async_ops import AsyncTarget, OnQueueThread, OnThread
from .async_targets import installed, missing

MYSQL_DATABASE = f"{target_mysql.DATABASE}_async"


class AioMysql:
    """aiomysql running target_mysql.Raw's statements and transactions."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ts = target_mysql.naive(ops.NOW)
        self.returning = "mariadb" in conn.get_server_info().lower()

    async def query(self, name: str, params: dict[str, Any]) -> Any:
        async with self.conn.cursor() as cur:
            await cur.execute(target_mysql.SQL[name], params)
            return await cur.fetchall()

    async def round_trip(self) -> object:
        async with self.conn.cursor() as cur:
            await cur.execute("SELECT 1")
            return await cur.fetchall()

    async def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        values = {"chat_id": chat_id, "user_id": ops.SAVE_USER, "role": "user",
                  "content": ops.CONTENT, "timestamp": self.ts}
        row = [values[k] for k in target_mysql.NAMES]
        statement = target_mysql.HEAD + ",".join([target_mysql.ROW] * n)
        async with self.conn.cursor() as cur:
            await cur.execute("START TRANSACTION")
            if self.returning:
                await cur.execute(statement + " RETURNING id", row * n)
                ids = [r[0] for r in await cur.fetchall()]
            else:
                await cur.execute(statement, row * n)
                ids = list(range(cur.lastrowid, cur.lastrowid + n))
            await cur.execute(target_mysql.SQL["touch_chat_for_messages"], {
                "chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
                "updated_at": self.ts, "message_count": n})
            await cur.execute("COMMIT")
        return ids

    async def last(self, chat_id: str) -> object:
        return (await self.query("last_messages", {"chat_id": chat_id, "limit": 50}))[::-1]

    async def wm_upsert(self) -> object:
        return await self.query("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": target_mysql.naive(ops.now())})

    async def wm_read(self) -> object:
        return await self.query("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    async def list_chats(self) -> object:
        return await self.query("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    async def seed_doomed(self) -> object:
        return await self.save(ops.DOOMED_SIZE, ops.DOOMED)

    async def delete(self) -> object:
        async with self.conn.cursor() as cur:
            await cur.execute("START TRANSACTION")
            messages = await cur.execute(target_mysql.SQL["delete_chat_messages"],
                                         {"chat_id": ops.DOOMED})
            chats = await cur.execute(target_mysql.SQL["delete_chat_row"],
                                      {"chat_id": ops.DOOMED})
            await cur.execute(target_mysql.SQL["delete_working_memory"],
                              {"id": f"chat:{ops.DOOMED}"})
            await cur.execute("COMMIT")
        return bool(messages or chats)


async def build(n: int) -> AsyncTarget:
    stack = AsyncExitStack()
    undo = ops.Undo()
    stack.callback(undo.close)
    try:
        url, _, info = await asyncio.to_thread(
            target_mysql.loaded_database, n, MYSQL_DATABASE, undo)
        mem = await memstore.connect_async(url)
        stack.push_async_callback(mem.aclose)
        base = servers.mysql_url()

        def open_floor() -> Any:
            floor_conn = target_mysql.connect(base, MYSQL_DATABASE)
            stack.callback(floor_conn.close)  # closed before its (idle) thread ends
            return target_mysql.Raw(floor_conn)

        raw = await OnThread.open(stack, "bench-pymysql", open_floor)
        info = {**info, "memstore": "connect_async(URL): PyMySQL on a dedicated thread",
                "raw": "PyMySQL on a dedicated thread, one run_in_executor hop per op"}
        alternatives: dict[str, Any] = {}
        if installed("aiomysql"):
            import aiomysql

            u = urlsplit(base)
            aconn = await aiomysql.connect(
                host=u.hostname, port=u.port or 3306, user=unquote(u.username or ""),
                password=unquote(u.password or ""), db=MYSQL_DATABASE, charset="utf8mb4",
                autocommit=True, init_command=target_mysql.SESSION)
            stack.push_async_callback(aconn.ensure_closed)
            alternatives["aiomysql"] = AioMysql(aconn)
            info["aiomysql"] = f"aiomysql {version('aiomysql')}: the same SQL"
        else:
            info["aiomysql"] = missing("aiomysql")
        alternatives["queue-thread"] = await OnQueueThread.open_queue(
            stack, "bench-pymysql-queue", open_floor)
        info["queue-thread"] = ("the raw floor's PyMySQL on a plain thread with aiosqlite's "
                                "hand-off (SimpleQueue, call_soon_threadsafe) instead of "
                                "run_in_executor; one hop per op")
        return AsyncTarget(mem, raw, target_mysql.where(MYSQL_DATABASE), stack, info,
                           alternatives)
    except BaseException:
        await stack.aclose()
        raise
