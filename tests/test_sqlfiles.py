"""The SQL files: every dialect names the same statements, and they load."""

from __future__ import annotations

import pytest

from memstore import sqlfiles

DIALECTS = sorted(p.name for p in sqlfiles.sql_dir().iterdir() if p.is_dir())


def test_every_dialect_has_the_same_query_names() -> None:
    names = {d: set(sqlfiles.load(d, sqlfiles.DEFAULT_TABLES, file="queries")) for d in DIALECTS}
    reference = names["sqlite"]
    for dialect, have in names.items():
        assert have == reference, (dialect, have ^ reference)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_schema_file_creates_the_three_tables(dialect: str) -> None:
    text = sqlfiles.schema_text(dialect)
    for table in ("working_memory", "conversation_messages", "chat_sessions"):
        assert f"CREATE TABLE IF NOT EXISTS {table}" in text


def test_parse_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="twice"):
        sqlfiles.parse("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")


def test_custom_names_are_substituted_as_whole_words() -> None:
    tables = sqlfiles.resolve_tables({"messages": "msgs"})
    sql = sqlfiles.load("sqlite", tables, file="schema")
    assert "CREATE TABLE IF NOT EXISTS msgs" in sql["create_messages"]
    assert "idx_msgs_messages_chat ON msgs" in sql["create_messages_chat_index"]
    # other tables keep their names
    assert "working_memory (" in sql["create_working_memory"]
