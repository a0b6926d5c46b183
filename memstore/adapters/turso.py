"""Turso / libSQL: two drivers, the SQLite dialect's SQL (sql/sqlite) and time encoding.

- ``libsql-client`` (URLs ``libsql://``, ``https://``, ``wss://``, ``http://``, ``ws://``,
  ``file:``; or a ``ClientSync``/``Client`` you pass in): a client, not a DB-API
  connection. It has no session transaction a caller could hold open, so there is nothing to
  join: every memstore write is one ``batch``, which the client runs as its own transaction
  (BEGIN ... COMMIT, ROLLBACK on the first failing step) in one round trip. Reads are one
  ``execute`` each.
- ``libsql`` (the DB-API-style driver with embedded replicas; a ``libsql.Connection`` you
  pass in): it behaves like ``sqlite3`` (``in_transaction``, savepoints), so it goes through
  the SQLite adapter and follows the same transaction rule, joining a caller's transaction.

The auth token (``?authToken=`` or ``$TURSO_AUTH_TOKEN``) is handed to the client only; it
is kept out of reprs, and scrubbed from any error message memstore builds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import math
import os
import random
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlsplit

from ..errors import BackendError, MemstoreError, ValidationError
from ..models import NewMessage
from .sqlbase import Cursor, Row, SqlAdapter
from .sqlite import SqliteAdapter, SqliteFormat, map_error

TOKEN_ENV = "TURSO_AUTH_TOKEN"
# How long a call waits for another connection's lock (see _busy_wait), as long as
# SQLite's busy timeout on the connections memstore opens itself.
BUSY_TIMEOUT = 5.0  # seconds
# How long a request to the server may take on a client memstore opened (URL ?timeout=).
# libsql-client itself has none over WebSocket and aiohttp's 300 s over HTTP, so a hung
# server would hold a call that long, or for ever.
REQUEST_TIMEOUT = 30.0  # seconds
T = TypeVar("T")


def from_url(url: str, tables: Mapping[str, str]) -> TursoAdapter:
    """Open a libsql-client on ``url`` and check that it answers (one ``SELECT 1``)."""
    import libsql_client

    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if parts.username or parts.password or parts.fragment:
        raise ValidationError("url", "a libSQL URL has no user, password or #fragment; "
                              "pass the token as ?authToken= or $TURSO_AUTH_TOKEN")
    token, query, timeout = None, [], REQUEST_TIMEOUT
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "authToken":
            token = value or None
        elif key == "tls" and value in ("0", "1"):
            query.append(f"tls={value}")
        elif key == "timeout":
            timeout = _seconds(value)
        else:  # the key only: a value could be a secret in the wrong place
            raise ValidationError("url", f"unknown libSQL URL option {key!r}; "
                                  "use authToken, timeout=SECONDS, or tls=0|1")
    if scheme == "file":
        token = None  # a local file has no auth
    elif token is None:
        token = os.environ.get(TOKEN_ENV) or None
    # Not urlunsplit: it would turn the relative "file:agent.db" into "file:///agent.db".
    where = url.split("?", 1)[0]
    bare = f"{where}?{'&'.join(query)}" if query else where
    errors = _client_errors()
    client = _OnLoop(None, loop=_LoopThread(), timeout=timeout)

    async def create() -> Any:  # on the loop: the client's session belongs to it
        return libsql_client.create_client(bare, auth_token=token)

    try:
        client.client = client.run(create)
    except BaseException as exc:
        client.close()
        if isinstance(exc, libsql_client.LibsqlError) and exc.code.startswith("URL_"):
            raise ValidationError("url", _scrub(exc.explanation, token)) from None
        if isinstance(exc, errors):
            raise _mapped(exc, token) from exc
        raise
    adapter = TursoAdapter(client, tables=tables, owned=True, where=where, secret=token)
    try:
        adapter.fetch("ping", {})
    except BaseException:
        adapter.close()  # no client thread or socket outlives a failed connect
        raise
    return adapter


def from_connection(conn: Any, tables: Mapping[str, str]) -> SqlAdapter:
    """A ``libsql_client.ClientSync`` or ``Client``, or a ``libsql.Connection``; memstore
    never closes it."""
    libsql = sys.modules.get("libsql")
    if libsql is not None and isinstance(conn, libsql.Connection):
        return LibsqlAdapter(conn, tables=tables)
    import libsql_client

    if isinstance(conn, libsql_client.ClientSync):
        return TursoAdapter(conn, tables=tables, owned=False, where="a ClientSync")
    if isinstance(conn, libsql_client.Client):
        return TursoAdapter(_OnLoop(conn), tables=tables, owned=False, where="a Client")
    raise ValidationError("target", "expected a libsql_client ClientSync or Client, or a "
                          f"libsql Connection; got {type(conn).__qualname__}")


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not 0 < seconds < math.inf:
        raise ValidationError("url", f"timeout must be a positive number of seconds; got {value!r}")
    return seconds


def _client_errors() -> tuple[type[Exception], ...]:
    """What libsql-client lets through from its transports, besides its own LibsqlError."""
    import aiohttp
    import libsql_client

    return (libsql_client.LibsqlError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "<auth token>") if secret else text


def _mapped(exc: Exception, secret: str | None, dialect: str = "turso") -> MemstoreError:
    err = map_error(exc, dialect)
    if secret and secret in str(err):
        return BackendError(_scrub(str(err), secret))
    return err


def _busy_wait(call: Callable[[], T]) -> T:
    """``call()``, sent again while it fails with SQLITE_BUSY, for up to BUSY_TIMEOUT.

    sqld and the ``file:`` executor answer SQLITE_BUSY at once, without the busy wait
    SQLite gives memstore's own connections, while another connection writes. A batch
    that failed so ran nothing or ROLLBACK (it is its own transaction), and a read changes
    nothing, so sending it again is safe. The pauses are jittered, so that waiting
    writers do not collide again."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.002
    while True:
        try:
            return call()
        except Exception as exc:
            busy = str(getattr(exc, "code", "")).startswith("SQLITE_BUSY")
            if not busy or time.monotonic() > deadline:
                raise
        time.sleep(random.uniform(0, pause))
        pause = min(pause * 2, 0.1)


def _named(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    # ":name", as written in the SQL; both the file executor and sqld accept the prefix.
    return {f":{k}": v for k, v in params.items()} if params else None


class _LoopThread:
    """An event loop on a thread of memstore's own, for the client it opens from a URL (as
    libsql-client's ClientSync runs one, but memstore's, so each request gets a deadline)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="memstore-libsql-client")
        self._thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class _OnLoop:
    """An async ``libsql_client.Client`` driven from memstore's synchronous API, one call at
    a time: the caller's (on the event loop it was created on), or memstore's own (on a
    ``_LoopThread``, with ``timeout`` seconds for every request).

    A caller's client belongs to its event loop, so its coroutines run there; memstore must
    then be called from another thread (``asyncio.to_thread``), since waiting on the loop
    from the loop's own thread could never finish."""

    def __init__(self, client: Any, *, loop: _LoopThread | None = None,
                 timeout: float | None = None) -> None:
        self.own = loop
        if loop is not None:
            self.loop = loop.loop
        else:
            try:
                self.loop = asyncio.get_running_loop()
            except RuntimeError:
                raise ValidationError(
                    "target", "an async libsql_client.Client must be passed to "
                    "memstore.connect() inside its running event loop; or pass a "
                    "ClientSync") from None
        self.client = client
        self.timeout = timeout
        self._lock = threading.Lock()

    def run(self, make: Callable[[], Any]) -> Any:
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            raise MemstoreError("memstore is synchronous: with an async libsql_client.Client "
                                "call it from another thread, e.g. "
                                "`await asyncio.to_thread(mem.get_messages, chat_id)`")
        if not self.loop.is_running():
            raise MemstoreError("the event loop that owns the libsql_client.Client has stopped")
        with self._lock:
            # The deadline is kept here, not with asyncio.wait_for on the loop: that costs a
            # second task and ~80 us a call.
            future = asyncio.run_coroutine_threadsafe(make(), self.loop)
            try:
                return future.result(self.timeout)
            except concurrent.futures.TimeoutError:
                if future.done():  # finished after all, or the client's own TimeoutError
                    return future.result()
                future.cancel()  # cancels the request on the loop
                raise BackendError(
                    f"no answer from the server within {self.timeout:g} s (URL option "
                    "timeout=); a write may or may not have been applied",
                    dialect="turso") from None

    def execute(self, stmt: Any, args: Any = None) -> Any:
        return self.run(lambda: self.client.execute(stmt, args))

    def batch(self, stmts: list[Any]) -> Any:
        return self.run(lambda: self.client.batch(stmts))

    def close(self) -> None:
        """Close memstore's own client and stop its thread (a caller's is theirs to close)."""
        if self.own is None:
            return
        try:
            if self.client is not None and self.loop.is_running():
                self.run(self.client.close)
        finally:
            self.own.stop()


class _Reader:
    """The part of a DB-API cursor SqlAdapter's reads use, over one ``execute`` result."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.rows: list[Row] = []

    def execute(self, sql: str, params: Any = None) -> _Reader:
        args = _named(params) if isinstance(params, Mapping) else params
        result = _busy_wait(lambda: self.client.execute(sql, args))
        self.rows = [r.astuple() for r in result.rows]
        return self

    def fetchone(self) -> Row | None:
        return self.rows.pop(0) if self.rows else None

    def fetchall(self) -> list[Row]:
        rows, self.rows = self.rows, []
        return rows

    def fetchmany(self, size: int) -> list[Row]:
        rows, self.rows = self.rows[:size], self.rows[size:]
        return rows


class _Batch:
    """A cursor that collects statements; ``writing()`` sends them as one batch."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, dict[str, Any] | None]] = []
        self.results: list[Any] = []  # one libsql_client.ResultSet per statement

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> _Batch:
        self.statements.append((sql, _named(params)))
        return self


class TursoAdapter(SqliteFormat):
    dialect = "turso"
    sql_dialect = "sqlite"

    def __init__(self, client: Any, *, tables: Mapping[str, str], owned: bool, where: str,
                 secret: str | None = None) -> None:
        super().__init__(tables)
        self.client = client  # ClientSync, or _OnLoop around a Client; one call at a time
        self.owned = owned
        self.where = where  # for repr: never the query string, which may hold the token
        self._secret = secret
        self._errors = _client_errors()
        self._closed = False

    def __repr__(self) -> str:
        return f"<TursoAdapter {self.where}>"

    # -- the transaction rule: a read is one execute, a write is one batch -------

    def _check_open(self) -> None:
        if self._closed:
            raise BackendError("this Memory is closed", dialect=self.dialect)

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        self._check_open()
        try:
            yield _Reader(self.client)
        except self._errors as exc:
            raise _mapped(exc, self._secret) from exc

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        self._check_open()
        batch = _Batch()
        yield batch
        try:
            batch.results = _busy_wait(lambda: self.client.batch(batch.statements))
        except self._errors as exc:
            raise _mapped(exc, self._secret) from exc

    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        with self.writing() as batch:
            for m in messages:
                self.run(batch, "insert_message", {
                    "chat_id": chat_id, "user_id": user_id, "role": m.role,
                    "content": m.content, "timestamp": self.encode_time(m.timestamp)})
            self.run(batch, "touch_chat_for_messages",
                     self.touch_params(chat_id, user_id, messages))
        ids = [r.last_insert_rowid for r in batch.results[:len(messages)]]
        if None in ids:
            raise BackendError("the server returned no id for an inserted message",
                               dialect=self.dialect)
        return [int(i) for i in ids]

    def delete_chat(self, chat_id: str) -> bool:
        with self.writing() as batch:
            self.run(batch, "delete_chat_messages", {"chat_id": chat_id})
            self.run(batch, "delete_chat_row", {"chat_id": chat_id})
            self.run(batch, "delete_working_memory", {"id": f"chat:{chat_id}"})
        return any(r.rows_affected for r in batch.results[:2])

    def close(self) -> None:
        self._closed = True
        if self.owned:
            self.client.close()  # stops the client's event-loop thread, closes its sockets


# -- the `libsql` package: a DB-API connection, so the SQLite adapter's machinery ----

# A string, quoted identifier or comment (skipped), or a :name parameter.
_TOKENS = re.compile(r"""'(?:[^']|'')*'|"(?:[^"]|"")*"|--[^\n]*|/\*.*?\*/|:([A-Za-z_]\w*)""",
                     re.DOTALL)


def numbered(sql: str) -> tuple[str, tuple[str, ...]]:
    """``:name`` parameters rewritten as ``?N`` (libsql binds only sequences), and the
    names in N order; a name used twice gets one number."""
    names: list[str] = []

    def number(m: re.Match[str]) -> str:
        name = m.group(1)
        if name is None:
            return m.group(0)
        if name not in names:
            names.append(name)
        return f"?{names.index(name) + 1}"

    return _TOKENS.sub(number, sql), tuple(names)


class LibsqlAdapter(SqliteAdapter):
    """A ``libsql.Connection`` (local file, remote URL or embedded replica) you pass in.
    Transactions, savepoints and the lock are the SQLite adapter's; what differs is how
    parameters are bound, which exceptions the driver raises, and its ``rowcount``."""

    dialect = "libsql"
    sql_dialect = "sqlite"

    def __init__(self, conn: Any, *, tables: Mapping[str, str]) -> None:
        super().__init__(conn, tables=tables, owned=False)
        self._numbered = {name: numbered(sql) for name, sql in self.sql.items()}
        libsql = sys.modules["libsql"]
        # libsql 0.1.11 raises plain ValueError for SQL errors, libsql.Error for others.
        self._errors: tuple[type[Exception], ...] = (libsql.Error, ValueError)

    def run(self, cur: Cursor, name: str, params: Mapping[str, Any] | None = None) -> Cursor:
        sql, names = self._numbered[name]
        cur.execute(sql, tuple((params or {})[n] for n in names))
        return cur

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        try:
            yield
        except MemstoreError:
            raise
        except self._errors as exc:
            raise _mapped(exc, None, self.dialect) from exc

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        with self._driver_errors(), super().reading() as cur:
            yield cur

    @contextmanager
    def writing(self) -> Iterator[Cursor]:
        with self._driver_errors(), super().writing() as cur:
            yield cur

    @contextmanager
    def writing_one(self) -> Iterator[Cursor]:
        with self.writing() as cur:  # the libsql driver's autocommit rules are not sqlite3's
            yield cur

    def fetch(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        return SqlAdapter.fetch(self, name, params)  # through run(), which numbers params

    def _undo(self, cur: Any, joined: bool) -> None:
        with suppress(*self._errors):  # the original error is the one worth reporting
            super()._undo(cur, joined)

    def delete_chat(self, chat_id: str) -> bool:
        # libsql 0.1.11's cursor.rowcount adds up every statement a cursor ran, so each
        # count is taken on a fresh cursor (same connection, same transaction).
        with self.writing() as cur:
            messages = self.run(self.conn.cursor(), "delete_chat_messages",
                                {"chat_id": chat_id}).rowcount
            chats = self.run(self.conn.cursor(), "delete_chat_row", {"chat_id": chat_id}).rowcount
            self.run(cur, "delete_working_memory", {"id": f"chat:{chat_id}"})
        return bool(messages or chats)
