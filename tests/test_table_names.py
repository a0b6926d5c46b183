"""tables= names that the bundled SQL also uses for something else (issue 26, finding 6):
an alias of another table, a CTE, a subquery alias or a pseudo-table such as the upsert's
``excluded``. Such a name is refused before any SQL, naming the key; a name the SQL only
uses as an alias of that same table stays accepted and works on every backend."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import memstore
from memstore import sqlfiles, transfer

# (key, name) pairs the adversarial pass and a grep of sql/ found colliding.
COLLIDING = [
    ("chats", "excluded"),  # SQLite: message_count 0 instead of 3, then -3
    ("working_memory", "excluded"),
    ("chats", "own"),  # PostgreSQL delete_user's CTE
    ("messages", "messages"),  # PostgreSQL clear_messages/delete_chat's CTE
    ("messages", "own"),
    ("working_memory", "memory"),  # PostgreSQL delete_chat's CTE
    ("messages", "status"),
    ("chats", "touched"),
    ("messages", "inserted"),
    ("messages", "batch"),
    ("messages", "j"),  # MySQL JSON_TABLE(...) AS j
    ("messages", "m"),  # MySQL: the alias of a subquery too
    ("chats", "s"),  # the alias of the status table
    ("chats", "m"),  # the alias of the messages table
    ("messages", "c"),  # the alias of the chats table
    ("chats", "json_each"),
    ("chats", "Excluded"),  # unquoted names are case-insensitive
]


@pytest.mark.parametrize(("key", "name"), COLLIDING, ids=[f"{k}={n}" for k, n in COLLIDING])
def test_a_name_the_sql_uses_for_something_else_is_refused(key: str, name: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect("memory://", tables={key: name})
    assert info.value.field == f"tables.{key}"
    assert "memstore's SQL uses for something else" in info.value.reason


def test_every_alias_cte_and_pseudo_table_of_the_sql_is_found() -> None:
    # The grep of sql/ this test stands for: every name that follows AS, a table in
    # FROM/JOIN/UPDATE, or a ")" closing a subquery, and the pseudo-tables.
    names = set(sqlfiles._range_names())
    assert {"excluded", "own", "messages", "memory", "status", "chat", "touched",
            "uncounted", "inserted", "batch", "b", "j", "n", "m", "c", "s", "chat_page",
            "json_each", "unnest", "information_schema", "sqlite_master",
            "pragma_table_info"} <= names


# -- names that only alias their own table work everywhere -----------------------------

TABLES = {"chats": "c", "status": "s", "messages": "msgs", "working_memory": "wm"}


@pytest.fixture(params=["sqlite", "postgres", "mysql", "turso"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    name = f"memstore_tn_{uuid.uuid4().hex[:10]}"
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'a.db'}"
    elif request.param == "turso":
        pytest.importorskip("libsql_client")
        yield f"file:{tmp_path / 'a.db'}"
    elif request.param == "postgres":
        import psycopg
        from psycopg import sql

        from tests.backend_postgres import server_url, with_options
        with psycopg.connect(server_url(), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        try:
            yield with_options(server_url(), f"-c search_path={name}")
        finally:
            with psycopg.connect(server_url(), autocommit=True) as admin:
                admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
    else:
        from tests.backend_mysql import create_database, database_url, drop_database
        create_database(name)
        try:
            yield database_url(name)
        finally:
            drop_database(name)


def test_names_that_alias_their_own_table_work(url: str) -> None:
    with memstore.connect(url, tables=TABLES) as mem:
        mem.init_schema()
        assert mem.doctor() == []
        mem.save_messages("a", [{"role": "user", "content": str(i)} for i in range(3)],
                          user_id="u1")
        mem.save_message("a", "assistant", "x", user_id="u2")
        mem.save_message("b", "user", "y", user_id="u2")
        mem.update_working_memory(scope="chat", chat_id="a", content="wm")
        mem.update_chat_title("a", "t")
        chat = mem.get_chat("a")
        assert chat is not None and chat.message_count == 4 and chat.title == "t"
        assert len(mem.archive_messages("a", 1)) == 1
        assert mem.count_messages("a", status="active") == 3
        popped = mem.pop_message("a")
        assert popped is not None and popped.content == "x"
        assert mem.get_chat("a").message_count == 3  # type: ignore[union-attr]
        mem.save_message("a", "assistant", "z", user_id="u2")
        mem.delete_user("u2")
        chat = mem.get_chat("a")
        assert chat is not None and chat.message_count == 3
        assert [m.content for m in mem.get_messages("a")] == ["0", "1", "2"]
        records = list(transfer.export_records(mem))
        assert sum(r.get("type") == "message" for r in records) == 3
        assert sum(r.get("type") == "chat" for r in records) == 1
        assert mem.delete_messages("a", [m.id for m in mem.get_messages("a")][:1]) == 1
        assert mem.get_chat("a").message_count == 2  # type: ignore[union-attr]
        mem.replace_messages("a", [{"role": "user", "content": "r"}])
        assert mem.get_chat("a").message_count == 1  # type: ignore[union-attr]
        assert mem.delete_chat("a")
        assert mem.get_working_memory(scope="chat", chat_id="a") is None
