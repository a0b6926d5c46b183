"""Custom table names at the 63-character limit, on real databases.

The index names memstore derives from a custom table name used to be
``idx_<table>_<suffix>``: from 41 characters MySQL refused them (1059, identifier too
long), and from 45 PostgreSQL truncated two of them to the same name, so one index was
never created. Every derived name now fits in 63 characters and stays distinct.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path
from typing import NamedTuple

import pytest

import memstore
from memstore import sqlfiles

# Three names of 63 characters that share their first 59: the kept start of each index
# name is the same, so only the hash keeps the index names apart.
_STEM = ("memstore_hardening_a_very_long_custom_table_name_" * 2)[:59]
LONG_TABLES = {"working_memory": f"{_STEM}_wm0", "messages": f"{_STEM}_msg",
               "chats": f"{_STEM}_cht"}
T = datetime(2024, 5, 1, 12, 0, 0, 125000, tzinfo=timezone.utc)


class Target(NamedTuple):
    url: str
    indexes: Callable[[], set[str]]  # the index names on the long-named tables


def _sqlite(tmp_path: Path) -> Iterator[Target]:
    import sqlite3

    path = tmp_path / "long.db"

    def indexes() -> set[str]:
        with closing(sqlite3.connect(path)) as conn:
            return {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name IN (?, ?, ?) "
                "AND sql IS NOT NULL",  # not the primary keys' automatic indexes
                tuple(LONG_TABLES.values()))}

    yield Target(f"sqlite:///{path}", indexes)


def _postgres(tmp_path: Path) -> Iterator[Target]:
    from psycopg import sql

    from tests import backend_postgres as pg

    conn = pg.shared_connection()  # this run's schema, dropped at exit

    def indexes() -> set[str]:
        cur = conn.execute(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "JOIN pg_class t ON t.oid = i.indrelid WHERE NOT i.indisprimary "
            "AND t.relnamespace = %s::regnamespace AND t.relname = ANY(%s)",
            (pg.SCHEMA, list(LONG_TABLES.values())))
        return {r[0] for r in cur.fetchall()}

    try:
        yield Target(pg.schema_url(), indexes)
    finally:
        for name in LONG_TABLES.values():
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))


def _mysql(tmp_path: Path) -> Iterator[Target]:
    from tests import backend_mysql as my

    my.admin()  # this run's database, dropped at exit

    def indexes() -> set[str]:
        with closing(my.raw_connect()) as conn:
            cur = conn.cursor()
            cur.execute("SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS "
                        "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME IN (%s, %s, %s) "
                        "AND INDEX_NAME <> 'PRIMARY'", tuple(LONG_TABLES.values()))
            return {r[0] for r in cur.fetchall()}

    try:
        yield Target(my.database_url(), indexes)
    finally:
        with closing(my.raw_connect()) as conn:
            for name in LONG_TABLES.values():  # constants of this test, not input
                conn.cursor().execute(f"DROP TABLE IF EXISTS {name}")


TARGETS = {"sqlite": _sqlite, "postgres": _postgres, "mysql": _mysql}


@pytest.fixture(params=sorted(TARGETS))
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    yield from TARGETS[request.param](tmp_path)


def test_63_character_table_names_get_every_index(target: Target) -> None:
    expected = set(sqlfiles.index_names(sqlfiles.resolve_tables(LONG_TABLES)))
    assert len(expected) == 4 and all(len(name) <= 63 for name in expected)
    with memstore.connect(target.url, tables=LONG_TABLES) as mem:
        assert mem.doctor() != []  # nothing there yet
        mem.init_schema()
        mem.init_schema()  # idempotent: finds the indexes by the same names
        assert mem.doctor() == []
        # PostgreSQL folds unquoted names to lower case; the names are lower case already.
        assert target.indexes() == expected
        saved = mem.save_messages("c1", [{"role": "user", "content": "hi", "timestamp": T},
                                         {"role": "assistant", "content": {"a": [1]}}],
                                  user_id="u1")
        assert [m.content for m in mem.get_messages("c1")] == ["hi", '{"a": [1]}']
        assert [m.id for m in mem.get_messages("c1")] == [m.id for m in saved]
        mem.update_working_memory(scope="chat", chat_id="c1", content="# notes")
        wm = mem.get_working_memory(scope="chat", chat_id="c1")
        assert wm is not None and wm.content == "# notes"
        mem.update_chat_title("c1", "Long names")
        chats = mem.get_chats(user_id="u1", search="long")
        assert [(c.chat_id, c.title, c.message_count) for c in chats] == [
            ("c1", "Long names", 2)]
        assert mem.delete_chat("c1")
        assert mem.get_messages("c1") == [] and mem.get_chat("c1") is None
