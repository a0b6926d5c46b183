"""MySQL/MariaDB for the shared tests, on the server in ``$MEMSTORE_TEST_MYSQL_URL``.

Each test run works in a database of its own (``memstore_t<pid>_<random>``; the test user
may create ``memstore_%`` databases), so runs sharing the server at the same time do not
see each other's rows; it is dropped when the process exits. The tables are created once;
every ``open`` empties them (DELETE: on tables this small, TRUNCATE's drop-and-recreate
costs ~30x more) and connects memstore by URL, the way an application would. The URL gets
``ssl_disabled=true``: PyMySQL's TLS-if-offered default builds a TLS context per
connection (~70 ms), and the test server offers no TLS anyway.
"""

from __future__ import annotations

import atexit
import os
import uuid
from contextlib import closing
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pymysql

import memstore
from memstore.store import Clock
from tests.backends import Backend, require_env

DATABASE = f"memstore_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
TABLES = ("working_memory", "conversation_messages", "chat_sessions", "memstore_message_status",
          "memstore_search", "memstore_vectors", "memstore_tokens")
_admin: dict[str, Any] = {}


def server_url() -> str:
    """The server URL as given; fails in CI / skips locally when unset."""
    return require_env("MEMSTORE_TEST_MYSQL_URL", "mysql")


def database_url(database: str = DATABASE, options: str = "ssl_disabled=true") -> str:
    """The server URL pointing at ``database``."""
    return urlunsplit(urlsplit(server_url())._replace(path=f"/{database}", query=options))


def raw_connect(database: str | None = DATABASE, **kwargs: Any) -> Any:
    """A plain PyMySQL connection to the test server (autocommit unless told)."""
    u = urlsplit(server_url())
    options: dict[str, Any] = {"charset": "utf8mb4", "autocommit": True, "ssl_disabled": True}
    options.update(kwargs)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username,
                           password=u.password or "", database=database, **options)


def create_database(name: str, charset: str = "utf8mb4") -> None:
    """A fresh database for this process, dropped at exit. ``name`` and ``charset`` are
    constants of the tests, never user input."""
    with closing(raw_connect(None)) as conn:
        cur = conn.cursor()
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name} CHARACTER SET {charset}")
    atexit.register(drop_database, name)


def drop_database(name: str) -> None:
    try:
        with closing(raw_connect(None)) as conn:
            conn.cursor().execute(f"DROP DATABASE IF EXISTS {name}")
    except pymysql.err.MySQLError:
        pass  # the server may be gone at exit; the name is unique anyway


def admin() -> Any:
    """This run's database with memstore's tables, and a connection to empty them."""
    if "conn" not in _admin:
        create_database(DATABASE)
        with memstore.connect(database_url()) as mem:
            mem.init_schema()
        _admin["conn"] = raw_connect()
    return _admin["conn"]


def _empty_tables() -> None:
    cur = admin().cursor()
    for table in TABLES:
        cur.execute(f"DELETE FROM {table}")


def _open(clock: Clock | None, **opts: Any) -> memstore.Memory:
    _empty_tables()
    return memstore.connect(database_url(), clock=clock, **opts)


async def _open_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    # PyMySQL has no async API: memstore runs it on a thread of the AsyncMemory's own.
    _empty_tables()
    return await memstore.connect_async(database_url(), clock=clock, **opts)


BACKEND = Backend("mysql", _open, _open_async)
