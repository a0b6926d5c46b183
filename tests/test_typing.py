"""A user's type checker catches the mistakes the API's types describe: a wrong scope
or role, None content, a misspelt key in a message item (mypy --strict on a script)."""

from __future__ import annotations

from pathlib import Path

from mypy import api

SCRIPT = '''
import memstore
mem = memstore.connect("memory://")
mem.update_working_memory(scope="global", content="x")
mem.save_message("c", role="tool", content="x")
mem.save_message("c", role="user", content=None)
mem.save_messages("c", [{"role": "user", "contnt": "x"}])
mem.save_messages("c", [{"role": "user", "content": {"a": 1}}])  # fine
'''


def test_mypy_catches_the_typical_mistakes(tmp_path: Path) -> None:
    script = tmp_path / "user_script.py"
    script.write_text(SCRIPT)
    out, _, status = api.run(["--strict", "--no-incremental", str(script)])
    assert status == 1, out
    lines = [line for line in out.splitlines() if ": error:" in line]
    assert [line.split(":")[1] for line in lines] == ["4", "5", "6", "7", "7"], out
    assert '"global"' in lines[0] or "'global'" in lines[0]
    assert "tool" in lines[1] and "None" in lines[2] and "contnt" in out


TARGETS = '''
import sqlite3
from typing import Any
import libsql_client
import psycopg
import psycopg_pool
import pymysql
import memstore

async def targets(pg: psycopg.Connection[Any], apg: psycopg.AsyncConnection[Any],
                  pool: psycopg_pool.ConnectionPool[Any],
                  apool: psycopg_pool.AsyncConnectionPool[Any],
                  client: libsql_client.ClientSync, aclient: libsql_client.Client) -> None:
    memstore.connect(123)
    memstore.connect(["sqlite:///a.db"])
    memstore.connect()
    memstore.connect("sqlite:///a.db")
    memstore.connect(sqlite3.connect("a.db"))
    memstore.connect(pymysql.connect(host="db", charset="utf8mb4"))
    memstore.connect(pg)
    memstore.connect(pool)
    memstore.connect(client)
    await memstore.connect_async(apg)
    await memstore.connect_async(apool)
    await memstore.connect_async(aclient)
    await memstore.connect_async(3.5)
'''


def test_mypy_catches_a_target_that_cannot_be_one(tmp_path: Path) -> None:
    """connect()'s target is typed: a URL, a DB-API connection, a libsql-client client
    or a psycopg pool pass; a number or a list is an error before anything runs."""
    script = tmp_path / "targets.py"
    script.write_text(TARGETS)
    out, _, status = api.run(["--strict", "--no-incremental", "--ignore-missing-imports",
                              str(script)])
    assert status == 1, out
    lines = [line.split(":")[1] for line in out.splitlines() if ": error:" in line]
    assert lines == ["14", "15", "26"], out
