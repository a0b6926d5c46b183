"""PostgreSQL through psycopg 3.

Three ways in, one per kind of caller:

* a URL: memstore opens one autocommit connection (``connect_timeout`` 10 s unless the
  URL or ``$PGCONNECT_TIMEOUT`` says otherwise) and serialises its calls on it with a
  lock, so one ``Memory`` can be shared by threads. A connection that was lost (server
  restart) is replaced on the next call. For calls that run in parallel, pass a pool.
* a ``psycopg.Connection``: used as it is and never closed; its transaction state
  decides the transaction rule (below).
* a ``psycopg_pool.ConnectionPool``: every call borrows a connection for exactly its own
  statement and gives it back.

Instants are ``TIMESTAMP`` (without time zone) holding UTC wall-clock time, which is what
the TS package writes and reads. They are bound as naive UTC datetimes and read back as
naive values marked UTC, so the session's TimeZone never shifts them.

Every public call is one SQL statement. On an idle autocommit connection that is one
round trip, with the statement as its own transaction; a pool's connection is switched
to autocommit for the call when it is idle (and switched back). An idle connection of
the caller in non-autocommit mode gets BEGIN ... COMMIT around the call, so even a read
leaves no transaction open. Inside the caller's transaction (``conn.transaction()``
block or an implicitly started one), memstore joins with a savepoint.
"""

from __future__ import annotations

import os
import re
import select
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus
from psycopg.rows import tuple_row

from ..errors import BackendError, MemstoreError, SchemaError, ValidationError
from ..models import NewMessage
from .sqlbase import Cursor, Row, SqlAdapter

CONNECT_TIMEOUT = 10  # seconds; a URL's own connect_timeout wins
DIALECT = "postgres"
UTC = timezone.utc

Connection = psycopg.Connection[Any]

_RELATION = re.compile(r'relation "(?:[^"]+\.)?([^".]+)" does not exist')


def map_error(exc: psycopg.Error) -> MemstoreError:
    """The memstore error for a psycopg error (connection failures included)."""
    text = (exc.diag.message_primary if exc.diag else None) or str(exc).split("\n")[0]
    if isinstance(exc, pg_errors.UndefinedTable):
        m = _RELATION.search(text)
        return SchemaError.missing_table(m.group(1) if m else text, DIALECT)
    if isinstance(exc, pg_errors.UndefinedColumn):
        return SchemaError.missing_column(text)
    return BackendError(f"{type(exc).__name__}: {str(exc).strip()}", dialect=DIALECT)


# -- where connections come from ----------------------------------------------------


class _OwnConnection:
    """The connection memstore opened from a URL: autocommit, one call at a time."""

    exclusive = True  # nobody else uses it, so memstore may set autocommit

    def __init__(self, conninfo: str, options: Mapping[str, Any]) -> None:
        self._conninfo = conninfo
        self._options = dict(options)
        self._lock = threading.RLock()
        self._fatal = False
        self._closed = False
        self._conn: Connection | None = None
        self._conn = self._connect()

    def _connect(self) -> Connection:
        self._fatal = False
        conn = psycopg.connect(self._conninfo, autocommit=True, **self._options)
        conn.add_notice_handler(self._on_notice)
        return conn

    def _on_notice(self, diag: psycopg.errors.Diagnostic) -> None:
        # libpq hands an error that arrives between queries (the server ending the
        # session) to the notice handler.
        if diag.severity_nonlocalized == "FATAL":
            self._fatal = True

    def _lost(self, conn: Connection) -> bool:
        return _lost_while_idle(conn) or self._fatal

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        with self._lock:
            if self._closed:
                raise BackendError("this Memory was closed", dialect=DIALECT)
            if self._conn is None or self._conn.closed or self._lost(self._conn):
                # A lost connection is replaced, so the same Memory works again after a
                # server restart. (If it is lost during a call, that call fails with
                # BackendError and the next one reconnects.)
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                self._conn = self._connect()
            yield self._conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()


def _lost_while_idle(conn: Connection) -> bool:
    """Whether the server closed this idle connection. A server that shuts down, restarts
    or terminates the session sends a FATAL message (see _OwnConnection._on_notice) and
    closes the socket, which makes it readable; checking costs a poll, not a round trip."""
    if conn.info.transaction_status != TransactionStatus.IDLE:
        return False
    try:
        for _ in range(8):  # the message, then the end of the stream; bounded
            if not _readable(conn.fileno()):
                break
            conn.pgconn.consume_input()  # raises once it reads the end of the stream
            conn.pgconn.is_busy()  # parses what came: a notice or parameter change is fine
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(conn.closed)


def _readable(fd: int) -> bool:
    if hasattr(select, "poll"):  # no FD_SETSIZE limit, unlike select()
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


class _CallerConnection:
    """A connection the caller passed in; memstore never changes its settings."""

    exclusive = False

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # One transaction at a time on it: memstore's savepoint/transaction blocks from
        # two threads must not interleave.
        self._lock = threading.RLock()

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        pass  # the caller's to close


class _Pool:
    """A psycopg_pool.ConnectionPool: a connection per call, returned right after."""

    exclusive = True  # borrowed for the call only, and handed back in the state found

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        # After a server restart every idle connection in the pool is dead, and the pool
        # learns it only when a call fails on one: each would fail a call in turn. The
        # poll memstore uses for its own connection (no round trip) finds them first; a
        # lost one is closed, so the pool discards and replaces it, and another is taken.
        for _ in range(self._pool.max_size):
            with self._pool.connection() as conn:
                if not _lost_while_idle(conn):
                    yield conn
                    return
                conn.close()
        with self._pool.connection() as conn:
            yield conn

    def close(self) -> None:
        pass  # the caller's to close


_Source = _OwnConnection | _CallerConnection | _Pool


# -- the adapter --------------------------------------------------------------------


class PostgresAdapter(SqlAdapter):
    dialect = DIALECT

    def __init__(self, source: _Source, *, tables: Mapping[str, str]) -> None:
        super().__init__(tables)
        self.source = source

    # -- the transaction rule -----------------------------------------------------

    @contextmanager
    def _unit(self, *, atomic: bool) -> Iterator[Cursor]:
        """A cursor for one call. ``atomic``: the call runs several statements that must
        apply together; a single statement is atomic by itself in autocommit mode."""
        try:
            with self.source.borrow() as conn:
                idle = conn.info.transaction_status == TransactionStatus.IDLE
                switch = self.source.exclusive and idle and not conn.autocommit
                if switch:
                    conn.autocommit = True
                try:
                    # binary results: no dependence on the session's DateStyle
                    if idle and conn.autocommit and not atomic:
                        with conn.cursor(binary=True, row_factory=tuple_row) as cur:
                            yield cur
                    else:
                        # BEGIN/COMMIT when idle, else a savepoint in the caller's
                        # transaction (rolled back to on error, the caller's work kept)
                        with conn.transaction(), conn.cursor(
                                binary=True, row_factory=tuple_row) as cur:
                            yield cur
                finally:
                    if switch and not conn.closed:
                        conn.autocommit = False
        except psycopg.Error as exc:
            raise map_error(exc) from exc

    def reading(self) -> AbstractContextManager[Cursor]:
        return self._unit(atomic=False)

    def writing(self) -> AbstractContextManager[Cursor]:
        return self._unit(atomic=True)

    def _one(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        """Run one statement as a whole call; its rows, if it returns any."""
        with self._unit(atomic=False) as cur:
            self.run(cur, name, params)
            return list(cur.fetchall()) if cur.description else []

    # -- encoding -----------------------------------------------------------------

    def encode_time(self, value: datetime) -> datetime:
        # memstore hands adapters UTC already (validate.instant); converting costs per row
        return (value if value.tzinfo is UTC else value.astimezone(UTC)).replace(tzinfo=None)

    def decode_time(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise BackendError(f"expected a timestamp in a time column, found "
                               f"{type(value).__name__} {value!r}", dialect=DIALECT)
        # memstore's instants are milliseconds; a row written with microseconds (by hand,
        # or by now()) is read as the TS package reads it: truncated. One replace() for
        # the usual naive value (the TIMESTAMP columns): this runs once per row read.
        if value.tzinfo is None:
            return value.replace(microsecond=value.microsecond // 1000 * 1000, tzinfo=UTC)
        utc = value.astimezone(UTC)
        return utc.replace(microsecond=utc.microsecond // 1000 * 1000)

    # -- operations, one statement each -------------------------------------------

    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> None:
        self._one("upsert_working_memory", {
            "id": wm_id, "scope": scope, "chat_id": chat_id, "user_id": user_id,
            "content": content, "updated_at": self.encode_time(updated_at)})

    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        params = self.touch_params(chat_id, user_id, messages)
        params["roles"] = [m.role for m in messages]
        params["contents"] = [m.content for m in messages]
        params["timestamps"] = [self.encode_time(m.timestamp) for m in messages]
        ids = [int(r[0]) for r in self._one("save_messages", params)]
        if len(ids) != len(messages):
            raise BackendError(f"inserted {len(ids)} of {len(messages)} messages",
                               dialect=DIALECT)
        return ids

    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> None:
        self._one("upsert_chat", {
            "chat_id": chat_id, "user_id": user_id, "title": title,
            "created_at": self.encode_time(created_at),
            "updated_at": self.encode_time(updated_at), "message_count": message_count})

    def rename_chat(self, chat_id: str, title: str, now: datetime) -> None:
        self._one("rename_chat",
                  {"chat_id": chat_id, "title": title, "now": self.encode_time(now)})

    def delete_chat(self, chat_id: str) -> bool:
        rows = self._one("delete_chat", {"chat_id": chat_id, "id": f"chat:{chat_id}"})
        return bool(rows[0][0])

    def delete_user(self, user_id: str) -> None:
        self._one("delete_user", {"user_id": user_id})

    # -- checks -------------------------------------------------------------------

    def doctor(self) -> list[str]:
        problems: list[str] = []
        with self.reading() as cur:
            cur.execute("SELECT current_setting('server_encoding')")
            encoding = cur.fetchone()[0]
            if encoding != "UTF8":
                problems.append(f"the database encoding is {encoding}; memstore needs UTF8 "
                                "to store any Unicode text")
            for key, expected in EXPECTED_COLUMNS.items():
                table = self.tables[key]
                cur.execute(_COLUMNS, (table,))
                problems += _column_problems(table, expected, cur.fetchall())
            for statement in self.schema.values():
                m = _CREATE_INDEX.search(statement)
                if m:
                    cur.execute("SELECT to_regclass(%s) IS NOT NULL", (m.group(1),))
                    if not cur.fetchone()[0]:
                        problems.append(
                            f"index {m.group(1)} is missing: run `memstore init URL`")
        return problems

    def close(self) -> None:
        self.source.close()


TIME = "timestamp without time zone"
EXPECTED_COLUMNS: dict[str, dict[str, str]] = {
    "working_memory": {"id": "text", "scope": "text", "chat_id": "text", "user_id": "text",
                       "content": "text", "updated_at": TIME},
    "messages": {"id": "integer", "chat_id": "text", "user_id": "text", "role": "text",
                 "content": "text", "timestamp": TIME},
    "chats": {"chat_id": "text", "user_id": "text", "title": "text", "created_at": TIME,
              "updated_at": TIME, "message_count": "integer"},
}
# Name, type and whether its collation compares exactly (a nondeterministic one would
# merge ids that differ in case or accents).
_COLUMNS = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), COALESCE(c.collisdeterministic, true)
FROM pg_attribute a LEFT JOIN pg_collation c ON c.oid = a.attcollation
WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
"""
_CREATE_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+)")


def _column_problems(table: str, expected: Mapping[str, str], rows: list[Row]) -> list[str]:
    if not rows:
        return [f"table {table} is missing: run `memstore init URL`"]
    have = {name: (kind, exact) for name, kind, exact in rows}
    problems = []
    if missing := sorted(set(expected) - set(have)):
        problems.append(f"table {table} lacks columns {', '.join(missing)}")
    for name, kind in expected.items():
        if name not in have:
            continue
        got, exact = have[name]
        # bigint/varchar ids or a SERIAL that became bigint still work; time columns must
        # hold UTC wall-clock time with at least millisecond precision.
        if kind == TIME and got != TIME:
            problems.append(f"column {table}.{name} is {got}; memstore and the TS package "
                            f"store UTC wall-clock time in {TIME}")
        if not exact:
            problems.append(f"column {table}.{name} has a nondeterministic collation; ids "
                            "differing only in case or accents would be treated as equal")
    return problems


# -- entry points (memstore.connect) --------------------------------------------------


def from_url(url: str, tables: Mapping[str, str]) -> PostgresAdapter:
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:
        raise ValidationError("url", f"not a valid PostgreSQL URL: {exc}") from None
    # Shown in pg_stat_activity unless the URL sets application_name.
    options: dict[str, Any] = {"fallback_application_name": "memstore"}
    if "connect_timeout" not in params and "PGCONNECT_TIMEOUT" not in os.environ:
        options["connect_timeout"] = CONNECT_TIMEOUT
    try:
        source = _OwnConnection(url, options)
    except psycopg.Error as exc:
        raise map_error(exc) from exc
    return PostgresAdapter(source, tables=tables)


def from_connection(conn: Any, tables: Mapping[str, str]) -> PostgresAdapter:
    if isinstance(conn, psycopg.Connection):
        return PostgresAdapter(_CallerConnection(conn), tables=tables)
    import psycopg_pool  # only here: a pool object means the package is installed

    if isinstance(conn, psycopg_pool.ConnectionPool):
        return PostgresAdapter(_Pool(conn), tables=tables)
    raise ValidationError(
        "target", f"expected a psycopg.Connection or psycopg_pool.ConnectionPool; got "
        f"{type(conn).__module__}.{type(conn).__qualname__} (memstore's API is synchronous, "
        "so async connections and pools are not accepted)")
