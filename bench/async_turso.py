"""Turso through libsql-client, async: AsyncMemory from the URL (memstore opens an async
``Client`` and awaits it on the caller's loop) against a second async ``Client`` running
bench/target_turso.py's statements: a read or a single write as one ``execute``, a save or
delete as one ``batch``. On sqld (http, ws) the same tables as the sync rows; on
``file:`` a copy of the loaded file."""

from __future__ import annotations

from contextlib import AsyncExitStack
from typing import Any

import libsql_client

import memstore
from memstore import sqlfiles
from memstore.adapters.sqlite import encode_seconds

from . import ops, target_sqlite, target_turso
from .async_ops import AsyncTarget
from .target_turso import named


class ClientFloor:
    def __init__(self, client: Any, tables: dict[str, str]) -> None:
        self.client = client
        self.sql = sqlfiles.load("sqlite", tables, file="queries")
        self.ts = encode_seconds(ops.NOW)

    async def round_trip(self) -> object:
        return (await self.client.execute("SELECT 1")).rows

    async def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        row = named({"chat_id": chat_id, "user_id": ops.SAVE_USER, "role": "user",
                     "content": ops.CONTENT, "timestamp": self.ts})
        touch = named({"chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
                       "updated_at": self.ts, "message_count": n})
        got = await self.client.batch([(self.sql["insert_message"], row)] * n
                                      + [(self.sql["touch_chat_for_messages"], touch)])
        return [r.last_insert_rowid for r in got[:n]]

    async def read(self, name: str, params: dict[str, Any]) -> list[Any]:
        return list((await self.client.execute(self.sql[name], named(params))).rows)

    async def last(self, chat_id: str) -> object:
        return (await self.read("last_messages", {"chat_id": chat_id, "limit": 50}))[::-1]

    async def wm_upsert(self) -> object:
        return await self.read("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": encode_seconds(ops.now())})

    async def wm_read(self) -> object:
        return await self.read("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    async def list_chats(self) -> object:
        return await self.read("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    async def seed_doomed(self) -> object:
        return await self.save(ops.DOOMED_SIZE, ops.DOOMED)

    async def delete(self) -> object:
        got = await self.client.batch([
            (self.sql["delete_chat_messages"], named({"chat_id": ops.DOOMED})),
            (self.sql["delete_chat_row"], named({"chat_id": ops.DOOMED})),
            (self.sql["delete_working_memory"], named({"id": f"chat:{ops.DOOMED}"}))])
        return any(r.rows_affected for r in got[:2])


INFO = {"memstore": "connect_async(URL): its own async libsql_client.Client (with its "
        "request deadline)", "raw": "a second async libsql_client.Client, no deadline"}


async def build_network(n: int, scheme: str) -> AsyncTarget:
    url, token, tables, info = target_turso.server(n, scheme)
    stack = AsyncExitStack()
    try:
        mem = await memstore.connect_async(f"{url}?authToken={token}", tables=tables)
        stack.push_async_callback(mem.aclose)
        client = libsql_client.create_client(url, auth_token=token)
        stack.push_async_callback(client.close)
        return AsyncTarget(mem, ClientFloor(client, tables), url, stack, {**info, **INFO})
    except BaseException:
        await stack.aclose()
        raise


async def build_file(n: int) -> AsyncTarget:
    stack = AsyncExitStack()
    try:
        path = target_sqlite.copy_of(n, "turso-file-async")
        stack.callback(target_sqlite.remove, path)
        mem = await memstore.connect_async(f"file:{path}")
        stack.push_async_callback(mem.aclose)
        client = libsql_client.create_client(f"file:{path}")
        stack.push_async_callback(client.close)
        info = {"driver": target_turso.driver(), **INFO,
                "note": "the file executor runs sqlite3 on the loop's thread, a new "
                        "connection per execute and batch"}
        return AsyncTarget(mem, ClientFloor(client, sqlfiles.DEFAULT_TABLES), str(path),
                           stack, info)
    except BaseException:
        await stack.aclose()
        raise
