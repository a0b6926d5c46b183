"""SQLite: memstore on a file with its own journal settings, and sqlite3 doing the same SQL.

The loaded file is built once per run and copied for each SQLite-format target (sqlite,
libsql, turso on file:), so each starts from the same bytes.
"""

from __future__ import annotations

import atexit
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import memstore
from memstore import sqlfiles
from memstore.adapters.sqlite import encode_seconds

from . import ops
from .data import Tally, batches

SQL = sqlfiles.load("sqlite", sqlfiles.DEFAULT_TABLES, file="queries")
INSERT = ("INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp) "
          "VALUES (?, ?, ?, ?, ?)")
_templates: dict[int, Path] = {}
SCRATCH = Path(tempfile.mkdtemp(prefix="memstore-bench-"))
atexit.register(shutil.rmtree, SCRATCH, ignore_errors=True)


def template(n: int) -> Path:
    """A checkpointed SQLite file with memstore's schema and n messages (built once)."""
    if n not in _templates:
        path = SCRATCH / f"template-{n}.db"
        with memstore.connect(f"sqlite:///{path}") as mem:
            mem.init_schema()
        conn = sqlite3.connect(path, isolation_level=None)
        load(conn, n)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
        _templates[n] = path
    return _templates[n]


def copy_of(n: int, name: str) -> Path:
    path = SCRATCH / f"{name}.db"
    shutil.copyfile(template(n), path)
    return path


def remove(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        p.unlink(missing_ok=True)


def load(conn: sqlite3.Connection, n: int) -> None:
    tally = Tally()
    conn.execute("BEGIN")
    for batch in batches(n, 10_000, tally):
        conn.executemany(INSERT, [(r.chat_id, r.user_id, r.role, r.content,
                                   encode_seconds(r.timestamp)) for r in batch])
    conn.executemany("INSERT INTO chat_sessions VALUES (?, ?, ?, ?, ?, ?)",
                     [(c, u, t, encode_seconds(a), encode_seconds(b), k)
                      for c, u, t, a, b, k in tally.rows()])
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


class Raw:
    """sqlite3 running sql/sqlite's statements, in memstore's transactions. ``conn`` is any
    DB-API connection in autocommit mode; ``run`` binds a statement's parameters."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ts = encode_seconds(ops.NOW)

    def run(self, cur: Any, name: str, params: dict[str, Any]) -> Any:
        cur.execute(SQL[name], params)
        return cur

    def round_trip(self) -> object:
        return self.conn.execute("SELECT 1").fetchall()

    def save(self, n: int) -> object:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        ids = []
        for _ in range(n):
            self.run(cur, "insert_message", {
                "chat_id": ops.SAVE_CHAT, "user_id": ops.SAVE_USER, "role": "user",
                "content": ops.CONTENT, "timestamp": self.ts})
            ids.append(cur.lastrowid)
        self.run(cur, "touch_chat_for_messages", {
            "chat_id": ops.SAVE_CHAT, "user_id": ops.SAVE_USER, "created_at": self.ts,
            "updated_at": self.ts, "message_count": n})
        cur.execute("COMMIT")
        return ids

    def last(self, chat_id: str) -> object:
        cur = self.conn.cursor()
        return self.run(cur, "last_messages", {"chat_id": chat_id, "limit": 50}).fetchall()[::-1]

    def wm_upsert(self) -> object:
        # One statement in autocommit mode, as memstore's own connection writes it.
        cur = self.conn.cursor()
        self.run(cur, "upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT,
            "updated_at": encode_seconds(ops.now())})
        return None

    def wm_read(self) -> object:
        cur = self.conn.cursor()
        return self.run(cur, "get_working_memory", {"id": f"user:{ops.WM_USER}"}).fetchone()

    def list_chats(self) -> object:
        cur = self.conn.cursor()
        return self.run(cur, "list_chats_of_user",
                        {"user_id": ops.LIST_USER, "limit": 20}).fetchall()

    def seed_doomed(self) -> object:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.executemany(INSERT, [(ops.DOOMED, ops.SAVE_USER, "user", ops.CONTENT, self.ts)]
                        * ops.DOOMED_SIZE)
        cur.execute("INSERT OR REPLACE INTO chat_sessions VALUES (?, ?, 't', ?, ?, ?)",
                    (ops.DOOMED, ops.SAVE_USER, self.ts, self.ts, ops.DOOMED_SIZE))
        cur.execute("COMMIT")
        return None

    def delete(self) -> object:
        cur = self.conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        messages = self.run(cur, "delete_chat_messages", {"chat_id": ops.DOOMED}).rowcount
        chats = self.run(cur, "delete_chat_row", {"chat_id": ops.DOOMED}).rowcount
        self.run(cur, "delete_working_memory", {"id": f"chat:{ops.DOOMED}"})
        cur.execute("COMMIT")
        return bool(messages or chats)


def build(n: int) -> ops.Target:
    with ops.Undo() as undo:
        path = copy_of(n, "sqlite")
        undo.add(remove, path)
        mem = memstore.connect(f"sqlite:///{path}")
        undo.add(mem.close)
        # The settings memstore's URL gives its own connection: WAL (in the file), NORMAL.
        conn = sqlite3.connect(path, timeout=5.0, isolation_level=None,
                               check_same_thread=False)
        undo.add(conn.close)
        conn.execute("PRAGMA synchronous=NORMAL")
        raw = Raw(conn)
        return ops.Target(mem, raw, raw.seed_doomed, str(path),
                          {"sqlite": sqlite3.sqlite_version, "synchronous": "NORMAL, WAL"},
                          undo.close)
