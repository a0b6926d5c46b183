"""``connect()``: a URL or a DB-API connection object in, a ``Memory`` out.

Adapters are imported lazily, so the SQLite default needs no third-party package and a
missing driver is reported only when its backend is asked for.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import sqlite3
import sys
from collections.abc import Coroutine, Generator, Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias
from urllib.parse import parse_qsl, unquote, urlsplit

from . import sqlfiles
from . import validate as v
from .adapters.inmemory import InMemoryDialect, NoAsyncRunner, NoRunner
from .adapters.sqlite import SYNCHRONOUS_MODES, SqliteDialect, SqliteRunner
from .adapters.threaded import ThreadedRunner
from .budget import TokenCounter
from .errors import MemstoreError, ValidationError
from .recall import Embedder
from .store import RETRIES, AsyncMemory, Clock, Memory, retry_policy

DEFAULT_URL = "sqlite:///memstore.db"


class _DbapiConnection(Protocol):
    """sqlite3, psycopg, PyMySQL and libsql connections: what a type checker needs to
    tell one from a mistake such as ``connect(123)``."""

    def cursor(self, *args: Any, **kwargs: Any) -> Any: ...
    def close(self) -> Any: ...


class _LibsqlClient(Protocol):
    """libsql-client's ``Client`` and ``ClientSync``."""

    def execute(self, *args: Any, **kwargs: Any) -> Any: ...
    def batch(self, *args: Any, **kwargs: Any) -> Any: ...
    def close(self) -> Any: ...


if TYPE_CHECKING:
    from psycopg_pool import AsyncConnectionPool, ConnectionPool

    # What connect() and connect_async() take (checked again at run time): a URL or a path
    # ("sqlite:///agent.db", "postgresql://...", "memory://"), a DB-API connection, a
    # libsql-client client, a psycopg pool, or None for the default.
    Target: TypeAlias = (str | _DbapiConnection | _LibsqlClient | ConnectionPool[Any]
                         | AsyncConnectionPool[Any] | None)

# URL scheme -> adapter module (each has ``from_url(url, tables)``) and its pip extra.
SCHEMES: dict[str, tuple[str, str]] = {
    "postgresql": ("postgres", "postgres"),
    "postgres": ("postgres", "postgres"),
    "mysql": ("mysql", "mysql"),
    "mariadb": ("mysql", "mysql"),
    "libsql": ("turso", "turso"),
    "https": ("turso", "turso"),
    "http": ("turso", "turso"),
    "wss": ("turso", "turso"),
    "ws": ("turso", "turso"),
    "file": ("turso", "turso"),
}
# Top-level package of a connection object's class -> adapter module (each has
# ``from_connection(conn, tables)``).
CONNECTION_PACKAGES: dict[str, str] = {
    "psycopg": "postgres",
    "psycopg_pool": "postgres",
    "pymysql": "mysql",
    "libsql_client": "turso",
    "libsql": "turso",
}


def connect(
    target: Target = None, *, tables: Mapping[str, str] | None = None,
    clock: Clock | None = None, max_content_bytes: int = v.MAX_CONTENT_BYTES,
    retries: int | None = RETRIES, retry_deadline: float | None = None,
    embedder: Embedder | None = None, embedder_name: str | None = None,
    token_counter: TokenCounter | None = None, token_counter_name: str | None = None,
) -> Memory:
    """Open memstore on a URL or an existing connection.

    ``target`` is a URL (``sqlite:///agent.db``, ``postgresql://...``, ``mysql://...``,
    ``libsql://...``, ``memory://``), a DB-API connection or pool, or None for
    ``$MEMSTORE_URL`` and else the embedded default ``sqlite:///memstore.db``.
    ``tables`` renames the tables (keys ``working_memory``, ``messages``, ``chats``).
    ``clock`` replaces the current-time source (tests); it must return aware datetimes.
    ``max_content_bytes`` is the largest content accepted, in UTF-8 bytes (default 8 MiB,
    at most 16 MiB - 1, what a MySQL MEDIUMTEXT holds). A call in memstore's own
    transaction that lost a conflict with another transaction (deadlock, Galera
    certification, serialization failure) runs again, with jittered pauses: by default
    as often as it takes for up to ``RETRY_DEADLINE`` (5) seconds after the first
    conflict; ``retries=N`` at most N times (0: never), ``retry_deadline=SECONDS`` for up
    to that long (given both, whichever limit comes first). Never inside your own
    transaction.
    ``embedder`` turns texts into vectors for semantic and hybrid search (a callable from
    a list of texts to a list of float vectors; in ``connect_async`` it may be async);
    ``embedder_name`` names its model in the vectors table (default: its ``name`` or
    ``model_name`` attribute, else its qualified name). See docs/recall.md.
    ``token_counter`` counts a message's tokens for ``get_messages(max_tokens=...)``
    (default: UTF-8 bytes / 4, no dependency); ``token_counter_name`` names it in the
    counts table. See docs/budget.md.
    """
    resolved = sqlfiles.resolve_tables(tables)
    opts: dict[str, Any] = {"clock": clock, "max_content_bytes": v.content_limit(
        "max_content_bytes", max_content_bytes),
        "retries": retries, "retry_deadline": retry_deadline,
        "embedder": embedder, "embedder_name": embedder_name,
        "token_counter": token_counter, "token_counter_name": token_counter_name}
    retry_policy(retries, retry_deadline)  # refused before anything is opened
    target = _without_driver(_default(target))
    if isinstance(target, str):
        scheme = _scheme(target)
        if scheme == "memory":
            return Memory(InMemoryDialect(), NoRunner(), **opts)
        if scheme == "sqlite":
            dialect = SqliteDialect(resolved)
            return Memory(dialect, _sqlite_from_url(dialect, target), **opts)
        module, extra = SCHEMES[scheme]
        with _driver_hint(module, extra):
            dialect, runner = _module_for_url(scheme).from_url(target, resolved)
        _fit_content_limit(opts, dialect)
    elif isinstance(target, sqlite3.Connection):
        dialect = SqliteDialect(resolved)
        runner = SqliteRunner(dialect, target)
    else:
        dialect, runner = _module_for_connection(target).from_connection(target, resolved)
    return Memory(dialect, runner, **opts)


def connect_async(
    target: Target = None, *, tables: Mapping[str, str] | None = None,
    clock: Clock | None = None, max_content_bytes: int = v.MAX_CONTENT_BYTES,
    retries: int | None = RETRIES, retry_deadline: float | None = None,
    embedder: Embedder | None = None, embedder_name: str | None = None,
    token_counter: TokenCounter | None = None, token_counter_name: str | None = None,
) -> Opening:
    """Open memstore for asyncio: ``mem = await memstore.connect_async(url)``, or
    ``async with memstore.connect_async(url) as mem:`` (closed at the end of the block;
    ``async with await ...`` works too).

    The same targets as :func:`connect`, plus the async objects of the drivers that have
    them: a ``psycopg.AsyncConnection`` or ``psycopg_pool.AsyncConnectionPool``, and an
    async ``libsql_client.Client``. PostgreSQL and libsql-client URLs open the native async
    driver; SQLite and MySQL run their blocking driver on a thread of the ``AsyncMemory``'s
    own (docs/async.md).
    """
    return Opening(_open_async(target, tables=tables, clock=clock,
                               max_content_bytes=max_content_bytes, retries=retries,
                               retry_deadline=retry_deadline, embedder=embedder,
                               embedder_name=embedder_name, token_counter=token_counter,
                               token_counter_name=token_counter_name))


class Opening(Coroutine[Any, Any, AsyncMemory]):
    """What :func:`connect_async` returns: a coroutine (await it, or hand it to
    ``asyncio.run``, for the ``AsyncMemory``) and an async context manager that opens the
    ``AsyncMemory`` and closes it at the end, as ``aiosqlite.connect`` is both."""

    __slots__ = ("_coro", "_mem")

    def __init__(self, coro: Coroutine[Any, Any, AsyncMemory]) -> None:
        self._coro = coro
        self._mem: AsyncMemory | None = None

    def __await__(self) -> Generator[Any, None, AsyncMemory]:
        return self._coro.__await__()

    def send(self, value: Any) -> Any:
        return self._coro.send(value)

    def throw(self, *args: Any) -> Any:
        return self._coro.throw(*args)

    def close(self) -> None:
        self._coro.close()

    async def __aenter__(self) -> AsyncMemory:
        self._mem = await self._coro
        return self._mem

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        if self._mem is not None:
            await self._mem.aclose()


async def _open_async(
    target: Target, *, tables: Mapping[str, str] | None, clock: Clock | None,
    max_content_bytes: int, retries: int | None, retry_deadline: float | None,
    embedder: Embedder | None,
    embedder_name: str | None, token_counter: TokenCounter | None,
    token_counter_name: str | None,
) -> AsyncMemory:
    resolved = sqlfiles.resolve_tables(tables)
    opts: dict[str, Any] = {"clock": clock, "max_content_bytes": v.content_limit(
        "max_content_bytes", max_content_bytes),
        "retries": retries, "retry_deadline": retry_deadline,
        "embedder": embedder, "embedder_name": embedder_name,
        "token_counter": token_counter, "token_counter_name": token_counter_name}
    retry_policy(retries, retry_deadline)  # refused before anything is opened
    target = _without_driver(_default(target))
    if isinstance(target, str):
        scheme = _scheme(target)
        if scheme == "memory":
            return AsyncMemory(InMemoryDialect(), NoAsyncRunner(), **opts)
        if scheme == "sqlite":
            dialect = SqliteDialect(resolved)
            sync = await asyncio.to_thread(_sqlite_from_url, dialect, target)
            return AsyncMemory(dialect, ThreadedRunner(sync, name="memstore-sqlite"), **opts)
        module, extra = SCHEMES[scheme]
        with _driver_hint(module, extra):
            dialect, runner = await _module_for_url(scheme).async_from_url(target, resolved)
        _fit_content_limit(opts, dialect)
    elif isinstance(target, sqlite3.Connection):
        dialect = SqliteDialect(resolved)
        runner = ThreadedRunner(SqliteRunner(dialect, target), name="memstore-sqlite")
    else:
        dialect, runner = await _module_for_connection(target).async_from_connection(
            target, resolved)
    return AsyncMemory(dialect, runner, **opts)


def _fit_content_limit(opts: dict[str, Any], dialect: Any) -> None:
    """``max_content_bytes`` no larger than what the server takes (sqld: 5,000,000 bytes a
    value), so a larger content is a ValidationError naming it, not the server's opaque
    refusal."""
    limit = getattr(dialect, "max_value_bytes", None)
    if limit is not None and opts["max_content_bytes"] > limit:
        opts["max_content_bytes"] = limit


def _default(target: str | Any | None) -> str | Any:
    if target is None:
        return os.environ.get("MEMSTORE_URL") or DEFAULT_URL
    return target


def _without_driver(target: str | Any) -> str | Any:
    """A SQLAlchemy-style URL's driver suffix is dropped, as migrate-from does:
    ``postgresql+psycopg://`` is ``postgresql://``, ``sqlite+aiosqlite:///a.db`` is
    ``sqlite:///a.db``; memstore brings its own driver for each scheme."""
    if isinstance(target, str) and "://" in target:
        scheme, rest = target.split("://", 1)
        base = scheme.split("+", 1)[0]
        if "+" in scheme and base.lower() in ("sqlite", "postgresql", "postgres", "mysql",
                                              "mariadb"):
            return f"{base}://{rest}"
    return target


def _scheme(url: str) -> str:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme not in ("memory", "sqlite", *SCHEMES):
        known = ", ".join(sorted({"sqlite", "memory", *SCHEMES}))
        raise ValidationError("url", f"unknown scheme {scheme or '(none)'!r}; use one of {known}"
                              + _did_you_mean(url))
    return scheme


def _did_you_mean(url: str) -> str:
    """A hint for the usual slips: a bare path, ``:memory:``, a missing colon."""
    if url == ":memory:":
        return "; for an in-memory SQLite database use sqlite://, for memstore's " \
            "in-process store memory://"
    if "://" in url and url.endswith((".db", ".sqlite", ".sqlite3")):
        # a misspelt scheme: keep the slashes as written (sqllite:///a.db -> sqlite:///a.db)
        return f"; did you mean sqlite://{url.split('://', 1)[1]}?"
    if url.startswith("sqlite//") or url.endswith((".db", ".sqlite", ".sqlite3")):
        path = url.split("//", 1)[-1]
        return f"; did you mean sqlite:///{path}?"
    return ""


def _module_for_url(scheme: str) -> Any:
    module, extra = SCHEMES[scheme]
    return _adapter_module(module, extra)


def _sqlite_from_url(dialect: SqliteDialect, url: str) -> SqliteRunner:
    parts = urlsplit(url)
    # sqlite:///rel.db -> "rel.db"; sqlite:////abs.db -> "/abs.db"; sqlite:// -> memory
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    if parts.netloc:
        raise ValidationError("url", "a sqlite URL has no host: use sqlite:///relative.db "
                              "or sqlite:////absolute/path.db")
    options = dict(parse_qsl(parts.query))
    synchronous = options.pop("synchronous", "NORMAL").upper()
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValidationError("url", f"synchronous must be one of {', '.join(SYNCHRONOUS_MODES)}")
    busy_timeout = v.seconds("url", options.pop("busy_timeout", "5"), what="busy_timeout")
    if options:
        raise ValidationError("url", f"unknown sqlite options {sorted(options)}; "
                              "use synchronous or busy_timeout")
    return SqliteRunner.open(dialect, path or ":memory:", synchronous=synchronous,
                             busy_timeout=busy_timeout)


def _module_for_connection(conn: Any) -> Any:
    package = type(conn).__module__.split(".", 1)[0]
    libsql = sys.modules.get("libsql")
    if package == "builtins" and libsql is not None and isinstance(conn, libsql.Connection):
        package = "libsql"  # the libsql driver's compiled classes report module "builtins"
    if package in CONNECTION_PACKAGES:
        module = CONNECTION_PACKAGES[package]
        return _adapter_module(module, module)
    raise ValidationError(
        "target", f"expected a URL or a sqlite3, psycopg, pymysql or libsql connection; "
        f"got {type(conn).__module__}.{type(conn).__qualname__}")


def _adapter_module(module: str, extra: str) -> Any:
    with _driver_hint(module, extra):
        return importlib.import_module(f"memstore.adapters.{module}")


@contextmanager
def _driver_hint(module: str, extra: str) -> Iterator[None]:
    """A missing or broken driver (at import, or imported lazily when a URL is opened)
    as a MemstoreError that says what to install."""
    try:
        yield
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("memstore"):
            raise MemstoreError(f"the {module} backend is not available in this version") from exc
        raise MemstoreError(
            f"the {module} backend needs its driver: pip install 'memstore-sql[{extra}]' "
            f"(missing module {exc.name!r})") from exc
    except ImportError as exc:
        # psycopg without a libpq it can load ("no pq wrapper available")
        hint = (" (psycopg needs the system libpq, or: pip install 'psycopg[binary]')"
                if module == "postgres" else "")
        raise MemstoreError(f"the {module} backend's driver cannot be loaded: {exc}{hint}") \
            from exc
