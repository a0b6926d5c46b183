"""PostgreSQL, async: AsyncMemory from the URL (its own psycopg AsyncConnection) against
a psycopg AsyncConnection running bench/target_postgres.py's statements, in a schema of
its own with the same data plus the 100,000-message chat; and many tasks on one
AsyncConnectionPool."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import psycopg
from psycopg.rows import tuple_row
from psycopg_pool import AsyncConnectionPool

import memstore

from . import ops, target_postgres
from .async_ops import HUGE, HUGE_SIZE, PAGE, AsyncTarget, concurrent, huge_rows

PG_SCHEMA = f"{target_postgres.SCHEMA}_async"


class PgFloor:
    """target_postgres.Raw on a psycopg ``AsyncConnection`` (autocommit, binary cursors)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ts = target_postgres.naive(ops.NOW)
        self.anchor: tuple[Any, int] = (None, 0)

    async def one(self, name: str, params: dict[str, Any]) -> list[Any]:

        async with self.conn.cursor(binary=True, row_factory=tuple_row) as cur:
            await cur.execute(target_postgres.SQL[name], params)
            return await cur.fetchall() if cur.description else []

    async def round_trip(self) -> object:
        return await (await self.conn.execute("SELECT 1")).fetchall()

    async def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        return await self.one("save_messages", {
            "chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
            "updated_at": self.ts, "message_count": n, "roles": ["user"] * n,
            "contents": [ops.CONTENT] * n, "timestamps": [self.ts] * n})

    async def last(self, chat_id: str) -> object:
        return (await self.one("last_messages", {"chat_id": chat_id, "limit": 50}))[::-1]

    async def wm_upsert(self) -> object:
        return await self.one("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": target_postgres.naive(ops.now())})

    async def wm_read(self) -> object:
        return await self.one("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    async def list_chats(self) -> object:
        return await self.one("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    async def seed_doomed(self) -> object:
        return await self.save(ops.DOOMED_SIZE, ops.DOOMED)

    async def delete(self) -> object:
        return await self.one("delete_chat", {"chat_id": ops.DOOMED,
                                              "id": f"chat:{ops.DOOMED}"})

    async def page(self, chat_id: str, before: tuple[Any, int] | None) -> list[Any]:
        if before is None:
            return await self.one("last_messages", {"chat_id": chat_id, "limit": PAGE})
        return await self.one("messages_before", {
            "chat_id": chat_id, "limit": PAGE, "before_ts": before[0], "before_id": before[1]})

    async def all_messages(self, chat_id: str) -> object:
        rows = await self.page(chat_id, None)
        out = list(rows)
        while len(rows) == PAGE:
            rows = await self.page(chat_id, (rows[-1][5], rows[-1][0]))
            out += rows
        return out[::-1]

    async def first_page(self) -> object:
        return (await self.page(HUGE, None))[::-1]

    async def last_page(self) -> object:
        return (await self.page(HUGE, self.anchor))[::-1]


def add_huge_postgres(conn: Any) -> tuple[Any, int]:
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(target_postgres.COPY) as copy:
            for c, u, r, x, t in huge_rows():
                copy.write_row((c, u, r, x, target_postgres.naive(t)))
        now = target_postgres.naive(ops.NOW)
        cur.execute("INSERT INTO chat_sessions VALUES (%s, 'user-huge', 'Huge', %s, %s, %s)",
                    (HUGE, now, now, HUGE_SIZE))
    conn.execute("VACUUM (ANALYZE) conversation_messages, chat_sessions")
    row = conn.execute("SELECT timestamp, id FROM conversation_messages WHERE chat_id = %s "
                       "ORDER BY timestamp, id LIMIT 1 OFFSET %s", (HUGE, PAGE)).fetchone()
    return row[0], row[1]


async def build(n: int) -> AsyncTarget:
    stack = AsyncExitStack()
    undo = ops.Undo()
    stack.callback(undo.close)
    try:
        url, conn, info = await asyncio.to_thread(
            target_postgres.loaded_schema, n, PG_SCHEMA, undo)
        anchor = await asyncio.to_thread(add_huge_postgres, conn)
        mem = await memstore.connect_async(url)
        stack.push_async_callback(mem.aclose)
        aconn = await psycopg.AsyncConnection.connect(url, autocommit=True)
        stack.push_async_callback(aconn.close)
        raw = PgFloor(aconn)
        raw.anchor = anchor
        info = {**info, "memstore": "connect_async(URL): its own psycopg AsyncConnection",
                "raw": "psycopg AsyncConnection, autocommit, binary cursors"}
        return AsyncTarget(mem, raw, target_postgres.where(PG_SCHEMA), stack, info,
                           huge_anchor=anchor)
    except BaseException:
        await stack.aclose()
        raise


async def pool_throughput(url: str, tasks: int, size: int, seconds: float
                          ) -> dict[str, dict[str, float]]:
    """Calls per second of ``tasks`` tasks over an AsyncConnectionPool of ``size``:
    AsyncMemory on the pool against the same pool running the same statement by hand.
    Each task saves into a chat of its own (no shared row lock)."""
    pool = AsyncConnectionPool(url, min_size=size, max_size=size, open=False,
                               kwargs={"autocommit": True})
    await pool.open(wait=True)
    try:
        mem = await memstore.connect_async(pool)
        ts = target_postgres.naive(ops.NOW)

        async def raw(name: str, params: dict[str, Any]) -> list[Any]:
            async with pool.connection() as conn, \
                    conn.cursor(binary=True, row_factory=tuple_row) as cur:
                await cur.execute(target_postgres.SQL[name], params)
                return await cur.fetchall()

        def mem_save(i: int) -> Any:
            return lambda: mem.save_message(f"conc-{i}", "user", ops.CONTENT,
                                            user_id=ops.SAVE_USER, timestamp=ops.NOW)

        def raw_save(i: int) -> Any:
            params = {"chat_id": f"conc-{i}", "user_id": ops.SAVE_USER, "created_at": ts,
                      "updated_at": ts, "message_count": 1, "roles": ["user"],
                      "contents": [ops.CONTENT], "timestamps": [ts]}
            return lambda: raw("save_messages", params)

        async def raw_last() -> object:
            return (await raw("last_messages", {"chat_id": ops.TYPICAL, "limit": 50}))[::-1]

        got = await concurrent({
            "save_message": {"raw": raw_save, "memstore": mem_save},
            "get_messages(limit=50), typical chat": {
                "raw": lambda i: raw_last,
                "memstore": lambda i: lambda: mem.get_messages(ops.TYPICAL, limit=50)},
        }, tasks, seconds)
        await mem.aclose()
        return got
    finally:
        await pool.close()
