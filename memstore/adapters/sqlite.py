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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

from .. import sqlfiles
from ..errors import BackendError, MemstoreError, SchemaError
from ..models import Message, message_from_row
from ..plan import OWN, Plan, Stmt, Unit
from .dbapi import DbapiRunner, own_transaction, wanted
from .sqlbase import Row, SqlDialect

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
    try:
        if kind is int:
            return datetime.fromtimestamp(value, timezone.utc)
        if kind is float:
            # REAL seconds are read to the millisecond, as the TS package reads them.
            return datetime.fromtimestamp(round(value * 1000) / 1000, timezone.utc)
    except (ValueError, OverflowError, OSError):
        # Out of datetime's range: most often milliseconds written where the TS schema
        # has seconds (1.7e12 is the year ~56,000).
        hint = " (milliseconds? the column holds Unix seconds)" if abs(value) > 1e11 else ""
        raise BackendError(f"the time value {value!r} is out of range{hint}",
                           dialect=dialect) from None
    raise BackendError(
        f"expected Unix seconds in a time column, found {kind.__name__} {value!r}",
        dialect=dialect,
    )


def _not_seconds() -> datetime:
    raise TypeError  # see SqliteFormat.messages_from_rows


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


class SqliteFormat(SqlDialect):
    """What every driver of SQLite's file format shares: instants as Unix seconds, the
    statements of sql/sqlite, and the schema checks."""

    sql_dialect = "sqlite"
    fts_trigram = True  # recall's candidates come from the FTS5 trigram index

    def encode_time(self, value: datetime) -> int | float:
        return encode_seconds(value)

    def decode_time(self, value: Any) -> datetime:
        return decode_seconds(value, self.dialect)

    def messages_from_rows(self, rows: Sequence[Row]) -> list[Message]:
        # SqlDialect's, with decode_seconds' usual cases inline (two calls less a row, a
        # fifth of a row's cost). Anything else (an out-of-range or non-number value)
        # raises here and is decoded again the general way, which names the problem.
        fts, utc, build = datetime.fromtimestamp, timezone.utc, message_from_row
        try:
            return [build(i, c, u, r, t, fts(ts, utc) if type(ts) is int
                          else fts(round(ts * 1000) / 1000, utc) if type(ts) is float
                          else _not_seconds())
                    for i, c, u, r, t, ts in reversed(rows)]
        except (TypeError, ValueError, OverflowError, OSError):
            return super().messages_from_rows(rows)

    def doctor(self) -> Plan[list[str]]:
        keys = list(EXPECTED_COLUMNS)
        stmts = [Stmt(self.catalog["table_columns"], {"table": self.tables[k]}, "rows")
                 for k in keys]
        stmts.append(Stmt(self.catalog["index_names"], {}, "rows"))
        results = yield Unit("read", tuple(stmts))
        columns = {self.tables[k]: {r[0] for r in rows}
                   for k, rows in zip(keys, results[:-1], strict=True)}
        return sqlite_doctor(self, columns, {r[0] for r in results[-1]})


class SqliteDialect(SqliteFormat):
    dialect = "sqlite"


class SqliteRunner(DbapiRunner):
    """A ``sqlite3`` connection: memstore's own (from a URL) or the caller's. One
    connection is not safe for concurrent use, so calls take turns on a lock and one
    ``Memory`` can be shared by threads."""

    def __init__(self, dialect: SqlDialect, conn: Any, *, owned: bool = False,
                 errors: tuple[type[BaseException], ...] = (sqlite3.Error,),
                 mapper: Callable[[Any], MemstoreError] | None = None) -> None:
        super().__init__(dialect, errors,
                         mapper or (lambda exc: map_error(exc, dialect.dialect)))
        self.conn = conn
        self.owned = owned
        self._lock = threading.RLock()

    @classmethod
    def open(cls, dialect: SqlDialect, path: str, *, synchronous: str = "NORMAL",
             busy_timeout: float = 5.0) -> SqliteRunner:
        """Open a file (or ``:memory:``) with memstore's settings: autocommit mode with
        explicit transactions, WAL, ``synchronous`` as given, and a busy timeout so that
        concurrent writers wait for each other instead of failing."""
        session = sqlfiles.load("sqlite", dialect.tables, file="session")
        conn = None
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            if path != ":memory:":
                conn.execute(session["journal_wal"])
            conn.execute(session[f"synchronous_{synchronous.lower()}"])
        except sqlite3.Error as exc:
            if conn is not None:
                conn.close()  # a failed open leaves no connection behind
            raise open_error(exc, path) from exc
        return cls(dialect, conn, owned=True,
                   mapper=lambda exc: with_path(map_error(exc, dialect.dialect), exc, path))

    @contextmanager
    def connection(self) -> Iterator[Any]:
        with self._lock:
            yield self.conn

    def state(self, conn: Any) -> tuple[bool, bool]:
        # isolation_level None is sqlite3's autocommit mode (memstore's own connection);
        # in its legacy mode the module opens a transaction before DML by itself.
        return conn.in_transaction, conn.isolation_level is None

    def execute(self, unit: Unit) -> list[Any]:
        # The transaction rule (plan.bracket) inlined for a connection with no transaction
        # open and nobody else's transaction rules (sqlite3 in autocommit mode, memstore's
        # own; libsql, see direct): a read, or a single write where the driver
        # commits it by itself, runs on its own; any other write in BEGIN IMMEDIATE ...
        # COMMIT. No context managers or cursor objects of memstore's: on an embedded
        # database the Python around a call is most of its cost. Every other state (the
        # caller's transaction, sqlite3's legacy mode) takes DbapiRunner's general loop.
        conn, run = self.conn, self.run
        with self._lock:
            if unit.kind == "read":  # in any state: a read needs no bracket of its own
                try:
                    return [run(conn, s) for s in unit.stmts]
                except self.errors as exc:
                    # a conflict outside any transaction may run again (plan.run)
                    raise own_transaction(self.map_error(exc),
                                          None if conn.in_transaction else OWN) from exc
            single_commits = self.direct(conn)
            if single_commits is None:
                return super().execute(unit)
            try:
                if unit.kind == "write_one" and single_commits:
                    return [run(conn, s) for s in unit.stmts]
                conn.execute(self.tx["begin"])
                try:
                    results = [run(conn, s) for s in unit.stmts]
                    conn.execute(self.tx["commit"])
                except BaseException:
                    self._undo(conn, conn, OWN, "")
                    raise
                return results
            except self.errors as exc:
                raise own_transaction(self.map_error(exc), OWN) from exc

    def direct(self, conn: Any) -> bool | None:
        """Whether ``execute`` may run a unit directly (None: it may not), and whether a
        single writing statement then commits by itself. sqlite3: in autocommit mode
        (isolation_level None) with no transaction open."""
        if conn.isolation_level is not None or conn.in_transaction:
            return None
        return True

    def run(self, conn: Any, stmt: Stmt) -> Any:
        """One statement on the connection; what it ``want``s (DbapiRunner.statement
        without a cursor of memstore's own: ``Connection.execute`` makes one in C)."""
        return wanted(conn.execute(stmt.sql, stmt.params), stmt.want)

    def close(self) -> None:
        if self.owned:
            with self._lock:
                self.conn.close()


def with_path(err: MemstoreError, exc: BaseException, path: str) -> MemstoreError:
    """A file-level error of memstore's own connection, with the file and what to do
    (SQLite's message names neither)."""
    text = str(exc)
    if isinstance(err, BackendError) and ("readonly" in text or "unable to open" in text):
        return BackendError(f"{text} ({path!r}): this process cannot write the file or its "
                            "folder (WAL mode also writes -wal and -shm files beside it)",
                            dialect=err.dialect)
    return err


def open_error(exc: sqlite3.Error, path: str) -> MemstoreError:
    """The error for a file that cannot be opened, naming it."""
    err = map_error(exc, "sqlite")
    return BackendError(f"{exc} ({path!r}): check that the folder exists and that this "
                        "process may write there", dialect="sqlite") \
        if isinstance(err, BackendError) else err


EXPECTED_COLUMNS = {
    "working_memory": {"id", "scope", "chat_id", "user_id", "content", "updated_at"},
    "messages": {"id", "chat_id", "user_id", "role", "content", "timestamp"},
    "chats": {"chat_id", "user_id", "title", "created_at", "updated_at", "message_count"},
    "status": {"chat_id", "message_id", "status"},  # memstore's own
    # memstore's own, for recall (memstore_search_fts is checked by its triggers' table)
    "search": {"message_id", "chat_id", "user_id", "body"},
    "vectors": {"message_id", "model", "chat_id", "user_id", "dim", "vector"},
}

_CREATE_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+)")


def sqlite_doctor(dialect: SqlDialect, table_columns: dict[str, set[str]],
                  have_indexes: set[str]) -> list[str]:
    """Shared by every driver of SQLite's format: same schema, different driver."""
    problems: list[str] = []
    for key, expected in EXPECTED_COLUMNS.items():
        table = dialect.tables[key]
        have = table_columns[table]
        if not have:
            problems.append(f"table {table} is missing: run `memstore init URL`")
        elif missing := sorted(expected - have):
            problems.append(f"table {table} lacks columns {', '.join(missing)}")
    # Names are case-insensitive in SQLite: the index of a table set named MSGS is the
    # index another process created for msgs (and CREATE INDEX IF NOT EXISTS skips it).
    have_lowered = {name.lower() for name in have_indexes}
    for statement in dialect.schema.values():
        m = _CREATE_INDEX.search(statement)
        if m and m.group(1).lower() not in have_lowered:
            problems.append(f"index {m.group(1)} is missing: run `memstore init URL`")
    return problems

