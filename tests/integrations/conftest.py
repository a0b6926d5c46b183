"""Stores for the integration tests: a fresh database per test (and per "database" a ported
SDK test names), on SQLite, PostgreSQL and MariaDB.

The ported Agents SDK tests (``test_sdk_session*.py``) build their sessions with
``SQLiteSession(session_id, db_path, session_settings=...)`` and
``SQLAlchemySession.from_url(...)``; the only change made to them is that construction,
which goes through :func:`make_session` / :func:`make_session_from_url` here: the same
``db_path`` (or URL) gives sessions over the same memstore database, no path (SQLite's
``:memory:``) a private one, exactly as in the originals. ``session.close()`` (sync in
SQLiteSession) is a no-op on the ported session: the fixture closes every session and
drops every database when the test ends.

PostgreSQL: a schema per database (``search_path`` in the URL). MariaDB: a database per
database. In CI (``CI=true``) a missing server fails the test (``tests.backends.require_env``).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore.integrations.openai_agents import MemstoreSession

os.environ.setdefault("OPENAI_AGENTS_DISABLE_TRACING", "1")
try:
    from agents import set_tracing_disabled

    set_tracing_disabled(True)
except ImportError:  # pragma: no cover
    pass

STORE_BACKENDS = ("sqlite", "postgres", "mysql")
_counter = itertools.count()


class Databases:
    """Fresh memstore databases on one backend, each known by a key; dropped at the end."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        self._urls: dict[object, str] = {}
        self._cleanup: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._dir: Path | None = None
        self.sessions: list[MemstoreSession] = []
        self.memories: list[memstore.AsyncMemory] = []
        if backend == "postgres":
            from tests.backend_postgres import server_url
            server_url()  # fails in CI / skips locally when the server is not configured
        elif backend == "mysql":
            from tests.backend_mysql import server_url
            server_url()

    def url(self, key: object = None) -> str:
        """The URL of the database ``key`` (a new private one for None), tables created."""
        if key is None:
            key = object()
        with self._lock:
            if key not in self._urls:
                self._urls[key] = self._create()
            return self._urls[key]

    def _create(self) -> str:
        name = f"memstore_i{os.getpid()}_{uuid.uuid4().hex[:8]}_{next(_counter)}"
        if self.backend == "sqlite":
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="memstore-integrations-"))
                directory = self._dir
                self._cleanup.append(lambda: shutil.rmtree(directory, ignore_errors=True))
            url = f"sqlite:///{self._dir / name}.db"
        elif self.backend == "postgres":
            import psycopg
            from psycopg import sql

            from tests.backend_postgres import server_url, with_options
            with psycopg.connect(server_url(), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))

            def drop() -> None:
                with psycopg.connect(server_url(), autocommit=True) as admin:
                    admin.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                        sql.Identifier(name)))
            self._cleanup.append(drop)
            url = with_options(server_url(), f"-c search_path={name}")
        else:
            from tests.backend_mysql import create_database, database_url, drop_database
            create_database(name)
            self._cleanup.append(lambda: drop_database(name))
            url = database_url(name)
        with memstore.connect(url) as mem:
            mem.init_schema()
        return url

    async def open(self, key: object = None) -> memstore.AsyncMemory:
        """An ``AsyncMemory`` on the database ``key``, closed at the end of the test."""
        mem = await memstore.connect_async(self.url(key))
        self.memories.append(mem)
        return mem

    def close(self) -> None:
        async def close_all() -> None:
            for session in self.sessions:
                await session.aclose()
            for mem in self.memories:
                await mem.aclose()

        errors: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(close_all())
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=run)  # a loop of its own, whatever runs here
        thread.start()
        thread.join()
        for cleanup in reversed(self._cleanup):
            cleanup()
        if errors:
            raise errors[0]


class PortedSession(MemstoreSession):
    """``MemstoreSession`` with the sync ``close()`` the SDK's tests call on SQLiteSession
    (the fixture closes the store after the test)."""

    db_url = ""  # the memstore database it works on

    def close(self) -> None:
        pass


_current: list[Databases] = []


def execute_sql(url: str, query: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement (``%s`` placeholders) on the database at ``url``, committed, with
    the driver underneath; the rows it returns."""
    if url.startswith("sqlite:///"):
        import sqlite3
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            return list(conn.execute(query.replace("%s", "?"), params).fetchall())
        finally:
            conn.close()
    if url.startswith("postgres"):
        import psycopg
        with psycopg.connect(url, autocommit=True) as pg:
            cur = pg.execute(query, params)  # type: ignore[call-overload]
            return list(cur.fetchall()) if cur.description else []
    from urllib.parse import urlsplit

    from tests.backend_mysql import raw_connect
    my = raw_connect(urlsplit(url).path.lstrip("/"))
    try:
        cur = my.cursor()
        cur.execute(query, params)
        return list(cur.fetchall())
    finally:
        my.close()


def databases() -> Databases:
    assert _current, "use the store_backend fixture"
    return _current[-1]


def make_session(session_id: str, db_path: object = None, *, session_settings: Any = None,
                 user_id: str | None = None) -> PortedSession:
    """``SQLiteSession(session_id, db_path, session_settings=...)``, swapped."""
    dbs = databases()
    key = None if db_path in (None, ":memory:") else str(db_path)
    url = dbs.url(key)
    session = PortedSession(session_id, url, session_settings=session_settings,
                            user_id=user_id)
    session.db_url = url
    dbs.sessions.append(session)
    return session


def make_session_from_url(session_id: str, *, url: str, create_tables: bool = False,
                          session_settings: Any = None) -> PortedSession:
    """``SQLAlchemySession.from_url(session_id, url=url, create_tables=...)``, swapped
    (an in-memory URL is a private database, as each of their in-memory engines is)."""
    key = None if ":memory:" in url else url
    return make_session(session_id, key, session_settings=session_settings)


@pytest.fixture(params=STORE_BACKENDS)
def store_backend(request: pytest.FixtureRequest) -> Iterator[Databases]:
    dbs = Databases(str(request.param))
    _current.append(dbs)
    try:
        yield dbs
    finally:
        _current.remove(dbs)
        dbs.close()
