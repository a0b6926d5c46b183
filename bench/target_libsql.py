"""libSQL through the ``libsql`` driver (DB-API style) on a local file: memstore on a
connection it is given, and a second connection running the same statements, with
``:name`` parameters numbered as memstore numbers them (the driver binds only sequences).
Both connections have the driver's defaults (synchronous FULL); the file is in WAL mode."""

from __future__ import annotations

from typing import Any

import libsql

import memstore
from memstore.adapters.turso import numbered

from . import ops, target_sqlite
from .target_sqlite import SQL, copy_of, remove

NUMBERED = {name: numbered(sql) for name, sql in SQL.items()}


class Raw(target_sqlite.Raw):
    def run(self, cur: Any, name: str, params: dict[str, Any]) -> Any:
        sql, names = NUMBERED[name]
        cur.execute(sql, tuple(params[n] for n in names))
        return cur

    def wm_upsert(self) -> object:
        # memstore runs it in BEGIN IMMEDIATE ... COMMIT on a libsql connection (the
        # driver's autocommit rules are not sqlite3's), so the floor does too.
        self.conn.execute("BEGIN IMMEDIATE")
        super().wm_upsert()
        self.conn.execute("COMMIT")
        return None


def build(n: int) -> ops.Target:
    with ops.Undo() as undo:
        path = copy_of(n, "libsql")
        undo.add(remove, path)
        conn = libsql.connect(str(path))
        undo.add(conn.close)
        mem = memstore.connect(conn)
        raw_conn = libsql.connect(str(path))
        undo.add(raw_conn.close)
        raw = Raw(raw_conn)
        version = raw_conn.execute("SELECT sqlite_version()").fetchall()[0][0]
        return ops.Target(mem, raw, raw.seed_doomed, str(path),
                          {"libsql engine (sqlite_version)": version,
                           "synchronous": "driver default (FULL), WAL"},
                          undo.close)
