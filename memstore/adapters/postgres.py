"""PostgreSQL through psycopg 3, blocking (``Memory``) and native async (``AsyncMemory``).

Three ways in, one per kind of caller, for each API:

* a URL: memstore opens one autocommit connection (``connect_timeout`` 10 s unless the
  URL or ``$PGCONNECT_TIMEOUT`` says otherwise; a ``psycopg.AsyncConnection`` for
  ``connect_async``) and serialises its calls on it, so one ``Memory`` can be shared by
  threads and one ``AsyncMemory`` by tasks and by threads that each run an event loop. A
  connection that was lost (server restart) is replaced on the next call. For calls that
  run in parallel, pass a pool.
* a ``psycopg.Connection`` / ``psycopg.AsyncConnection``: used as it is and never closed;
  its transaction state decides the transaction rule (``memstore.plan.bracket``).
* a ``psycopg_pool.ConnectionPool`` / ``AsyncConnectionPool``: every unit borrows a
  connection for exactly its own statements and gives it back. An async pool belongs to
  the event loop it was opened on.

Instants are ``TIMESTAMP`` (without time zone) holding UTC wall-clock time, which is what
the TS package writes and reads. They are bound as naive UTC datetimes and read back as
naive values marked UTC, so the session's TimeZone never shifts them.

Every public call is one SQL statement (``save_messages``, ``delete_chat`` and
``delete_user`` are data-modifying CTEs). On an idle autocommit connection that is one
round trip, with the statement as its own transaction; a pool's connection is switched
to autocommit for the call when it is idle (and switched back). An idle connection of
the caller in non-autocommit mode gets its implicit transaction committed after the call,
so even a read leaves no transaction open. Inside the caller's transaction
(``conn.transaction()`` block or an implicitly started one), memstore joins with a
savepoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import select
import threading
import weakref
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timezone
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import Format, TransactionStatus
from psycopg.rows import tuple_row

from .. import validate
from ..errors import (
    BackendError,
    ClosedError,
    ConflictError,
    MemstoreError,
    NodeNotReadyError,
    SchemaError,
    ValidationError,
)
from ..models import NewMessage
from ..plan import NO_BRACKET, Bracket, Kind, Plan, Stmt, Unit, bracket, done
from .dbapi import (
    DbapiRunner,
    close_quietly,
    own_transaction,
    savepoint_name,
    tx_statement,
    wanted,
)
from .sqlbase import Inserts, Row, SqlDialect
from .utc import to_aware, to_naive

CONNECT_TIMEOUT = 10  # seconds; a URL's own connect_timeout wins
DIALECT = "postgres"
UTC = timezone.utc
IDLE = TransactionStatus.IDLE
BINARY = Format.BINARY

Connection = psycopg.Connection[Any]
AsyncConnection = psycopg.AsyncConnection[Any]

log = logging.getLogger("memstore")

_RELATION = re.compile(r'relation "(?:[^"]+\.)?([^".]+)" does not exist')


def map_error(exc: psycopg.Error) -> MemstoreError:
    """The memstore error for a psycopg error (connection failures included)."""
    text = (exc.diag.message_primary if exc.diag else None) or str(exc).split("\n")[0]
    if isinstance(exc, pg_errors.UndefinedTable):
        m = _RELATION.search(text)
        return SchemaError.missing_table(m.group(1) if m else text, DIALECT)
    if isinstance(exc, pg_errors.UndefinedColumn):
        return SchemaError.missing_column(text)
    message = f"{type(exc).__name__}: {str(exc).strip()}"
    if exc.sqlstate in CONFLICTS:
        return ConflictError(message, dialect=DIALECT)
    if exc.sqlstate in NOT_READY:
        return NodeNotReadyError(message, dialect=DIALECT)
    return BackendError(message, dialect=DIALECT)


# A transaction rolled back by a conflict with another: serialization_failure,
# deadlock_detected. A server that cannot take the call: read_only_sql_transaction (a
# standby, default_transaction_read_only), cannot_connect_now (starting, shutting down).
CONFLICTS = frozenset({"40001", "40P01"})
NOT_READY = frozenset({"25006", "57P03"})


# -- the dialect --------------------------------------------------------------------------


def _single_id(results: list[Any]) -> list[int]:
    """The id save_message returned."""
    (row,) = results[0]
    return [int(row[0])]


class PostgresDialect(SqlDialect):
    dialect = DIALECT
    naive_utc_times = True

    def encode_time(self, value: datetime) -> datetime:
        return to_naive(value)

    def decode_time(self, value: Any) -> datetime:
        if not isinstance(value, datetime):
            raise BackendError(f"expected a timestamp in a time column, found "
                               f"{type(value).__name__} {value!r}", dialect=DIALECT)
        # The TIMESTAMP columns give naive UTC; a TIMESTAMPTZ (a table made by hand) an
        # aware value, converted first.
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return to_aware(value)

    # -- operations that are one statement here ------------------------------------------

    def _one_with_rows(self, name: str, params: Mapping[str, Any]) -> Plan[list[Row]]:
        (rows,) = yield Unit("write_one", (Stmt(self.sql[name], params, "rows"),))
        return rows  # type: ignore[no-any-return]

    def insert_stmts(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[Inserts]:
        """The whole batch and its chat row in one statement (save_messages in
        queries.sql): the batch as three arrays, the new ids as its rows; one message
        as a plain row (save_message)."""
        if len(messages) == 1:
            (m,) = messages
            one = {"chat_id": chat_id, "user_id": user_id, "role": m.role,
                   "content": m.content, "timestamp": self.encode_time(m.timestamp)}
            return done(([Stmt(self.sql["save_message"], one, "rows")], _single_id))
        stamps = [self.encode_time(m.timestamp) for m in messages]
        params = self.touch_params(chat_id, user_id, stamps)
        params["roles"] = [m.role for m in messages]
        params["contents"] = [m.content for m in messages]
        params["timestamps"] = stamps

        def ids_of(results: list[Any]) -> list[int]:
            ids = [int(r[0]) for r in results[0]]
            if len(ids) != len(messages):
                raise BackendError(f"inserted {len(ids)} of {len(messages)} messages",
                                   dialect=DIALECT)
            return ids

        return done(([Stmt(self.sql["save_messages"], params, "rows")], ids_of))

    def id_list(self, ids: Sequence[int]) -> Any:
        return list(ids)  # bound as an array (ANY(%(ids)s::bigint[]))

    def delete_chat(self, chat_id: str) -> Plan[bool]:
        rows = yield from self._one_with_rows("delete_chat",
                                              {"chat_id": chat_id, "id": f"chat:{chat_id}"})
        return bool(rows[0][0])

    def clear_messages(self, chat_id: str) -> Plan[int]:
        rows = yield from self._one_with_rows("clear_messages", {"chat_id": chat_id})
        return int(rows[0][0])

    def delete_user(self, user_id: str) -> Plan[None]:
        yield from self.one("delete_user", {"user_id": user_id})

    # -- checks --------------------------------------------------------------------------

    def doctor(self) -> Plan[list[str]]:
        keys = list(EXPECTED_COLUMNS)
        indexes = [m.group(1) for s in self.schema.values() if (m := _CREATE_INDEX.search(s))]
        stmts = [Stmt(self.catalog["server_encoding"], {}, "rows")]
        stmts += [Stmt(self.catalog["table_columns"], {"table": self.tables[k]}, "rows")
                  for k in keys]
        stmts += [Stmt(self.catalog["index_exists"], {"name": i}, "rows") for i in indexes]
        results = yield Unit("read", tuple(stmts))
        problems: list[str] = []
        encoding = results[0][0][0]
        if encoding != "UTF8":
            problems.append(f"the database encoding is {encoding}; memstore needs UTF8 "
                            "to store any Unicode text")
        for key, rows in zip(keys, results[1:1 + len(keys)], strict=True):
            problems += _column_problems(self.tables[key], EXPECTED_COLUMNS[key], rows)
        for index, rows in zip(indexes, results[1 + len(keys):], strict=True):
            if not rows[0][0]:
                problems.append(f"index {index} is missing: run `memstore init URL`")
        return problems


TIME = "timestamp without time zone"
EXPECTED_COLUMNS: dict[str, dict[str, str]] = {
    "working_memory": {"id": "text", "scope": "text", "chat_id": "text", "user_id": "text",
                       "content": "text", "updated_at": TIME},
    "messages": {"id": "bigint", "chat_id": "text", "user_id": "text", "role": "text",
                 "content": "text", "timestamp": TIME},
    "chats": {"chat_id": "text", "user_id": "text", "title": "text", "created_at": TIME,
              "updated_at": TIME, "message_count": "integer"},
    "status": {"chat_id": "text", "message_id": "bigint", "status": "text"},  # memstore's
    # memstore's, for recall
    "search": {"message_id": "bigint", "chat_id": "text", "user_id": "text", "body": "text"},
    "vectors": {"message_id": "bigint", "model": "text", "chat_id": "text", "user_id": "text",
                "dim": "integer", "vector": "bytea"},
}
_CREATE_INDEX = re.compile(r"CREATE INDEX IF NOT EXISTS (\w+)")


def _column_problems(table: str, expected: Mapping[str, str],
                     rows: Sequence[Row]) -> list[str]:
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


# -- what both runners share --------------------------------------------------------------


def _params(stmt: Stmt) -> Mapping[str, Any] | Sequence[Any] | None:
    # psycopg parses % placeholders whenever parameters are given, even an empty mapping:
    # a statement without parameters (the schema's) is sent as it is.
    return stmt.params or None


class _Cursor(psycopg.Cursor[Any]):
    """psycopg's cursor, binary results, tuple rows, and no server-side preparation of a
    statement without parameters: psycopg prepares any query after it has run
    ``prepare_threshold`` times, which for COMMIT or SAVEPOINT is a round trip more and
    saves nothing."""

    def __init__(self, conn: Connection) -> None:
        super().__init__(conn, row_factory=tuple_row)
        self.format = BINARY  # no dependence on the session's DateStyle

    def execute(
        self, query: Any, params: Any = None, *, prepare: bool | None = None,
        binary: bool | None = None,
    ) -> _Cursor:
        if params is None and prepare is None:
            prepare = False
        return super().execute(query, params, prepare=prepare, binary=binary)


def _prepare(stmt: Stmt) -> bool | None:
    return None if stmt.params else False


def _state(conn: Connection | AsyncConnection) -> tuple[bool, bool]:
    return conn.info.transaction_status != IDLE, conn.autocommit


def _lost_while_idle(conn: Connection | AsyncConnection) -> bool:
    """Whether the server closed this idle connection. A server that shuts down, restarts
    or terminates the session sends a FATAL message (see _Fatal) and closes the socket,
    which makes it readable; checking costs a poll, not a round trip."""
    if conn.closed:
        return True
    if conn.info.transaction_status != IDLE:
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


class _Fatal:
    """Notices of one connection memstore opened: libpq hands an error that arrives
    between queries (the server ending the session) to the notice handler."""

    def __init__(self) -> None:
        self.seen = False

    def __call__(self, diag: psycopg.errors.Diagnostic) -> None:
        if diag.severity_nonlocalized == "FATAL":
            self.seen = True


def _log_rollback_failure(exc: BaseException) -> None:
    # The original error is the one the caller gets; this one is for the operator.
    log.warning("memstore: rollback after a failed %s call failed too: %s", DIALECT, exc)


# -- blocking: where connections come from ------------------------------------------------


class _OwnConnection:
    """The connection memstore opened from a URL: autocommit, one call at a time."""

    exclusive = True  # nobody else uses it, so memstore may set autocommit

    def __init__(self, conninfo: str, options: Mapping[str, Any]) -> None:
        self._conninfo = conninfo
        self._options = dict(options)
        self.lock = threading.RLock()
        self._fatal = _Fatal()
        self._closed = False
        self._conn: Connection | None = None
        self._conn = self._connect()

    def _connect(self) -> Connection:
        self._fatal = _Fatal()
        conn = psycopg.connect(self._conninfo, autocommit=True, **self._options)
        conn.add_notice_handler(self._fatal)
        return conn

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        with self.lock:
            yield self.ready()

    def ready(self) -> Connection:
        """The connection, reconnected if the server closed it (hold ``lock``)."""
        if self._closed:
            raise ClosedError("Memory")
        if self._conn is None or _lost_while_idle(self._conn) or self._fatal.seen:
            # A lost connection is replaced, so the same Memory works again after a
            # server restart. (If it is lost during a call, that call fails with
            # BackendError and the next one reconnects.)
            if self._conn is not None:
                log.warning("memstore: the PostgreSQL connection was lost; reconnecting")
                self._conn.close()
            self._conn = None
            self._conn = self._connect()
        return self._conn

    def close(self) -> None:
        with self.lock:
            self._closed = True
            if self._conn is not None:
                self._conn.close()


class _CallerConnection:
    """A connection the caller passed in; memstore never changes its settings."""

    exclusive = False

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        # One unit at a time on it: memstore's savepoint/transaction brackets from two
        # threads must not interleave.
        self._lock = threading.RLock()

    @contextmanager
    def borrow(self) -> Iterator[Connection]:
        with self._lock:
            yield self._conn

    def close(self) -> None:
        pass  # the caller's to close


class _Pool:
    """A psycopg_pool.ConnectionPool: a connection per unit, returned right after."""

    exclusive = True  # borrowed for the unit only, and handed back in the state found

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


@contextmanager
def _autocommit_for_the_call(conn: Connection, exclusive: bool) -> Iterator[None]:
    """An idle connection nobody else uses (memstore's own, a pool's) in autocommit mode
    for the unit, so a single statement is one round trip; then as it was."""
    if not (exclusive and not conn.autocommit and conn.info.transaction_status == IDLE):
        yield
        return
    conn.autocommit = True
    try:
        yield
    finally:
        if not conn.closed:
            if conn.info.transaction_status != IDLE:  # a failed undo left it open
                try:
                    conn.rollback()
                except psycopg.Error as exc:
                    _log_rollback_failure(exc)
            if not conn.closed:
                conn.autocommit = False


class PostgresRunner(DbapiRunner):
    """Runs units on psycopg's blocking connections (see the module docstring)."""

    implicit_begin = True  # psycopg sends BEGIN itself when autocommit is off

    def __init__(self, dialect: SqlDialect, source: _Source) -> None:
        super().__init__(dialect, (psycopg.Error,), map_error)
        self.source = source

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self.source.borrow() as conn, \
                _autocommit_for_the_call(conn, self.source.exclusive):
            yield conn

    def execute(self, unit: Unit) -> list[Any]:
        # memstore's own connection (autocommit, idle between calls) and a read or a
        # single writing statement: the transaction rule gives no bracket (plan.bracket),
        # so the unit runs without the general loop's four context managers, a tenth of a
        # short call on a local server. Everything else takes the general loop.
        source = self.source
        if unit.kind == "write" or type(source) is not _OwnConnection:
            return super().execute(unit)
        with source.lock:
            try:
                conn = source.ready()  # a reconnect's failure is mapped too
                if conn.autocommit and conn.info.transaction_status == IDLE:
                    cur = _Cursor(conn)
                    try:
                        return [self.statement(conn, cur, s) for s in unit.stmts]
                    finally:
                        close_quietly(cur)
            except psycopg.Error as exc:
                raise own_transaction(map_error(exc), NO_BRACKET) from exc
            return super().execute(unit)

    def state(self, conn: Connection) -> tuple[bool, bool]:
        return _state(conn)

    def cursor(self, conn: Connection) -> Any:
        # tuples whatever row factory the caller's connection has
        return _Cursor(conn)

    def statement(self, conn: Any, cur: Any, stmt: Stmt) -> Any:
        if stmt.want == "lastrowid":
            raise BackendError("PostgreSQL has no last row id; use RETURNING",
                               dialect=DIALECT)
        cur.execute(stmt.sql, _params(stmt))
        return wanted(cur, stmt.want)

    def still_open(self, conn: Connection) -> bool:
        return not conn.closed

    def close(self) -> None:
        self.source.close()


# -- async: one connection, many tasks and event loops ------------------------------------


class _Turns:
    """One holder at a time, across tasks, threads and event loops, without blocking a
    loop. Tasks of one loop queue on an ``asyncio.Lock`` of that loop (fair, no polling);
    the one at the head takes the process-wide ``threading.Lock``, polling with a short
    backoff only while a task of another loop holds it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._guard = threading.Lock()
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] \
            = weakref.WeakKeyDictionary()
        self._strong: dict[asyncio.AbstractEventLoop, asyncio.Lock] = {}  # no weakref

    def _queue(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            try:
                queue = self._queues.get(loop)
            except TypeError:
                queue = self._strong.get(loop)
            if queue is None:
                queue = asyncio.Lock()
                try:
                    self._queues[loop] = queue
                except TypeError:  # a loop class without weak references
                    self._strong[loop] = queue
            return queue

    async def acquire(self) -> asyncio.Lock:
        """Wait for the turn; hand what it returns to ``release``."""
        queue = self._queue()
        await queue.acquire()
        try:
            delay = 0.0002
            while not self._lock.acquire(blocking=False):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.01)
        except BaseException:
            queue.release()
            raise
        return queue

    def release(self, queue: asyncio.Lock) -> None:
        self._lock.release()
        queue.release()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        queue = await self.acquire()
        try:
            yield
        finally:
            self.release(queue)


class _AsyncOwnConnection:
    """The ``AsyncConnection`` memstore opened from a URL: autocommit, one unit at a time,
    from any task, thread or event loop (psycopg's async connection waits on whichever
    loop runs it, provided it is not used concurrently)."""

    exclusive = True

    def __init__(self, conninfo: str, options: Mapping[str, Any]) -> None:
        self._conninfo = conninfo
        self._options = dict(options)
        self.turns = _Turns()
        self._fatal = _Fatal()
        self._closed = False
        self._conn: AsyncConnection | None = None

    @classmethod
    async def open(cls, conninfo: str, options: Mapping[str, Any]) -> _AsyncOwnConnection:
        source = cls(conninfo, options)
        source._conn = await source._connect()
        return source

    async def _connect(self) -> AsyncConnection:
        self._fatal = _Fatal()
        conn = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True,
                                                     **self._options)
        conn.add_notice_handler(self._fatal)
        return conn

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[AsyncConnection]:
        async with self.turns.hold():
            yield await self.ready()

    async def ready(self) -> AsyncConnection:
        """The connection, reconnected if the server closed it (hold a turn)."""
        if self._closed:
            raise ClosedError("AsyncMemory")
        if self._conn is None or _lost_while_idle(self._conn) or self._fatal.seen:
            # Replaced, as the blocking side does (see _OwnConnection.ready).
            if self._conn is not None:
                log.warning("memstore: the PostgreSQL connection was lost; reconnecting")
                await self._conn.close()
            self._conn = None
            self._conn = await self._connect()
        return self._conn

    async def aclose(self) -> None:
        async with self.turns.hold():
            self._closed = True
            if self._conn is not None:
                await self._conn.close()


class _AsyncCallerConnection:
    """An ``AsyncConnection`` the caller passed in: never closed, settings untouched; one
    unit at a time, so memstore's brackets from two tasks never interleave."""

    exclusive = False

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn
        self._turns = _Turns()

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[AsyncConnection]:
        async with self._turns.hold():
            yield self._conn

    async def aclose(self) -> None:
        pass  # the caller's to close


class _AsyncPool:
    """A ``psycopg_pool.AsyncConnectionPool``: a connection per unit, so units of many
    tasks run in parallel. The pool's workers and waiting queue belong to the event loop
    it was opened on: a call from another loop is refused with a clear error."""

    exclusive = True

    def __init__(self, pool: Any) -> None:
        self._pool = pool
        self._first_loop: asyncio.AbstractEventLoop | None = None

    def _check_loop(self) -> None:
        loop = asyncio.get_running_loop()
        runner = getattr(self._pool, "_sched_runner", None)  # the pool's scheduler task
        owner = runner.get_loop() if isinstance(runner, asyncio.Task) else self._first_loop
        if owner is None:
            self._first_loop = owner = loop
        if owner is not loop:
            raise MemstoreError(
                "this AsyncMemory's psycopg_pool.AsyncConnectionPool is bound to the event "
                "loop it was opened on, and this call runs on another one; open a pool (and "
                "an AsyncMemory on it) per event loop, or connect_async() from a URL, whose "
                "connection works from any loop")

    @asynccontextmanager
    async def borrow(self) -> AsyncIterator[AsyncConnection]:
        self._check_loop()
        # Lost connections after a server restart: as the blocking _Pool.borrow does.
        for _ in range(self._pool.max_size):
            async with self._pool.connection() as conn:
                if not _lost_while_idle(conn):
                    yield conn
                    return
                await conn.close()
        async with self._pool.connection() as conn:
            yield conn

    async def aclose(self) -> None:
        pass  # the caller's to close


_AsyncSource = _AsyncOwnConnection | _AsyncCallerConnection | _AsyncPool


@asynccontextmanager
async def _async_autocommit_for_the_call(conn: AsyncConnection,
                                         exclusive: bool) -> AsyncIterator[None]:
    """As _autocommit_for_the_call, with awaits."""
    if not (exclusive and not conn.autocommit and conn.info.transaction_status == IDLE):
        yield
        return
    await conn.set_autocommit(True)
    try:
        yield
    finally:
        if not conn.closed:
            if conn.info.transaction_status != IDLE:
                try:
                    await conn.rollback()
                except psycopg.Error as exc:
                    _log_rollback_failure(exc)
            if not conn.closed:
                await conn.set_autocommit(False)


class AsyncPostgresRunner:
    """Runs units on psycopg's ``AsyncConnection``: DbapiRunner.transaction/execute with
    ``await`` (the same ``bracket()`` rule, the same tx.sql statements)."""

    implicit_begin = True
    # A task cancelled mid-unit: psycopg cancels the statement in the server and waits
    # for that (AsyncConnection.wait), then transaction() rolls memstore's own transaction
    # back, or the single statement was atomic anyway; the outcome is settled before
    # CancelledError leaves, so plan.arun needs no shield task (two loop iterations less).
    settles_cancelled_units = True

    def __init__(self, dialect: SqlDialect, source: _AsyncSource) -> None:
        self.dialect = dialect
        self.tx = dialect.tx
        self.sql, self.tables = dialect.sql, dialect.tables  # for tools and tests
        self.source = source

    async def execute(self, unit: Unit) -> list[Any]:
        # As the blocking runner's execute: a read or a single write on memstore's own
        # connection runs without the general loop's async context managers (each costs
        # more than a plain await). A cancellation is settled as in the general loop:
        # psycopg cancels the statement and waits, and such a unit has no bracket to undo.
        source = self.source
        if unit.kind != "write" and type(source) is _AsyncOwnConnection:
            turns = source.turns
            queue = await turns.acquire()
            try:
                conn = await source.ready()  # a reconnect's failure is mapped too
                if conn.autocommit and conn.info.transaction_status == IDLE:
                    cur = conn.cursor(binary=True, row_factory=tuple_row)
                    try:
                        return [await self.statement(cur, s) for s in unit.stmts]
                    finally:
                        with contextlib.suppress(Exception):  # a cursor of a lost connection
                            await cur.close()
            except psycopg.Error as exc:
                raise own_transaction(map_error(exc), NO_BRACKET) from exc
            finally:
                turns.release(queue)
        async with self.transaction(unit.kind) as (_, cur):
            return [await self.statement(cur, s) for s in unit.stmts]

    async def statement(self, cur: Any, stmt: Stmt) -> Any:
        await cur.execute(stmt.sql, _params(stmt), prepare=_prepare(stmt))
        want = stmt.want
        if want == "rows":
            return await cur.fetchall()
        if want == "rowcount":
            return cur.rowcount
        if want == "lastrowid":
            raise BackendError("PostgreSQL has no last row id; use RETURNING",
                               dialect=DIALECT)
        return None

    @asynccontextmanager
    async def transaction(self, kind: Kind) -> AsyncIterator[tuple[AsyncConnection, Any]]:
        """A connection and cursor inside the bracket the transaction rule gives ``kind``;
        driver errors become memstore errors."""
        shape: Bracket | None = None
        try:
            async with self.source.borrow() as conn, \
                    _async_autocommit_for_the_call(conn, self.source.exclusive):
                in_transaction, autocommit = _state(conn)
                shape = bracket(kind, in_transaction=in_transaction, autocommit=autocommit,
                                implicit_begin=self.implicit_begin)
                name = savepoint_name() if shape.savepoint else ""
                cur = conn.cursor(binary=True, row_factory=tuple_row)
                opened = False
                try:
                    if shape.open:
                        await cur.execute(tx_statement(self.tx, shape.open, name),
                                          prepare=False)
                    opened = True
                    yield conn, cur
                    if shape.close:
                        await cur.execute(tx_statement(self.tx, shape.close, name),
                                          prepare=False)
                except BaseException:
                    if opened:
                        await self._undo(conn, cur, shape, name)
                    raise
                finally:
                    with contextlib.suppress(Exception):  # a cursor of a lost connection
                        await cur.close()
        except psycopg.Error as exc:
            raise own_transaction(map_error(exc), shape) from exc

    def reading(self) -> Any:
        """``async with runner.reading() as (conn, cur)``: for tools and tests."""
        return self.transaction("read")

    async def _undo(self, conn: AsyncConnection, cur: Any, shape: Bracket, name: str) -> None:
        if not shape.undo or conn.closed:
            return
        try:
            for step in shape.undo:
                await cur.execute(tx_statement(self.tx, step, name), prepare=False)
        except Exception as exc:
            _log_rollback_failure(exc)

    async def aclose(self) -> None:
        await self.source.aclose()


# -- entry points (memstore.connect, memstore.connect_async) ------------------------------


def _connect_options(url: str) -> dict[str, Any]:
    validate.url_parts(url, "PostgreSQL", hosts=True)
    try:
        params = conninfo_to_dict(url)
    except psycopg.Error as exc:  # libpq quotes the part it could not parse: redacted
        raise ValidationError("url", "not a valid PostgreSQL URL: "
                              + validate.redact(str(exc).strip(), url)) from None
    # Shown in pg_stat_activity unless the URL sets application_name.
    options: dict[str, Any] = {"fallback_application_name": "memstore"}
    if "connect_timeout" not in params and "PGCONNECT_TIMEOUT" not in os.environ:
        options["connect_timeout"] = CONNECT_TIMEOUT
    return options


def from_url(url: str, tables: Mapping[str, str]) -> tuple[PostgresDialect, PostgresRunner]:
    options = _connect_options(url)
    dialect = PostgresDialect(tables)
    try:
        source = _OwnConnection(url, options)
    except psycopg.Error as exc:
        raise map_error(exc) from exc
    return dialect, PostgresRunner(dialect, source)


async def async_from_url(
    url: str, tables: Mapping[str, str]
) -> tuple[PostgresDialect, AsyncPostgresRunner]:
    options = _connect_options(url)
    dialect = PostgresDialect(tables)
    try:
        source = await _AsyncOwnConnection.open(url, options)
    except psycopg.Error as exc:
        raise map_error(exc) from exc
    return dialect, AsyncPostgresRunner(dialect, source)


def _pool_classes() -> tuple[type[Any], type[Any]] | None:
    try:
        import psycopg_pool
    except ImportError:  # no pool package: no pool object either
        return None
    return psycopg_pool.ConnectionPool, psycopg_pool.AsyncConnectionPool


def _kind(conn: Any) -> str:
    """"sync", "async", or "" for an object that is neither a connection nor a pool."""
    if isinstance(conn, psycopg.Connection):
        return "sync"
    if isinstance(conn, psycopg.AsyncConnection):
        return "async"
    pools = _pool_classes()
    if pools is not None:
        if isinstance(conn, pools[0]):
            return "sync"
        if isinstance(conn, pools[1]):
            return "async"
    return ""


def _type_name(conn: Any) -> str:
    return f"{type(conn).__module__}.{type(conn).__qualname__}"


def from_connection(conn: Any,
                    tables: Mapping[str, str]) -> tuple[PostgresDialect, PostgresRunner]:
    kind = _kind(conn)
    if kind == "async":
        raise ValidationError(
            "target", f"{_type_name(conn)} is asyncio's: open it with "
            "`await memstore.connect_async(...)`; memstore.connect() takes a "
            "psycopg.Connection or psycopg_pool.ConnectionPool")
    if kind != "sync":
        raise ValidationError(
            "target", f"expected a psycopg.Connection or psycopg_pool.ConnectionPool; got "
            f"{_type_name(conn)}")
    dialect = PostgresDialect(tables)
    source: _Source = (_CallerConnection(conn) if isinstance(conn, psycopg.Connection)
                       else _Pool(conn))
    return dialect, PostgresRunner(dialect, source)


async def async_from_connection(
    conn: Any, tables: Mapping[str, str]
) -> tuple[PostgresDialect, AsyncPostgresRunner]:
    kind = _kind(conn)
    if kind == "sync":
        raise ValidationError(
            "target", f"{_type_name(conn)} is blocking: use it with memstore.connect(), or "
            "pass a psycopg.AsyncConnection or psycopg_pool.AsyncConnectionPool to "
            "memstore.connect_async()")
    if kind != "async":
        raise ValidationError(
            "target", f"expected a psycopg.AsyncConnection or "
            f"psycopg_pool.AsyncConnectionPool; got {_type_name(conn)}")
    dialect = PostgresDialect(tables)
    source: _AsyncSource = (_AsyncCallerConnection(conn)
                            if isinstance(conn, psycopg.AsyncConnection) else _AsyncPool(conn))
    return dialect, AsyncPostgresRunner(dialect, source)
