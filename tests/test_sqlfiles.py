"""The SQL files: every dialect names the same statements, and they load."""

from __future__ import annotations

import re

import pytest

from memstore import ValidationError, sqlfiles

DIALECTS = sorted(p.name for p in sqlfiles.sql_dir().iterdir() if p.is_dir())


# A dialect that can do a whole operation in one statement names that statement after the
# operation instead of defining its steps (SQLite, the reference, runs the steps in order).
COMPOSITES = {
    "save_messages": {"insert_message", "touch_chat_for_messages"},
    "save_message": {"insert_message", "touch_chat_for_messages"},  # one message
    "delete_chat": {"delete_chat_messages", "delete_chat_row", "delete_working_memory",
                    "delete_chat_status"},
    "delete_user": {"uncount_user_messages_elsewhere", "delete_user_status",
                    "delete_user_messages", "delete_user_working_memory",
                    "delete_user_chats"},
}


# One-statement forms a dialect may have next to the steps, which other operations use too
# (PostgreSQL's clear_messages; replace_messages and import run the steps with inserts).
SHORTCUTS = {"clear_messages": {"clear_chat_messages", "reset_message_count",
                                "clear_chat_status"}}


def steps(names: set[str]) -> set[str]:
    """The names with every composite statement replaced by the steps it stands for."""
    out = set(names)
    for shortcut, parts in SHORTCUTS.items():
        if shortcut in out:
            assert parts <= out, f"{shortcut} needs its steps too: {parts - out}"
            out.discard(shortcut)
    present = [c for c in COMPOSITES if c in out]
    for composite in present:
        assert not names & COMPOSITES[composite], f"{composite} and its steps are both defined"
    for composite in present:
        out = (out - {composite}) | COMPOSITES[composite]
    return out


# Statements of one engine's index that the others have no counterpart for: SQLite's FTS5
# trigram candidates (the others' candidates are the search_scan_* statements every
# dialect has; SqlDialect.fts_trigram says which a dialect uses).
ENGINE_ONLY = {"sqlite": {"search_match_of_chat", "search_match_of_user"}}


def test_every_dialect_has_the_same_query_names() -> None:
    names = {d: set(sqlfiles.load(d, sqlfiles.DEFAULT_TABLES, file="queries"))
             - ENGINE_ONLY.get(d, set()) for d in DIALECTS}
    reference = steps(names["sqlite"])
    for dialect, have in names.items():
        assert steps(have) == reference, (dialect, steps(have) ^ reference)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_schema_file_creates_the_four_tables(dialect: str) -> None:
    text = sqlfiles.schema_text(dialect)
    for table in ("working_memory", "conversation_messages", "chat_sessions",
                  "memstore_message_status"):
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


# -- custom table names: derived index names, reserved words, dialect names -----------

def long_names(tag: str) -> dict[str, str]:
    """Three 63-character names; every set shares the same first 58 characters."""
    stem = ("memory_for_agents_" * 4)[:58]
    return {"working_memory": f"{stem}_w{tag}", "messages": f"{stem}_m{tag}",
            "chats": f"{stem}_c{tag}"}


def created_indexes(tables: dict[str, str], dialect: str) -> list[str]:
    """The index names the schema statements of ``dialect`` create, in order."""
    text = "\n".join(sqlfiles.load(dialect, sqlfiles.resolve_tables(tables),
                                   file="schema").values())
    return re.findall(r"(?:CREATE INDEX IF NOT EXISTS|^\s*INDEX) (\w+)", text, re.MULTILINE)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_index_names_of_63_character_tables_fit_and_differ(dialect: str) -> None:
    first = created_indexes(long_names("001"), dialect)
    second = created_indexes(long_names("002"), dialect)
    assert all(len(t) == 63 for t in long_names("001").values())
    # the TS package's four, memstore's idx_messages_user, and recall's four (two on
    # memstore_search, two on memstore_vectors, whose names derive from the messages
    # table's)
    assert len(first) == 9 and len(second) == 9
    assert all(len(name) <= 63 for name in first + second), first + second
    # distinct as PostgreSQL and MySQL compare them (case-insensitively), across both sets
    assert len({n.lower() for n in first + second}) == 18, first + second


def test_index_names_are_deterministic_and_short_ones_unchanged() -> None:
    name = "t" * 63
    assert sqlfiles.index_name(name, "idx_messages_chat") == sqlfiles.index_name(
        name, "idx_messages_chat")
    # same table in another case: same index (unquoted names are case-insensitive)
    assert sqlfiles.index_name(name.upper(), "idx_chats_user").lower() == \
        sqlfiles.index_name(name, "idx_chats_user")
    assert sqlfiles.index_name("msgs", "idx_messages_chat_order") == \
        "idx_msgs_messages_chat_order"
    # the longest name that still fits keeps the plain form
    fits = "m" * (63 - len("idx__messages_chat_order"))
    assert sqlfiles.index_name(fits, "idx_messages_chat_order") == \
        f"idx_{fits}_messages_chat_order"
    hashed = sqlfiles.index_name(fits + "m", "idx_messages_chat_order")
    assert len(hashed) == 63 and re.fullmatch(r"idx_m+_[0-9a-f]{8}_messages_chat_order", hashed)


@pytest.mark.parametrize("word", ["order", "ORDER", "User", "group", "select", "table",
                                  "index", "key", "values", "limit", "offset", "default",
                                  "check", "column", "primary", "references", "desc", "all",
                                  "null", "rank", "transaction"])
def test_reserved_words_are_refused_as_table_names(word: str) -> None:
    with pytest.raises(ValidationError, match="reserved word") as info:
        sqlfiles.resolve_tables({"messages": word})
    assert info.value.field == "tables.messages"


def test_plain_names_stay_accepted() -> None:
    tables = {"working_memory": "wm", "messages": "msgs", "chats": "chats"}
    # the side tables' names follow the messages table's unless given
    side = {"search": "msgs_search", "search_fts": "msgs_search_fts",
            "vectors": "msgs_vectors", "tokens": "msgs_tokens"}
    assert sqlfiles.resolve_tables(tables) == {**tables, "status": "msgs_status", **side}
    assert sqlfiles.resolve_tables({**tables, "status": "st"}) == {**tables, "status": "st",
                                                                   **side}
    assert sqlfiles.resolve_tables(None)["status"] == "memstore_message_status"
    assert sqlfiles.resolve_tables({"chats": "c"})["status"] == "memstore_message_status"
    assert sqlfiles.resolve_tables({"messages": "orders", "chats": "user_chats"})[
        "messages"] == "orders"


def test_names_equal_ignoring_case_or_equal_to_an_index_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        sqlfiles.resolve_tables({"messages": "Msgs", "chats": "msgs"})
    assert info.value.field == "tables"
    with pytest.raises(ValidationError) as info:
        sqlfiles.resolve_tables({"chats": "WORKING_MEMORY"})
    assert info.value.field == "tables"
    with pytest.raises(ValidationError, match="index") as info:
        sqlfiles.resolve_tables({"chats": "idx_messages_chat"})
    assert info.value.field == "tables.chats"


def test_only_known_dialect_names_become_paths() -> None:
    assert sorted(sqlfiles.DIALECTS) == DIALECTS
    for bad in ("../sql/sqlite", "sqlite/../sqlite", "/etc", ""):
        with pytest.raises(ValueError, match="unknown dialect"):
            sqlfiles.schema_text(bad)
        with pytest.raises(ValueError, match="unknown dialect"):
            sqlfiles.load(bad, sqlfiles.DEFAULT_TABLES)


def test_status_table_names_fit_differ_and_are_renamed_in_every_statement() -> None:
    first = sqlfiles.resolve_tables(long_names("001"))["status"]
    second = sqlfiles.resolve_tables(long_names("002"))["status"]
    assert len(first) <= 63 and len(second) <= 63 and first.lower() != second.lower()
    assert re.fullmatch(r"\w+_[0-9a-f]{8}_status", first), first
    tables = sqlfiles.resolve_tables({"messages": "msgs"})
    for dialect in DIALECTS:
        for file in ("schema", "queries", "catalog"):
            text = "\n".join(sqlfiles.load(dialect, tables, file=file).values())
            assert "memstore_message_status" not in text, (dialect, file)
        schema = sqlfiles.load(dialect, tables, file="schema")
        assert "CREATE TABLE IF NOT EXISTS msgs_status" in schema["create_status"]
    with pytest.raises(ValidationError) as info:
        sqlfiles.resolve_tables({"messages": "m", "chats": "m_status"})
    assert info.value.field == "tables"
