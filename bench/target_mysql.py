"""MySQL/MariaDB: memstore on a URL (its own autocommit connection) and PyMySQL on a second
connection with the same session settings, running sql/mysql's statements: a single
statement in autocommit, a save or delete in START TRANSACTION ... COMMIT as the adapter
does, a batch as one multi-row INSERT ... RETURNING id. Both work in a database of this run,
dropped at the end."""

from __future__ import annotations

import importlib.metadata
import os
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import pymysql

import memstore
from memstore import sqlfiles
from memstore.adapters.mysql import _split_insert

from . import ops, servers
from .data import Tally, batches

SQL = sqlfiles.load("mysql", sqlfiles.DEFAULT_TABLES, file="queries")
HEAD, ROW, NAMES = _split_insert(SQL["insert_message"])
# The session settings memstore's own connection gets (its init_command).
SESSION = sqlfiles.load("mysql", sqlfiles.DEFAULT_TABLES, file="session")["session"]
DATABASE = f"memstore_bench_{os.getpid()}"  # the test user may create memstore_% databases


def connect(base: str, database: str | None) -> Any:
    u = urlsplit(base)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=unquote(u.username or ""),
                           password=unquote(u.password or ""), database=database,
                           charset="utf8mb4", autocommit=True, init_command=SESSION,
                           ssl_disabled=True)


def naive(dt: Any) -> Any:
    return dt.replace(tzinfo=None)  # UTC; the session's time_zone is '+00:00'


def load(conn: Any, n: int) -> None:
    tally = Tally()
    cur = conn.cursor()
    for batch in batches(n, 10_000, tally):
        cur.execute("START TRANSACTION")
        # PyMySQL sends an INSERT ... VALUES executemany as multi-row INSERTs of ~1 MB.
        cur.executemany(HEAD + ROW, [(r.chat_id, r.user_id, r.role, r.content,
                                      naive(r.timestamp)) for r in batch])
        cur.execute("COMMIT")
    cur.executemany("INSERT INTO chat_sessions VALUES (%s, %s, %s, %s, %s, %s)",
                    [(c, u, t, naive(a), naive(b), k) for c, u, t, a, b, k in tally.rows()])
    cur.execute("ANALYZE TABLE conversation_messages, chat_sessions")
    cur.fetchall()


class Raw:
    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.ts = naive(ops.NOW)
        self.returning = "mariadb" in conn.get_server_info().lower()

    def query(self, name: str, params: dict[str, Any]) -> Any:
        cur = self.conn.cursor()
        cur.execute(SQL[name], params)
        return cur.fetchall()

    def round_trip(self) -> object:
        cur = self.conn.cursor()
        cur.execute("SELECT 1")
        return cur.fetchall()

    def save(self, n: int, chat_id: str = ops.SAVE_CHAT) -> object:
        cur = self.conn.cursor()
        values = {"chat_id": chat_id, "user_id": ops.SAVE_USER, "role": "user",
                  "content": ops.CONTENT, "timestamp": self.ts}
        row = [values[k] for k in NAMES]
        cur.execute("START TRANSACTION")
        statement = HEAD + ",".join([ROW] * n)
        if self.returning:
            cur.execute(statement + " RETURNING id", row * n)
            ids = [r[0] for r in cur.fetchall()]
        else:
            cur.execute(statement, row * n)
            ids = list(range(cur.lastrowid, cur.lastrowid + n))
        cur.execute(SQL["touch_chat_for_messages"], {
            "chat_id": chat_id, "user_id": ops.SAVE_USER, "created_at": self.ts,
            "updated_at": self.ts, "message_count": n})
        cur.execute("COMMIT")
        return ids

    def last(self, chat_id: str) -> object:
        return self.query("last_messages", {"chat_id": chat_id, "limit": 50})[::-1]

    def wm_upsert(self) -> object:
        return self.query("upsert_working_memory", {
            "id": f"user:{ops.WM_USER}", "scope": "user", "chat_id": None,
            "user_id": ops.WM_USER, "content": ops.CONTENT, "updated_at": naive(ops.now())})

    def wm_read(self) -> object:
        return self.query("get_working_memory", {"id": f"user:{ops.WM_USER}"})

    def list_chats(self) -> object:
        return self.query("list_chats_of_user", {"user_id": ops.LIST_USER, "limit": 20})

    def seed_doomed(self) -> object:
        return self.save(ops.DOOMED_SIZE, ops.DOOMED)

    def delete(self) -> object:
        cur = self.conn.cursor()
        cur.execute("START TRANSACTION")
        messages = cur.execute(SQL["delete_chat_messages"], {"chat_id": ops.DOOMED})
        chats = cur.execute(SQL["delete_chat_row"], {"chat_id": ops.DOOMED})
        cur.execute(SQL["delete_working_memory"], {"id": f"chat:{ops.DOOMED}"})
        cur.execute("COMMIT")
        return bool(messages or chats)


def loaded_database(n: int, database: str, undo: ops.Undo) -> tuple[str, Any, dict[str, str]]:
    """A database of this run with memstore's tables and n messages, dropped by ``undo``:
    memstore's URL for it, a PyMySQL connection to it, and the server's settings."""
    base = servers.mysql_url()
    u = urlsplit(base)
    admin = connect(base, None)
    undo.add(admin.close)
    admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
    admin.cursor().execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    undo.add(admin.cursor().execute, f"DROP DATABASE IF EXISTS {database}")
    url = urlunsplit(u._replace(path=f"/{database}", query="ssl_disabled=true"))
    with memstore.connect(url) as mem:
        mem.init_schema()
    conn = connect(base, database)
    undo.add(conn.close)
    load(conn, n)
    cur = conn.cursor()
    cur.execute("SELECT VERSION(), @@innodb_flush_log_at_trx_commit, @@sync_binlog, "
                "@@innodb_buffer_pool_size, @@innodb_doublewrite")
    version, flush, sync_binlog, pool, doublewrite = cur.fetchone()
    info = {"server": version, "durability": f"innodb_flush_log_at_trx_commit={flush}, "
            f"innodb_doublewrite={doublewrite}, sync_binlog={sync_binlog}, "
            f"innodb_buffer_pool_size={int(pool) // 2**20}MB",
            "driver": f"PyMySQL {importlib.metadata.version('PyMySQL')}"}
    return url, conn, info


def where(database: str) -> str:
    u = urlsplit(servers.mysql_url())
    return f"{u.hostname}:{u.port}, database {database}"


def build(n: int) -> ops.Target:
    with ops.Undo() as undo:
        url, conn, info = loaded_database(n, DATABASE, undo)
        mem = memstore.connect(url)
        undo.add(mem.close)
        raw = Raw(conn)
        return ops.Target(mem, raw, raw.seed_doomed, where(DATABASE), info, undo.close)
