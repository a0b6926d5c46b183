"""Turso / libSQL through ``libsql-client``, with the SQLite dialect's SQL (sql/sqlite) and
time encoding. (The ``libsql`` DB-API driver is in memstore/adapters/libsql.py;
``from_connection`` here hands its connections over.)

URLs ``libsql://``, ``https://``, ``wss://``, ``http://``, ``ws://``, ``file:``; or a
``ClientSync``/``Client`` you pass in. It is a client, not a DB-API connection: it has no
session transaction a caller could hold open, so there is nothing to join, and a unit maps
to the client directly: a read of one statement is one ``execute``, any other unit one
``batch``, which the client runs as its own transaction (BEGIN ... COMMIT, ROLLBACK on
the first failing step) in one round trip.

- ``Memory``: memstore's own client (from a URL) is an async ``Client`` on an event loop
  of memstore's own thread, so every request gets a deadline (URL ``?timeout=``); a
  caller's ``ClientSync`` is called directly, a caller's ``Client`` on its own loop.
- ``AsyncMemory``: the async ``Client`` awaited directly on the caller's loop, no thread.

The auth token (``?authToken=`` or ``$TURSO_AUTH_TOKEN``) is handed to the client only; it
is kept out of reprs, and scrubbed from any error message memstore builds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import random
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl

from .. import validate
from ..errors import BackendError, MemstoreError, ValidationError
from ..plan import Stmt, Unit
from . import libsql as libsql_driver
from .libsql import LibsqlDialect, LibsqlRunner, numbered
from .sqlbase import SqlDialect
from .sqlite import SqliteFormat, map_error
from .threaded import ThreadedRunner

__all__ = ["AsyncClientRunner", "ClientRunner", "LibsqlDialect", "LibsqlRunner",
           "TursoDialect", "async_from_connection", "async_from_url", "from_connection",
           "from_url", "numbered"]

log = logging.getLogger("memstore")

TOKEN_ENV = "TURSO_AUTH_TOKEN"
# How long a call waits for another connection's lock (see _busy_wait), as long as
# SQLite's busy timeout on the connections memstore opens itself.
BUSY_TIMEOUT = 5.0  # seconds
# How long a request to the server may take on a client memstore opened (URL ?timeout=).
# libsql-client itself has none over WebSocket and aiohttp's 300 s over HTTP, so a hung
# server would hold a call that long, or for ever.
REQUEST_TIMEOUT = 30.0  # seconds
T = TypeVar("T")


# The largest content memstore sends to sqld. sqld builds SQLite with a 5,000,000-byte
# SQLITE_MAX_LENGTH: a larger value is "string or blob too big" (ARGS_INVALID) and so is a
# row whose record gets that large (SQLITE_TOOBIG), measured on sqld 0.24.32; 10,000 bytes
# are left for the row's other columns (ids of up to 255 characters). connect() caps
# max_content_bytes to it for a libSQL server (not for a local file:).
SQLD_MAX_VALUE_BYTES = 4_990_000


class TursoDialect(SqliteFormat):
    dialect = "turso"
    # The largest content the server takes, when lower than memstore's limit (connect).
    max_value_bytes: int | None = None


# -- the module contract (memstore/connect.py) ---------------------------------------------


def from_url(url: str, tables: Mapping[str, str]) -> tuple[TursoDialect, ClientRunner]:
    """Open a libsql-client on ``url``, on an event loop of memstore's own thread, and
    check that it answers (one ``SELECT 1``)."""
    import libsql_client

    target = _Target.parse(url)
    dialect = TursoDialect(tables)
    if target.scheme != "file":
        dialect.max_value_bytes = SQLD_MAX_VALUE_BYTES
    client = _OnLoop(None, loop=_LoopThread(), timeout=target.timeout)

    async def create() -> Any:  # on the loop: the client's session belongs to it
        return libsql_client.create_client(target.bare, auth_token=target.token)

    try:
        client.client = client.run(create)
    except BaseException as exc:
        client.close()
        err, cause = _open_error(exc, target.token)
        if err is exc:
            raise
        raise err from cause
    runner = ClientRunner(dialect, client, where=target.where, secret=target.token,
                          owned=True)
    try:
        runner.execute(_ping(dialect))
    except BackendError as exc:
        runner.close()  # no client thread or socket outlives a failed connect
        raise _connect_error(exc) from exc.__cause__
    except BaseException:
        runner.close()
        raise
    return dialect, runner


def from_connection(conn: Any, tables: Mapping[str, str]) -> tuple[SqlDialect, Any]:
    """A ``libsql_client.ClientSync`` or ``Client``, or a ``libsql.Connection``; memstore
    never closes it."""
    libsql = sys.modules.get("libsql")
    if libsql is not None and isinstance(conn, libsql.Connection):
        return libsql_driver.from_connection(conn, tables)
    import libsql_client

    dialect = TursoDialect(tables)
    if isinstance(conn, libsql_client.ClientSync):
        return dialect, ClientRunner(dialect, conn, where="a ClientSync")
    if isinstance(conn, libsql_client.Client):
        return dialect, ClientRunner(dialect, _OnLoop(conn), where="a Client")
    raise ValidationError("target", "expected a libsql_client ClientSync or Client, or a "
                          f"libsql Connection; got {type(conn).__qualname__}")


async def async_from_url(url: str,
                         tables: Mapping[str, str]) -> tuple[TursoDialect, AsyncClientRunner]:
    """Open an async libsql-client on ``url`` on the running event loop (its aiohttp
    session belongs to that loop) and check that it answers."""
    import libsql_client

    target = _Target.parse(url)
    dialect = TursoDialect(tables)
    if target.scheme != "file":
        dialect.max_value_bytes = SQLD_MAX_VALUE_BYTES
    try:
        client = libsql_client.create_client(target.bare, auth_token=target.token)
    except BaseException as exc:
        err, cause = _open_error(exc, target.token)
        if err is exc:
            raise
        raise err from cause
    runner = AsyncClientRunner(dialect, client, where=target.where, secret=target.token,
                               owned=True, timeout=target.timeout,
                               loop=None if target.scheme == "file" else
                               asyncio.get_running_loop())
    try:
        await runner.execute(_ping(dialect))
    except BackendError as exc:
        await runner.aclose()
        raise _connect_error(exc) from exc.__cause__
    except BaseException:
        await runner.aclose()
        raise
    return dialect, runner


async def async_from_connection(conn: Any, tables: Mapping[str, str]) -> tuple[SqlDialect, Any]:
    """A caller's async ``Client`` (awaited on the running loop, which must be the one it
    was created on), a ``ClientSync`` (on a thread of the AsyncMemory's own), or a
    ``libsql.Connection``; memstore never closes it."""
    libsql = sys.modules.get("libsql")
    if libsql is not None and isinstance(conn, libsql.Connection):
        return await libsql_driver.async_from_connection(conn, tables)
    import libsql_client

    dialect = TursoDialect(tables)
    if isinstance(conn, libsql_client.ClientSync):
        sync = ClientRunner(dialect, conn, where="a ClientSync")
        return dialect, ThreadedRunner(sync, name="memstore-libsql-client")
    if isinstance(conn, libsql_client.Client):
        return dialect, AsyncClientRunner(dialect, conn, where="a Client",
                                          loop=None if _is_local(conn) else
                                          asyncio.get_running_loop())
    raise ValidationError("target", "expected a libsql_client Client or ClientSync, or a "
                          f"libsql Connection; got {type(conn).__qualname__}")


# -- URLs ------------------------------------------------------------------------------


class _Target(NamedTuple):
    scheme: str
    bare: str  # the URL for libsql-client: tls= only, never the token
    where: str  # for repr: never the query string, which may hold the token
    token: str | None
    timeout: float

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = validate.url_parts(url, "libSQL")
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
                timeout = validate.seconds("url", value, what="timeout")
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
        return cls(scheme, bare, where, token, timeout)


def _ping(dialect: SqlDialect) -> Unit:
    return Unit("read", (Stmt(dialect.sql["ping"], {}, "rows"),))


def _is_local(client: Any) -> bool:
    """libsql-client's ``file:`` executor: plain sqlite3 calls, bound to no event loop."""
    from libsql_client.sqlite3_utils import Sqlite3Client

    return isinstance(client, Sqlite3Client)


# -- errors ----------------------------------------------------------------------------


def _client_errors() -> tuple[type[Exception], ...]:
    """What libsql-client lets through from its transports, besides its own LibsqlError."""
    import aiohttp
    import libsql_client

    return (libsql_client.LibsqlError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


def _scrub(text: str, secret: str | None) -> str:
    return text.replace(secret, "<auth token>") if secret else text


def _scrubbed(err: MemstoreError, secret: str | None) -> MemstoreError:
    """``err`` without the token in its message, of the same class (and dialect)."""
    text = str(err)
    if not secret or secret not in text:
        return err
    if isinstance(err, BackendError):
        prefix = f"{err.dialect}: " if err.dialect else ""
        return BackendError(_scrub(text.removeprefix(prefix), secret), dialect=err.dialect)
    if isinstance(err, ValidationError):
        return ValidationError(err.field, _scrub(err.reason, secret))
    return type(err)(_scrub(text, secret))


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


_AUTH_HINT = ("the server refused the auth token, or got none: pass it as ?authToken= in "
              "the URL or set $TURSO_AUTH_TOKEN")
_WS_CLOSED_HINT = ("the server closed the WebSocket: most often the auth token is missing or "
                   "wrong (pass it as ?authToken= in the URL or set $TURSO_AUTH_TOKEN)")
_TLS_HINT = ("the server does not speak TLS (a local sqld?): use libsql://HOST:PORT?tls=0, "
             "ws:// or http://")
_CERT_HINT = ("TLS certificate verification failed: the server's certificate is not signed by "
              "a CA this process trusts, or not for this host name. For a private CA, start "
              "the program with SSL_CERT_FILE=/path/to/ca.pem in its environment (a PEM "
              "bundle; it replaces the system's CAs, so append yours to them to keep both): "
              "libsql-client's aiohttp reads it once, when it is first imported")


def _hint(exc: BaseException) -> str:
    """What to do about a failed call, when the error says it."""
    import aiohttp

    chain = _chain(exc)
    # Before _TLS_HINT: aiohttp's certificate error is a ClientSSLError too.
    if any(isinstance(e, (ssl.SSLCertVerificationError,
                          aiohttp.ClientConnectorCertificateError)) for e in chain):
        return _CERT_HINT
    for e in chain:
        code = str(getattr(e, "code", ""))
        text = str(e)
        if code.startswith("AUTH_") or "HTTP status 401" in text or \
                getattr(e, "status", None) == 401:
            return _AUTH_HINT
        if "WRONG_VERSION_NUMBER" in text or isinstance(e, aiohttp.ClientSSLError):
            return _TLS_HINT
    return ""


def _connect_error(err: BackendError) -> BackendError:
    """The error of the first call on a new client. sqld answers a WebSocket hello with a
    bad or missing token by closing the socket, which libsql-client may report as the
    socket closing (not as the server's AUTH_ error) when its request was on the way."""
    import aiohttp

    reset = getattr(aiohttp, "ClientConnectionResetError", ())
    if err.__cause__ is None or _hint(err.__cause__):  # hinted already, or no cause
        return err
    if any(isinstance(e, reset) or str(getattr(e, "code", "")) == "HRANA_WEBSOCKET_ERROR"
           for e in _chain(err.__cause__)):
        prefix = f"{err.dialect}: " if err.dialect else ""
        return BackendError(f"{str(err).removeprefix(prefix)} ({_WS_CLOSED_HINT})",
                            dialect=err.dialect)
    return err


def _mapped(exc: Exception, secret: str | None, dialect: str = "turso") -> MemstoreError:
    """The memstore error for a client error: its class kept (a missing table stays a
    SchemaError), a hint added where the cause is known, the token scrubbed."""
    err = map_error(exc, dialect)
    if isinstance(err, BackendError) and (hint := _hint(exc)):
        prefix = f"{err.dialect}: " if err.dialect else ""
        err = BackendError(f"{str(err).removeprefix(prefix)} ({hint})", dialect=err.dialect)
    return _scrubbed(err, secret)


def _cause(exc: BaseException, secret: str | None) -> BaseException | None:
    """The driver error to chain, unless it shows the token."""
    return None if secret and any(secret in str(e) for e in _chain(exc)) else exc


def _open_error(exc: BaseException,
                secret: str | None) -> tuple[BaseException, BaseException | None]:
    """The error for a client that could not be created, and its cause; ``exc`` itself
    when it is not the client's."""
    import libsql_client

    if isinstance(exc, libsql_client.LibsqlError) and exc.code.startswith("URL_"):
        return ValidationError("url", _scrub(exc.explanation, secret)), None
    if isinstance(exc, _client_errors()):
        return _mapped(exc, secret), _cause(exc, secret)
    return exc, None


def _is_busy(exc: BaseException) -> bool:
    return str(getattr(exc, "code", "")).startswith("SQLITE_BUSY")


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
            if not _is_busy(exc):
                raise
            if time.monotonic() > deadline:
                _log_busy_give_up()
                raise
        time.sleep(random.uniform(0, pause))
        pause = min(pause * 2, 0.1)


def _log_busy_give_up() -> None:
    log.warning("memstore: gave up after %g s of SQLITE_BUSY from libSQL (another "
                "connection held the write lock)", BUSY_TIMEOUT)


async def _abusy_wait(call: Callable[[], Awaitable[T]]) -> T:
    """``_busy_wait`` for the async client: the pauses are ``asyncio.sleep``."""
    deadline = time.monotonic() + BUSY_TIMEOUT
    pause = 0.002
    while True:
        try:
            return await call()
        except Exception as exc:
            if not _is_busy(exc):
                raise
            if time.monotonic() > deadline:
                _log_busy_give_up()
                raise
        await asyncio.sleep(random.uniform(0, pause))
        pause = min(pause * 2, 0.1)


def _no_answer(timeout: float) -> BackendError:
    return BackendError(f"no answer from the server within {timeout:g} s (URL option "
                        "timeout=); a write may or may not have been applied",
                        dialect="turso")


# -- units to client calls -------------------------------------------------------------


def _args(params: Mapping[str, Any] | Sequence[Any]) -> Any:
    # ":name", as written in the SQL; both the file executor and sqld accept the prefix.
    if isinstance(params, Mapping):
        return {f":{k}": v for k, v in params.items()} if params else None
    return list(params) if params else None


def _batch(unit: Unit) -> list[tuple[str, Any]]:
    return [(s.sql, _args(s.params)) for s in unit.stmts]


def _single(unit: Unit) -> bool:
    """A read of one statement: one ``execute``; every other unit is one ``batch``."""
    return unit.kind == "read" and len(unit.stmts) == 1


def _wanted(stmts: Sequence[Stmt], results: Sequence[Any], dialect: str) -> list[Any]:
    """What each statement wants, from its ``libsql_client.ResultSet``."""
    out: list[Any] = []
    for stmt, result in zip(stmts, results, strict=True):
        want = stmt.want
        if want == "rows":
            out.append([r.astuple() for r in result.rows])
        elif want == "rowcount":
            out.append(result.rows_affected)
        elif want == "lastrowid":
            if result.last_insert_rowid is None:
                raise BackendError("the server returned no id for an inserted row",
                                   dialect=dialect)
            out.append(result.last_insert_rowid)
        else:
            out.append(None)
    return out


class ClientRunner:
    """Runs units on a blocking client: a caller's ``ClientSync``, or an ``_OnLoop``
    (memstore's own client on its loop thread, or a caller's async ``Client``).

    What memstore opened is released by ``close()``, or when the runner is garbage
    collected unclosed (``weakref.finalize``): the loop thread, its loop and the client's
    sockets never outlive the ``Memory``."""

    def __init__(self, dialect: SqlDialect, client: Any, *, where: str,
                 secret: str | None = None, owned: bool = False) -> None:
        self.dialect = dialect
        self.sql, self.tables = dialect.sql, dialect.tables  # for tools and tests
        self.client = client
        self.where = where
        self._secret = secret
        self._errors = _client_errors()
        # Holds the client, never the runner: the runner can be collected.
        self._release = weakref.finalize(self, client.close) if owned else None

    def __repr__(self) -> str:
        return f"<memstore libsql-client runner on {self.where}>"

    def execute(self, unit: Unit) -> list[Any]:
        client = self.client
        try:
            if _single(unit):
                sql, args = unit.stmts[0].sql, _args(unit.stmts[0].params)
                results = [_busy_wait(lambda: client.execute(sql, args))]
            else:
                batch = _batch(unit)
                results = _busy_wait(lambda: client.batch(batch))
        except self._errors as exc:
            raise _mapped(exc, self._secret, self.dialect.dialect) \
                from _cause(exc, self._secret)
        return _wanted(unit.stmts, results, self.dialect.dialect)

    def close(self) -> None:
        if self._release is not None:
            self._release()  # once: stops the client's loop thread, closes its sockets


class AsyncClientRunner:
    """Runs units on an async ``libsql_client.Client``, awaited on the caller's event loop.

    No lock: libsql-client runs concurrent calls on one client by itself. Over HTTP each
    call is a request of its own on aiohttp's connection pool; over WebSocket each
    ``execute``/``batch`` opens a stream of its own on the one socket (requests matched by
    id, and sqld runs each stream as a connection of its own); the ``file:`` executor opens
    a sqlite3 connection per call and never awaits inside one. A unit is one call, so its
    atomicity is the server's (a batch is its own transaction).

    The client's aiohttp session (HTTP, WebSocket) belongs to the event loop it was created
    on (``loop``): a call from another running loop is refused with a clear error, not
    left to fail inside aiohttp. The ``file:`` executor is bound to no loop (``loop`` None)
    but runs its sqlite3 calls on the loop's thread (they are local and short)."""

    def __init__(self, dialect: SqlDialect, client: Any, *, where: str,
                 secret: str | None = None, owned: bool = False,
                 timeout: float | None = None,
                 loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.dialect = dialect
        self.sql, self.tables = dialect.sql, dialect.tables  # for tools and tests
        self.client = client
        self.where = where
        self.loop = loop
        self.timeout = timeout
        self.owned = owned
        self._secret = secret
        self._errors = _client_errors()
        self._closed = False

    def __repr__(self) -> str:
        return f"<memstore async libsql-client runner on {self.where}>"

    def _check_loop(self) -> None:
        if self.loop is not None and asyncio.get_running_loop() is not self.loop:
            raise MemstoreError(
                "this AsyncMemory's libsql-client is bound to the event loop it was opened "
                "on (its aiohttp session belongs to that loop); call it from that loop, or "
                "open one AsyncMemory per event loop")

    async def execute(self, unit: Unit) -> list[Any]:
        self._check_loop()
        client = self.client
        try:
            if _single(unit):
                sql, args = unit.stmts[0].sql, _args(unit.stmts[0].params)
                results = [await _abusy_wait(lambda: self._timed(client.execute(sql, args)))]
            else:
                batch = _batch(unit)
                results = await _abusy_wait(lambda: self._timed(client.batch(batch)))
        except self._errors as exc:
            raise _mapped(exc, self._secret, self.dialect.dialect) \
                from _cause(exc, self._secret)
        return _wanted(unit.stmts, results, self.dialect.dialect)

    async def _timed(self, call: Awaitable[T]) -> T:
        """``call`` within the request deadline (URL ``?timeout=``, on clients memstore
        opened). Not ``asyncio.wait_for``: its TimeoutError could not be told from the
        client's own (aiohttp's), and ``asyncio.timeout`` is Python 3.11+."""
        if self.timeout is None:
            return await call
        task = asyncio.ensure_future(call)
        try:
            done, _ = await asyncio.wait((task,), timeout=self.timeout)
        except BaseException:
            task.cancel()
            raise
        if not done:
            task.cancel()  # cancels the request
            raise _no_answer(self.timeout)
        return task.result()

    async def aclose(self) -> None:
        """Close the client memstore opened (a caller's is theirs to close), on its loop."""
        if not self.owned or self._closed:
            return
        self._closed = True
        loop = self.loop
        if loop is None or asyncio.get_running_loop() is loop:
            await self.client.close()
        elif loop.is_running():
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self.client.close(),
                                                                       loop))
        else:
            log.warning("memstore: the event loop of a libsql-client AsyncMemory has stopped; "
                        "its client could not be closed on it")


# -- a blocking face on an async client ---------------------------------------------------


class _LoopThread:
    """An event loop on a thread of memstore's own, for the client it opens from a URL (as
    libsql-client's ClientSync runs one, but memstore's, so each request gets a deadline).
    The thread's target holds the loop only, so nothing keeps a ``Memory`` alive."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=_serve, args=(self.loop,), daemon=True,
                                       name="memstore-libsql-client")
        self.thread.start()

    def stop(self) -> None:
        """Stop the loop; its thread closes it and ends. From the loop's own thread (a
        garbage collection that ran there) without waiting for that."""
        if threading.current_thread() is self.thread:
            self.loop.stop()
            return
        with contextlib.suppress(RuntimeError):  # closed already: its thread has ended
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


def _serve(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


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
                raise _no_answer(self.timeout or 0) from None

    def execute(self, stmt: Any, args: Any = None) -> Any:
        return self.run(lambda: self.client.execute(stmt, args))

    def batch(self, stmts: list[Any]) -> Any:
        return self.run(lambda: self.client.batch(stmts))

    def close(self) -> None:
        """Close memstore's own client and stop its thread (a caller's is theirs to close).
        Safe to call again, and from any thread (a finalizer runs where the collection ran:
        on the loop's own thread the client is closed by a task, then the loop stops)."""
        own, self.own = self.own, None
        if own is None:
            return
        client, self.client = self.client, None
        if threading.current_thread() is own.thread:
            if client is not None and self.loop.is_running():
                self.loop.create_task(_close_then_stop(client, self.loop))
                return
            own.stop()
            return
        try:
            if client is not None and self.loop.is_running():
                self.run(client.close)
        except Exception as exc:  # the thread stops all the same
            log.warning("memstore: closing the libsql-client failed: %s",
                        type(exc).__name__)
        finally:
            own.stop()


async def _close_then_stop(client: Any, loop: asyncio.AbstractEventLoop) -> None:
    try:
        await client.close()
    except Exception as exc:
        log.warning("memstore: closing the libsql-client failed: %s", type(exc).__name__)
    finally:
        loop.stop()
