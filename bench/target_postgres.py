"""PostgreSQL: memstore on a URL (its own autocommit connection) and psycopg on a second
autocommit connection running the statement the adapter runs for each call (one per call:
sql/postgres/queries.sql), with the same binary cursors. Both work in a schema of this
run (``search_path``), dropped at the end."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

import memstore
from memstore import sqlfiles

from . import ops, servers
from .data import Tally, batches

SQL = sqlfiles.load("postgres", sqlfiles.DEFAULT_TABLES, file="queries")
SCHEMA = f"memstore_bench_{os.getpid()}"
COPY = "COPY conversation_messages (chat_id, user_id, role, content, timestamp) FROM STDIN"


def naive(dt: Any) -> Any:
    return dt.replace(tzinfo=None)  # UTC wall-clock time, as the adapter binds it


def load(conn: psycopg.Connection[Any], n: int) -> None:
    tally = Tally()
    with conn.transaction(), conn.cursor() as cur:
        with cur.copy(COPY) as copy:
            for batch in batches(n, 10_000, tally):
                for r in batch:
                    copy.write_row((r.chat_id, r.user_id, r.role, r.content, naive(r.timestamp)))
        cur.executemany("INSERT INTO chat_sessions VALUES (%s, %s, %s, %s, %s, %s)",
                        [(c, u, t, naive(a), naive(b), k) for c, u, t, a, b, k in tally.rows()])
    # Sets hint bits and the visibility map once, so autovacuum does not run during the
    # timed part and the first reads do not write.
    conn.execute("VACUUM (ANALYZE) conversation_messages, chat_sessions")


class Raw:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.ts = naive(ops.NOW)

    def one(self, name: str, params: dict[str, Any]) -> list[Any]:
        with self.conn.cursor(binary=True, row_factory=tuple_row) as cur:
            cur.execute(SQL[name], params)
            return cur.fetchall() if cur.description else []

    def round_trip(self) -> object:
        return self.conn.execute("SELECT 1").fetchall()

    def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        return self.one("save_messages", {
            "chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
            "updated_at": self.ts, "message_count": n, "roles": ["user"] * n,
            "contents": [ops.CONTENT] * n, "timestamps": [self.ts] * n})

    def last(self, chat_id: str) -> object:
        return self.one("last_messages", {"chat_id": chat_id, "limit": 50})[::-1]

    def wm_upsert(self) -> object:
        return self.one("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT, "updated_at": naive(ops.now())})

    def wm_read(self) -> object:
        return self.one("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    def list_chats(self) -> object:
        return self.one("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    def seed_doomed(self) -> object:
        return self.save(ops.DOOMED_SIZE, ops.DOOMED)

    def delete(self) -> object:
        return self.one("delete_chat", {"chat_id": ops.DOOMED, "id": f"chat:{ops.DOOMED}"})


def schema_url(schema: str = SCHEMA) -> str:
    """The server's URL with ``schema`` as search_path."""
    base = servers.postgres_url()
    return f"{base}{'&' if '?' in base else '?'}options={quote(f'-c search_path={schema}')}"


def loaded_schema(n: int, schema: str, undo: ops.Undo
                  ) -> tuple[str, psycopg.Connection[Any], dict[str, str]]:
    """A schema of this run with memstore's tables and n messages, dropped by ``undo``:
    its URL, an autocommit connection to it, and the server's settings."""
    name = sql.Identifier(schema)
    admin = psycopg.connect(servers.postgres_url(), autocommit=True)
    undo.add(admin.close)
    admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(name))
    undo.add(admin.execute, sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(name))
    url = schema_url(schema)
    with memstore.connect(url) as mem:
        mem.init_schema()
    conn = psycopg.connect(url, autocommit=True)
    undo.add(conn.close)
    load(conn, n)
    settings = {k: conn.execute(f"SHOW {k}").fetchone()[0]  # type: ignore[index]
                for k in ("server_version", "fsync", "synchronous_commit", "shared_buffers")}
    info = {"server": f"PostgreSQL {settings.pop('server_version')}",
            "durability": ", ".join(f"{k}={v}" for k, v in settings.items()),
            "driver": f"psycopg {psycopg.__version__} ({psycopg.pq.__impl__}, libpq "
                      f"{psycopg.pq.version()})"}
    return url, conn, info


def where(schema: str) -> str:
    u = urlsplit(servers.postgres_url())
    return f"{u.hostname}:{u.port}, schema {schema}"


def build(n: int) -> ops.Target:
    with ops.Undo() as undo:
        url, conn, info = loaded_schema(n, SCHEMA, undo)
        mem = memstore.connect(url)
        undo.add(mem.close)
        raw = Raw(conn)
        return ops.Target(mem, raw, raw.seed_doomed, where(SCHEMA), info, undo.close)
