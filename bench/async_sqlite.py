"""SQLite, async: AsyncMemory from the URL (memstore runs sqlite3 on a dedicated thread);
the floor is bench/target_sqlite.py's sqlite3 floor on a dedicated thread of its own (one
``run_in_executor`` hop per operation); the alternative is aiosqlite doing the same SQL.
A copy of the loaded file, plus the 100,000-message chat."""

from __future__ import annotations

import asyncio
import sqlite3
from contextlib import AsyncExitStack
from importlib.metadata import version
from typing import Any

import memstore
from memstore.adapters.sqlite import encode_seconds

from . import ops, target_sqlite
from .async_ops import HUGE, HUGE_SIZE, PAGE, AsyncTarget, OnQueueThread, OnThread, huge_rows
from .async_targets import installed, missing


class SqlitePages(target_sqlite.Raw):
    """The sync sqlite3 floor plus the keyset reads of the 100,000-message chat."""

    anchor: tuple[Any, int]

    def page(self, chat_id: str, before: tuple[Any, int] | None) -> list[Any]:
        cur = self.conn.cursor()
        if before is None:
            return self.run(cur, "last_messages", {"chat_id": chat_id, "limit": PAGE}
                            ).fetchall()
        return self.run(cur, "messages_before", {
            "chat_id": chat_id, "limit": PAGE, "before_ts": before[0],
            "before_id": before[1]}).fetchall()

    def all_messages(self, chat_id: str) -> object:
        rows = self.page(chat_id, None)
        out = list(rows)
        while len(rows) == PAGE:
            rows = self.page(chat_id, (rows[-1][5], rows[-1][0]))
            out += rows
        return out[::-1]

    def first_page(self) -> object:
        return self.page(HUGE, None)[::-1]

    def last_page(self) -> object:
        return self.page(HUGE, self.anchor)[::-1]


class AioSqlite:
    """aiosqlite running the sqlite3 floor's statements and transactions; every execute is
    a hop to aiosqlite's own thread (a read is one ``execute_fetchall``, one hop)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ts = encode_seconds(ops.NOW)
        self.anchor: tuple[Any, int] = ("", 0)

    async def rows(self, name: str, params: dict[str, Any]) -> list[Any]:
        return list(await self.conn.execute_fetchall(target_sqlite.SQL[name], params))

    async def round_trip(self) -> object:
        return await self.conn.execute_fetchall("SELECT 1")

    async def save(self, n: int) -> object:
        cur = await self.conn.cursor()
        await cur.execute("BEGIN IMMEDIATE")
        ids = []
        for _ in range(n):
            await cur.execute(target_sqlite.SQL["insert_message"], {
                "chat_id": ops.SAVE_CHAT, "user_id": ops.SAVE_USER, "role": "user",
                "content": ops.CONTENT, "timestamp": self.ts})
            ids.append(cur.lastrowid)
        await cur.execute(target_sqlite.SQL["touch_chat_for_messages"], {
            "chat_id": ops.SAVE_CHAT, "user_id": ops.SAVE_USER, "created_at": self.ts,
            "updated_at": self.ts, "message_count": n})
        await cur.execute("COMMIT")
        return ids

    async def last(self, chat_id: str) -> object:
        return (await self.rows("last_messages", {"chat_id": chat_id, "limit": 50}))[::-1]

    async def wm_upsert(self) -> object:
        await self.conn.execute(target_sqlite.SQL["upsert_working_memory"], {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": encode_seconds(ops.now())})
        return None

    async def wm_read(self) -> object:
        got = await self.rows("get_working_memory", {"id": f"user:{ops.WM_USER}"})
        return got[0] if got else None

    async def list_chats(self) -> object:
        return await self.rows("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    async def seed_doomed(self) -> object:
        cur = await self.conn.cursor()
        await cur.execute("BEGIN IMMEDIATE")
        await cur.executemany(target_sqlite.INSERT, [
            (ops.DOOMED, ops.SAVE_USER, "user", ops.CONTENT, self.ts)] * ops.DOOMED_SIZE)
        await cur.execute("INSERT OR REPLACE INTO chat_sessions VALUES (?, ?, 't', ?, ?, ?)",
                          (ops.DOOMED, ops.SAVE_USER, self.ts, self.ts, ops.DOOMED_SIZE))
        await cur.execute("COMMIT")
        return None

    async def delete(self) -> object:
        cur = await self.conn.cursor()
        await cur.execute("BEGIN IMMEDIATE")
        await cur.execute(target_sqlite.SQL["delete_chat_messages"], {"chat_id": ops.DOOMED})
        messages = cur.rowcount
        await cur.execute(target_sqlite.SQL["delete_chat_row"], {"chat_id": ops.DOOMED})
        chats = cur.rowcount
        await cur.execute(target_sqlite.SQL["delete_working_memory"],
                          {"id": f"chat:{ops.DOOMED}"})
        await cur.execute("COMMIT")
        return bool(messages or chats)

    async def page(self, chat_id: str, before: tuple[Any, int] | None) -> list[Any]:
        if before is None:
            return await self.rows("last_messages", {"chat_id": chat_id, "limit": PAGE})
        return await self.rows("messages_before", {
            "chat_id": chat_id, "limit": PAGE, "before_ts": before[0], "before_id": before[1]})

    async def all_messages(self, chat_id: str) -> object:
        rows = await self.page(chat_id, None)
        out = list(rows)
        while len(rows) == PAGE:
            rows = await self.page(chat_id, (rows[-1][5], rows[-1][0]))
            out += rows
        return out[::-1]


def add_huge_sqlite(path: Any) -> tuple[Any, int]:
    """The 100,000-message chat, appended to the file; returns the page anchor: (timestamp,
    id) of the message just newer than the oldest PAGE."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(target_sqlite.INSERT, ((c, u, r, x, encode_seconds(t))
                                                for c, u, r, x, t in huge_rows()))
        conn.execute("INSERT INTO chat_sessions VALUES (?, 'user-huge', 'Huge', ?, ?, ?)",
                     (HUGE, encode_seconds(ops.NOW), encode_seconds(ops.NOW), HUGE_SIZE))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ts, id_ = conn.execute(
            "SELECT timestamp, id FROM conversation_messages WHERE chat_id = ? "
            "ORDER BY timestamp, id LIMIT 1 OFFSET ?", (HUGE, PAGE)).fetchone()
        return ts, id_
    finally:
        conn.close()


async def build(n: int) -> AsyncTarget:
    stack = AsyncExitStack()
    try:
        path = target_sqlite.copy_of(n, "sqlite-async")
        stack.callback(target_sqlite.remove, path)
        anchor = await asyncio.to_thread(add_huge_sqlite, path)
        mem = await memstore.connect_async(f"sqlite:///{path}")
        stack.push_async_callback(mem.aclose)

        def open_floor() -> SqlitePages:
            # The settings memstore's URL gives its own connection, as the sync floor.
            conn = sqlite3.connect(path, timeout=5.0, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA synchronous=NORMAL")
            stack.callback(conn.close)  # closed before its (idle) thread ends
            floor = SqlitePages(conn)
            floor.anchor = anchor
            return floor

        raw = await OnThread.open(stack, "bench-sqlite3", open_floor)
        info = {"sqlite": sqlite3.sqlite_version, "synchronous": "NORMAL, WAL",
                "memstore": "connect_async(sqlite URL): sqlite3 on a dedicated thread",
                "raw": "sqlite3 on a dedicated thread, one run_in_executor hop per op"}
        alternatives: dict[str, Any] = {}
        if installed("aiosqlite"):
            import aiosqlite

            conn = await aiosqlite.connect(path, timeout=5.0, isolation_level=None)
            stack.push_async_callback(conn.close)
            await conn.execute("PRAGMA synchronous=NORMAL")
            alt = AioSqlite(conn)
            alt.anchor = anchor
            alternatives["aiosqlite"] = alt
            info["aiosqlite"] = (f"aiosqlite {version('aiosqlite')}: the same SQL, "
                                 "a hop per statement")
        else:
            info["aiosqlite"] = missing("aiosqlite")
        alternatives["queue-thread"] = await OnQueueThread.open_queue(
            stack, "bench-sqlite3-queue", open_floor)
        info["queue-thread"] = ("the raw floor's sqlite3 on a plain thread with aiosqlite's "
                                "hand-off (SimpleQueue, call_soon_threadsafe) instead of "
                                "run_in_executor; one hop per op")
        return AsyncTarget(mem, raw, str(path), stack, info, alternatives, huge_anchor=anchor)
    except BaseException:
        await stack.aclose()
        raise
