"""PostgreSQL for the shared tests, on the server in ``$MEMSTORE_TEST_POSTGRES_URL``.

Each test run works in a schema of its own (``search_path`` set in the connection
options), so runs that share the server at the same time do not see each other's rows;
the schema is dropped when the process exits. The tables are created once; every
``open`` empties them on one shared autocommit connection and hands that connection to
memstore (which never closes a connection it was given). ``open_async`` empties them the
same way and opens an ``AsyncMemory`` from the URL: memstore's own ``AsyncConnection``,
the native async path.
"""

from __future__ import annotations

import atexit
import os
import uuid
from typing import Any
from urllib.parse import quote

import psycopg
from psycopg import sql

import memstore
from memstore.store import Clock
from tests.backends import Backend, require_env

SCHEMA = f"memstore_t{os.getpid()}_{uuid.uuid4().hex[:8]}"
_shared: dict[str, psycopg.Connection[tuple[object, ...]]] = {}

# DELETE rather than TRUNCATE: on tables this small, TRUNCATE's new files cost ~10x more.
_EMPTY = ("DELETE FROM working_memory; DELETE FROM conversation_messages; "
          "DELETE FROM memstore_message_status; DELETE FROM memstore_search; "
          "DELETE FROM memstore_vectors; DELETE FROM memstore_tokens; "
          "DELETE FROM chat_sessions; ALTER SEQUENCE conversation_messages_id_seq RESTART")


def with_options(url: str, options: str) -> str:
    """``url`` with libpq ``options`` (``-c name=value ...``) added to its query string."""
    return f"{url}{'&' if '?' in url else '?'}options={quote(options)}"


def server_url() -> str:
    """The server URL as given (public schema); fails in CI / skips locally when unset."""
    return require_env("MEMSTORE_TEST_POSTGRES_URL", "postgres")


def schema_url(schema: str = SCHEMA) -> str:
    """The server URL with ``search_path`` set to ``schema``."""
    return with_options(server_url(), f"-c search_path={schema}")


def shared_connection() -> psycopg.Connection[tuple[object, ...]]:
    """This run's autocommit connection, in this run's schema with memstore's tables."""
    if "conn" not in _shared:
        admin = psycopg.connect(server_url(), autocommit=True)
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(SCHEMA)))
        atexit.register(_drop_schema, admin)
        conn = psycopg.connect(schema_url(), autocommit=True)
        memstore.connect(conn).init_schema()
        _shared["conn"] = conn
    return _shared["conn"]


def _drop_schema(admin: psycopg.Connection[tuple[object, ...]]) -> None:
    try:
        if "conn" in _shared:
            _shared["conn"].close()
        admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
            sql.Identifier(SCHEMA)))
        admin.close()
    except psycopg.Error:
        pass  # the server may be gone at exit; the schema name is unique anyway


def _open(clock: Clock | None, **opts: Any) -> memstore.Memory:
    conn = shared_connection()
    conn.execute(_EMPTY)
    return memstore.connect(conn, clock=clock, **opts)


async def _open_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    shared_connection().execute(_EMPTY)
    return await memstore.connect_async(schema_url(), clock=clock, **opts)


BACKEND = Backend("postgres", _open, _open_async)
