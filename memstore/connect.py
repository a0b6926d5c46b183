"""``connect()``: a URL or a DB-API connection object in, a ``Memory`` out.

Adapters are imported lazily, so the SQLite default needs no third-party package and a
missing driver is reported only when its backend is asked for.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import sys
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from . import sqlfiles
from .adapters.base import Adapter
from .adapters.inmemory import InMemoryAdapter
from .adapters.sqlite import SYNCHRONOUS_MODES, SqliteAdapter
from .errors import MemstoreError, ValidationError
from .store import Clock, Memory

DEFAULT_URL = "sqlite:///memstore.db"

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
    target: str | Any | None = None, *, tables: Mapping[str, str] | None = None,
    clock: Clock | None = None,
) -> Memory:
    """Open memstore on a URL or an existing connection.

    ``target`` is a URL (``sqlite:///agent.db``, ``postgresql://...``, ``mysql://...``,
    ``libsql://...``, ``memory://``), a DB-API connection or pool, or None for
    ``$MEMSTORE_URL`` and else the embedded default ``sqlite:///memstore.db``.
    ``tables`` renames the tables (keys ``working_memory``, ``messages``, ``chats``).
    ``clock`` replaces the current-time source (tests); it must return aware datetimes.
    """
    resolved = sqlfiles.resolve_tables(tables)
    if target is None:
        target = os.environ.get("MEMSTORE_URL") or DEFAULT_URL
    adapter = (_from_url(target, resolved) if isinstance(target, str)
               else _from_connection(target, resolved))
    return Memory(adapter, clock=clock)


def _from_url(url: str, tables: dict[str, str]) -> Adapter:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        return InMemoryAdapter()
    if scheme == "sqlite":
        return _sqlite_from_url(url, tables)
    if scheme not in SCHEMES:
        known = ", ".join(sorted({"sqlite", "memory", *SCHEMES}))
        raise ValidationError("url", f"unknown scheme {scheme or '(none)'!r}; use one of {known}")
    module, extra = SCHEMES[scheme]
    return _adapter_module(module, extra).from_url(url, tables)  # type: ignore[no-any-return]


def _sqlite_from_url(url: str, tables: dict[str, str]) -> SqliteAdapter:
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
    try:
        busy_timeout = float(options.pop("busy_timeout", "5"))
    except ValueError:
        raise ValidationError("url", "busy_timeout must be a number of seconds") from None
    if options:
        raise ValidationError("url", f"unknown sqlite options {sorted(options)}; "
                              "use synchronous or busy_timeout")
    return SqliteAdapter.open(path or ":memory:", tables=tables, synchronous=synchronous,
                              busy_timeout=busy_timeout)


def _from_connection(conn: Any, tables: dict[str, str]) -> Adapter:
    if isinstance(conn, sqlite3.Connection):
        return SqliteAdapter(conn, tables=tables)
    package = type(conn).__module__.split(".", 1)[0]
    libsql = sys.modules.get("libsql")
    if package == "builtins" and libsql is not None and isinstance(conn, libsql.Connection):
        package = "libsql"  # the libsql driver's compiled classes report module "builtins"
    if package in CONNECTION_PACKAGES:
        module = CONNECTION_PACKAGES[package]
        return _adapter_module(module, module).from_connection(conn, tables)  # type: ignore[no-any-return]
    raise ValidationError(
        "target", f"expected a URL or a sqlite3, psycopg, pymysql or libsql connection; "
        f"got {type(conn).__module__}.{type(conn).__qualname__}")


def _adapter_module(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(f"memstore.adapters.{module}")
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("memstore"):
            raise MemstoreError(f"the {module} backend is not available in this version") from exc
        raise MemstoreError(
            f"the {module} backend needs its driver: pip install 'memstore-sql[{extra}]' "
            f"(missing module {exc.name!r})") from exc
