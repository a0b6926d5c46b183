"""Fixtures for the interoperability tests: the TS program, and one database per dialect
shared by memstore and the TS package.

The TS package uses fixed table names, so PostgreSQL and MariaDB tests run in a database of
their own, created for this pytest process and dropped at its end: the other tests (and
other pytest runs) use the same servers at the same time.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.backends import IN_CI, require_env

HERE = Path(__file__).parent
PROGRAM = HERE / "ts_side.mjs"
PACKAGE = HERE / "node_modules" / "@ai-sdk-tools" / "memory" / "package.json"
# Node runs in a zone with a 45-minute offset, so any local-time conversion on the TS side
# shows up as a wrong instant instead of passing by luck on a UTC machine.
NODE_TZ = "Asia/Kathmandu"
DIALECTS = ("sqlite", "postgres", "mysql")
TABLES = ("working_memory", "conversation_messages", "chat_sessions")


@dataclass(frozen=True)
class Target:
    """One database both sides use."""

    dialect: str
    url: str  # memstore's URL
    node_url: str  # the same database for the TS program
    # The TS side's SQL session time zone. PostgreSQL: deliberately not UTC (TIMESTAMP
    # columns must not care). MariaDB: UTC, which the TS package needs (see the README).
    session_tz: str | None
    connect: Callable[[], Any]  # a raw DB-API connection, for inspecting columns


RunTs = Callable[[Target, list[dict[str, Any]]], list[Any]]


@pytest.fixture(scope="session")
def ts() -> RunTs:
    """Runs a batch of operations through the TS package (one Node process per call)."""
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on PATH: install Node 20+, then"
    elif not PACKAGE.exists():
        problem = "tests/interop/node_modules is missing:"
    if problem:
        message = f"{problem} run `cd tests/interop && npm ci`"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    lock = json.loads((HERE / "package-lock.json").read_text())
    wanted = lock["packages"]["node_modules/@ai-sdk-tools/memory"]["version"]
    installed = json.loads(PACKAGE.read_text())["version"]
    assert installed == wanted, f"node_modules has {installed}, lockfile {wanted}: run npm ci"

    def run(target: Target, ops: list[dict[str, Any]]) -> list[Any]:
        command = {"dialect": target.dialect, "url": target.node_url,
                   "sessionTimeZone": target.session_tz, "ops": ops}
        proc = subprocess.run(
            [str(node), str(PROGRAM)], input=json.dumps(command), capture_output=True,
            text=True, timeout=120, cwd=HERE, env={**os.environ, "TZ": NODE_TZ}, check=False)
        lines = proc.stdout.strip().splitlines()
        if not lines:
            pytest.fail(f"the TS program printed nothing (exit {proc.returncode}):\n{proc.stderr}")
        out = json.loads(lines[-1])
        if not out["ok"]:
            failed = ops[out["at"]]
            pytest.fail(f"TS side failed at op {out['at']} {json.dumps(failed)}:\n{out['error']}")
        results: list[Any] = out["results"]
        return results

    return run


# -- one database per server dialect for this process ---------------------------------

def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _pg_connect(url: str) -> Any:
    import psycopg
    return psycopg.connect(url, autocommit=True)


def _mysql_connect(url: str) -> Any:
    import pymysql
    u = urlsplit(url)
    return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username,
                           password=u.password or "", database=u.path.lstrip("/") or None,
                           charset="utf8mb4", autocommit=True)


class ServerDatabases:
    """Creates ``memstore_interop_<pid>`` on a server the first time a test asks for it.
    The name is ours (pid), not a user value; MariaDB grants the test user `memstore\\_%`."""

    name = f"memstore_interop_{os.getpid()}"

    def __init__(self) -> None:
        self.created: dict[str, str] = {}

    def url(self, dialect: str) -> str:
        if dialect not in self.created:
            var = f"MEMSTORE_TEST_{dialect.upper()}_URL"
            base = require_env(var, dialect)
            with closing(_pg_connect(base) if dialect == "postgres"
                          else _mysql_connect(base)) as conn:
                cur = conn.cursor()
                cur.execute(f"DROP DATABASE IF EXISTS {self.name}")
                # utf8mb4: the TS package's tables take the database's character set.
                cur.execute(f"CREATE DATABASE {self.name}" +
                            (" CHARACTER SET utf8mb4" if dialect == "mysql" else ""))
            self.created[dialect] = base
        return _with_database(self.created[dialect], self.name)

    def drop_all(self) -> None:
        for dialect, base in self.created.items():
            with closing(_pg_connect(base) if dialect == "postgres"
                          else _mysql_connect(base)) as conn:
                force = " WITH (FORCE)" if dialect == "postgres" else ""
                conn.cursor().execute(f"DROP DATABASE IF EXISTS {self.name}{force}")



@pytest.fixture(scope="session")
def server_databases() -> Iterator[ServerDatabases]:
    dbs = ServerDatabases()
    yield dbs
    dbs.drop_all()


@pytest.fixture(params=DIALECTS)
def target(request: pytest.FixtureRequest, tmp_path: Path,
           server_databases: ServerDatabases) -> Target:
    """An empty database (no memstore/TS tables) of the dialect."""
    dialect: str = request.param
    if dialect == "sqlite":
        path = tmp_path / "shared.db"
        return Target("sqlite", f"sqlite:///{path}", f"file:{path}", None,
                      partial(sqlite3.connect, path))
    url = server_databases.url(dialect)
    connect = partial(_pg_connect if dialect == "postgres" else _mysql_connect, url)
    with closing(connect()) as conn:
        conn.cursor().execute(f"DROP TABLE IF EXISTS {', '.join(TABLES)}")
    if dialect == "postgres":
        return Target("postgres", url, url, "America/St_Johns", connect)
    return Target("mysql", url, url, "+00:00", connect)


# -- outcomes per dialect in the summary, so a skipped dialect is visible ----------------

_dialect_of: dict[str, str] = {}
_outcomes: dict[str, Counter[str]] = defaultdict(Counter)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "target" in callspec.params:
            _dialect_of[item.nodeid] = str(callspec.params["target"])


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = _dialect_of.get(report.nodeid)
    if name is not None and (report.when == "call" or
                             (report.when == "setup" and not report.passed)):
        _outcomes[name][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _outcomes:
        terminalreporter.section("interop with @ai-sdk-tools/memory, per dialect")
        for name in sorted(_outcomes):
            c = _outcomes[name]
            terminalreporter.write_line(f"{name:>8}: {c['passed']} passed, "
                                        f"{c['failed']} failed, {c['skipped']} skipped")
