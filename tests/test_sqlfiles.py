"""The SQL files: every dialect names the same statements, and they load."""

from __future__ import annotations

import pytest

from memstore import sqlfiles

DIALECTS = sorted(p.name for p in sqlfiles.sql_dir().iterdir() if p.is_dir())


# A dialect that can do a whole operation in one statement names that statement after the
# operation instead of defining its steps (SQLite, the reference, runs the steps in order).
COMPOSITES = {
    "save_messages": {"insert_message", "touch_chat_for_messages"},
    "delete_chat": {"delete_chat_messages", "delete_chat_row", "delete_working_memory"},
    "delete_user": {"uncount_user_messages_elsewhere", "delete_user_messages",
                    "delete_user_working_memory", "delete_user_chats"},
}


def steps(names: set[str]) -> set[str]:
    """The names with every composite statement replaced by the steps it stands for."""
    out = set(names)
    for composite, parts in COMPOSITES.items():
        if composite in out:
            assert not out & parts, f"{composite} and its steps are both defined"
            out = (out - {composite}) | parts
    return out


def test_every_dialect_has_the_same_query_names() -> None:
    names = {d: set(sqlfiles.load(d, sqlfiles.DEFAULT_TABLES, file="queries")) for d in DIALECTS}
    reference = steps(names["sqlite"])
    for dialect, have in names.items():
        assert steps(have) == reference, (dialect, steps(have) ^ reference)


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
