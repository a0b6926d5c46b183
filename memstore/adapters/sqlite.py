"""SQLite through the standard library's ``sqlite3``: the embedded default.

Instants are stored as Unix seconds, INTEGER when whole and REAL (millisecond precision)
otherwise: the TS package writes INTEGER seconds and reads REAL seconds to the
millisecond, so both sides read each other's rows.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import BackendError, MemstoreError, SchemaError
from .sqlbase import Cursor, Row, SqlAdapter

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MS = timedelta(milliseconds=1)
SYNCHRONOUS_MODES = ("OFF", "NORMAL", "FULL", "EXTRA")


def encode_seconds(value: datetime) -> int | float:
    ms = (value - EPOCH) // _MS
    if ms % 1000 == 0:
        return ms // 1000
    # The TS package reads `new Date(v * 1000)`, which truncates, and in doubles
    # `ms / 1000 * 1000` can land just below ms (1073741824.001 s is read as .000): step to
    # the next double up until it does not. decode_seconds rounds, so it reads both exactly.
    seconds = ms / 1000
    while seconds * 1000 < ms:
        seconds = math.nextafter(seconds, math.inf)
    return seconds


def decode_seconds(value: Any, dialect: str = "sqlite") -> datetime:
    # Exact type checks: this runs once per row read, and bool must not pass as int.
    kind = type(value)
    if kind is int:
        return datetime.fromtimestamp(value, timezone.utc)
    if kind is float:
        # REAL seconds are read to the millisecond, as the TS package reads them.
        return datetime.fromtimestamp(round(value * 1000) / 1000, timezone.utc)
    raise BackendError(
        f"expected Unix seconds in a time column, found {kind.__name__} {value!r}",
        dialect=dialect,
    )


_NO_TABLE = re.compile(r"no such table: (?:\w+\.)?(\w+)")
_NO_COLUMN = re.compile(r"(no such column: \S+|table \w+ has no column named \w+)")


def map_error(exc: Exception, dialect: str = "sqlite") -> MemstoreError:
    """The memstore error for a SQLite/libSQL error message (same texts on both)."""
    text = str(exc)
    if m := _NO_TABLE.search(text):
        return SchemaError.missing_table(m.group(1), dialect)
    if m := _NO_COLUMN.search(text):
        return SchemaError.missing_column(m.group(1))
    return BackendError(f"{type(exc).__name__}: {text}", dialect=dialect)


class SqliteFormat(SqlAdapter):
    """What every adapter of SQLite's file format shares, whatever the driver: instants as
    Unix seconds, and the schema checks. The driver part (``reading``/``writing``) is the
    subclass's."""

    def encode_time(self, value: datetime) -> int | float:
        return encode_seconds(value)

    def decode_time(self, value: Any) -> datetime:
        return decode_seconds(value, self.dialect)

    def doctor(self) -> list[str]:
        return sqlite_doctor(self, self._table_info, self._index_names)

    def _table_info(self, table: str) -> set[str]:
        with self.reading() as cur:
            cur.execute("SELECT name FROM pragma_table_info(?)", [table])
            return {r[0] for r in cur.fetchall()}

    def _index_names(self) -> set[str]:
        with self.reading() as cur:
            cur.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
            return {r[0] for r in cur.fetchall()}


class SqliteAdapter(SqliteFormat):
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, *, tables: Mapping[str, str],
                 owned: bool = False) -> None:
        super().__init__(tables)
        self.conn = conn
        self.owned = owned
        # One sqlite3 connection is not safe for concurrent use; memstore serialises its
        # own calls on it so one Memory can be shared by threads.
        self._lock = threading.RLock()

    @classmethod
    def open(cls, path: str, *, tables: Mapping[str, str], synchronous: str = "NORMAL",
             busy_timeout: float = 5.0) -> SqliteAdapter:
        """Open a file (or ``:memory:``) with memstore's settings: autocommit mode with
        explicit transactions, WAL, ``synchronous`` as given, and a busy timeout so that
        concurrent writers wait for each other instead of failing."""
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            if path != ":memory:":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA synchronous={synchronous}")  # validated by connect.py
        except sqlite3.Error as exc:
            raise map_error(exc) from exc
        return cls(conn, tables=tables, owned=True)

    # -- the transaction rule ---------------------------------------------------

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self.conn.cursor()
            try:
                yield cur
            except sqlite3.Error as exc:
                raise map_error(exc) from exc
            finally:
                cur.close()

    def fetch(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        # reading() without its context manager and cursor object: every read is this
        # call, and on an embedded database the Python around it is most of its cost.
        with self._lock:
            try:
                return self.conn.execute(self.sql[name], params).fetchall()
            except sqlite3.Error as exc:
                raise map_error(exc) from exc

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        with self._lock:
            cur = self.conn.cursor()
            joined = self.conn.in_transaction
            try:
                # IMMEDIATE takes the write lock up front, so the busy timeout applies
                # instead of a deadlock error when two writers upgrade at once.
                cur.execute("SAVEPOINT memstore" if joined else "BEGIN IMMEDIATE")
                yield cur
                cur.execute("RELEASE memstore" if joined else "COMMIT")
            except BaseException as exc:
                self._undo(cur, joined)
                if isinstance(exc, sqlite3.Error):
                    raise map_error(exc) from exc
                raise
            finally:
                cur.close()

    @contextmanager
    def writing_one(self) -> Iterator[Cursor]:
        # In autocommit mode (memstore's own connection; isolation_level=None on yours) a
        # single statement is its own transaction, and it takes the write lock before it
        # reads, so the busy timeout applies as with BEGIN IMMEDIATE. Otherwise the driver
        # may open a transaction itself: the general path. (The lock is reentrant; holding
        # it across the check keeps another thread's write from starting in between.)
        with self._lock:
            alone = not self.conn.in_transaction and self.conn.isolation_level is None
            with self.reading() if alone else self.writing() as cur:
                yield cur

    def _undo(self, cur: sqlite3.Cursor, joined: bool) -> None:
        try:
            if joined:
                cur.execute("ROLLBACK TO memstore")
                cur.execute("RELEASE memstore")
            elif self.conn.in_transaction:
                cur.execute("ROLLBACK")
        except sqlite3.Error:
            pass  # the original error is the one worth reporting

    def close(self) -> None:
        if self.owned:
            with self._lock:
                self.conn.close()


EXPECTED_COLUMNS = {
    "working_memory": {"id", "scope", "chat_id", "user_id", "content", "updated_at"},
    "messages": {"id", "chat_id", "user_id", "role", "content", "timestamp"},
    "chats": {"chat_id", "user_id", "title", "created_at", "updated_at", "message_count"},
}

_CREATE_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+)")


def sqlite_doctor(adapter: SqlAdapter, table_columns: Any, index_names: Any) -> list[str]:
    """Shared by the SQLite and libSQL adapters: same schema, different driver."""
    problems: list[str] = []
    for key, expected in EXPECTED_COLUMNS.items():
        table = adapter.tables[key]
        have = table_columns(table)
        if not have:
            problems.append(f"table {table} is missing: run `memstore init URL`")
        elif missing := sorted(expected - have):
            problems.append(f"table {table} lacks columns {', '.join(missing)}")
    have_indexes = index_names()
    for statement in adapter.schema.values():
        m = _CREATE_INDEX.search(statement)
        if m and m.group(1) not in have_indexes:
            problems.append(f"index {m.group(1)} is missing: run `memstore init URL`")
    return problems
