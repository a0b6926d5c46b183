"""Turso through libsql-client: on a ``file:`` URL (the client's local executor) and against
sqld over HTTP and WebSocket. memstore opens its own client from the URL; the raw side is a
second client running sql/sqlite's statements: a read or a single write as one
``execute``, a save or delete as one ``batch`` (the client's transaction), as the adapter
does.

On a sqld this run started, the tables have their default names; on the tests' sqld
(``$MEMSTORE_TEST_TURSO_URL``) they are ``bench<pid>_...``, dropped at the end. The
server's data is loaded once and shared by the http and ws targets.
"""

from __future__ import annotations

import atexit
import json
import os
import urllib.request
from importlib.metadata import version
from typing import Any

import libsql_client

import memstore
from memstore import sqlfiles
from memstore.adapters.sqlite import encode_seconds

from . import ops, servers
from .data import Tally, batches
from .target_sqlite import copy_of, remove

ROWS_PER_INSERT = 100  # 500 parameters per statement
INSERTS_PER_BATCH = 10
_loaded: dict[tuple[str, int], dict[str, str]] = {}


def named(params: dict[str, Any]) -> dict[str, Any]:
    return {f":{k}": v for k, v in params.items()}


class Raw:
    def __init__(self, client: Any, tables: dict[str, str]) -> None:
        self.client = client
        self.sql = sqlfiles.load("sqlite", tables, file="queries")
        self.ts = encode_seconds(ops.NOW)

    def round_trip(self) -> object:
        return self.client.execute("SELECT 1").rows

    def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        row = named({"chat_id": chat_id, "user_id": ops.SAVE_USER, "role": "user",
                     "content": ops.CONTENT, "timestamp": self.ts})
        touch = named({"chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
                       "updated_at": self.ts, "message_count": n})
        got = self.client.batch([(self.sql["insert_message"], row)] * n
                                + [(self.sql["touch_chat_for_messages"], touch)])
        return [r.last_insert_rowid for r in got[:n]]

    def read(self, name: str, params: dict[str, Any]) -> list[Any]:
        return list(self.client.execute(self.sql[name], named(params)).rows)

    def last(self, chat_id: str) -> object:
        return self.read("last_messages", {"chat_id": chat_id, "limit": 50})[::-1]

    def wm_upsert(self) -> object:
        return self.read("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": encode_seconds(ops.now())})

    def wm_read(self) -> object:
        return self.read("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    def list_chats(self) -> object:
        return self.read("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    def seed_doomed(self) -> object:
        return self.save(ops.DOOMED_SIZE, ops.DOOMED)

    def delete(self) -> object:
        got = self.client.batch([
            (self.sql["delete_chat_messages"], named({"chat_id": ops.DOOMED})),
            (self.sql["delete_chat_row"], named({"chat_id": ops.DOOMED})),
            (self.sql["delete_working_memory"], named({"id": f"chat:{ops.DOOMED}"}))])
        return any(r.rows_affected for r in got[:2])


def load(client: Any, tables: dict[str, str], n: int) -> None:
    """Multi-row INSERTs, several per batch (one HTTP request, one transaction)."""
    messages = tables["messages"]
    head = f"INSERT INTO {messages} (chat_id, user_id, role, content, timestamp) VALUES "
    tally = Tally()
    for batch in batches(n, ROWS_PER_INSERT * INSERTS_PER_BATCH, tally):
        statements = []
        for i in range(0, len(batch), ROWS_PER_INSERT):
            part = batch[i:i + ROWS_PER_INSERT]
            args = [v for r in part for v in (r.chat_id, r.user_id, r.role, r.content,
                                              encode_seconds(r.timestamp))]
            statements.append((head + ",".join(["(?, ?, ?, ?, ?)"] * len(part)), args))
        client.batch(statements)
    client.batch([(f"INSERT INTO {tables['chats']} VALUES (?, ?, ?, ?, ?, ?)",
                   [c, u, t, encode_seconds(a), encode_seconds(b), k])
                  for c, u, t, a, b, k in tally.rows()])
    # No ANALYZE: sqld 0.24 refuses it ("unsupported statement"); the indexes are used
    # without statistics.


def driver() -> str:
    return f"libsql-client {version('libsql-client')}, aiohttp {version('aiohttp')}"


def build_file(n: int) -> ops.Target:
    with ops.Undo() as undo:
        path = copy_of(n, "turso-file")
        undo.add(remove, path)
        mem = memstore.connect(f"file:{path}")
        undo.add(mem.close)
        client = libsql_client.create_client_sync(f"file:{path}")
        undo.add(client.close)
        raw = Raw(client, sqlfiles.DEFAULT_TABLES)
        info = {"driver": driver(), "note": "libsql-client's file executor opens a new "
                "sqlite3 connection (default synchronous) for every execute and batch"}
        return ops.Target(mem, raw, raw.seed_doomed, str(path), info, undo.close)


def server(n: int, scheme: str) -> tuple[str, str, dict[str, str], dict[str, str]]:
    """sqld's URL for ``scheme`` (http, ws), its token, the run's tables there and the
    server's description; the tables are created and loaded on first use (once per run,
    shared by the http and ws targets, sync and async)."""
    http, token, ours = servers.turso()
    tables = dict(sqlfiles.DEFAULT_TABLES) if ours else {
        k: f"bench{os.getpid()}_{v}" for k, v in sqlfiles.DEFAULT_TABLES.items()}
    url = http.replace("http://", f"{scheme}://", 1)
    if (http, n) not in _loaded:
        if not ours:  # the tests' server: the run's tables go when the run ends
            atexit.register(drop, http, token, tables)
        with memstore.connect(f"{http}?authToken={token}", tables=tables) as mem:
            mem.init_schema()
        with libsql_client.create_client_sync(http, auth_token=token) as client:
            load(client, tables, n)
        with urllib.request.urlopen(f"{http}/version", timeout=10) as resp:
            version_text = resp.read().decode().strip()
        _loaded[(http, n)] = {"server": version_text, "driver": driver(),
                              "tables": json.dumps(tables)}
    return url, token, tables, _loaded[(http, n)]


def build_network(n: int, scheme: str) -> ops.Target:
    url, token, tables, info = server(n, scheme)
    with ops.Undo() as undo:
        mem = memstore.connect(f"{url}?authToken={token}", tables=tables)
        undo.add(mem.close)
        client = libsql_client.create_client_sync(url, auth_token=token)
        undo.add(client.close)
        raw = Raw(client, tables)
        return ops.Target(mem, raw, raw.seed_doomed, url, info, undo.close)


def drop(url: str, token: str, tables: dict[str, str]) -> None:
    with libsql_client.create_client_sync(url, auth_token=token) as client:
        client.batch([f"DROP TABLE IF EXISTS {t}" for t in tables.values()])
