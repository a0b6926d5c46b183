"""Every bundled statement is keyed by chat_id, user_id or a primary key, so a table can be
sharded by chat_id (README, "Distributed engines"); the few that read across all chats are
named here, with the reason, and are the ones a sharded deployment sends to every shard."""

from __future__ import annotations

import re

import pytest

from memstore import sqlfiles

DIALECTS = sorted(p.name for p in sqlfiles.sql_dir().iterdir() if p.is_dir())
# Statements that list across every chat by design: an admin's "all chats" listing and
# title search without a user, the ids of every chat, a connectivity probe, and an
# export's keyset pages of every chat and of every user's working memory, and recall's
# maintenance over the whole table (index_messages / `memstore index`: the pending rows of
# every chat, and side rows of deleted messages).
CROSS_CHAT = {"list_chats", "scan_chats", "scan_chats_after", "chat_ids", "ping",
              "export_chat_page", "user_working_memory_page", "search_pending_all",
              "vector_pending_all", "search_orphans", "vector_orphans", "search_lag",
              "search_orphan_count"}
KEYS = re.compile(r"\b(chat_id|user_id|id|message_id)\s*(=|IN\b|<|>)|= ANY\(", re.IGNORECASE)
# An INSERT is keyed by the row it writes: its column list names the shard key.
INSERT = re.compile(r"INSERT (?:OR IGNORE )?INTO \w+ \(([^)]*)\)", re.IGNORECASE)


def keyed(sql: str) -> bool:
    inserts = INSERT.findall(sql)
    if inserts and all(re.search(r"\b(chat_id|id)\b", cols) for cols in inserts):
        return True
    return bool(KEYS.search(sql))


def _code(statement: str) -> str:
    return "\n".join(line for line in statement.splitlines()
                     if not line.strip().startswith("--"))


@pytest.mark.parametrize("dialect", DIALECTS)
def test_every_statement_is_keyed_by_a_shard_key_or_listed(dialect: str) -> None:
    queries = sqlfiles.load(dialect, sqlfiles.DEFAULT_TABLES, file="queries")
    unkeyed = sorted(name for name, sql in queries.items()
                     if name not in CROSS_CHAT and not keyed(_code(sql)))
    assert unkeyed == [], f"{dialect}: statements with no chat_id/user_id/id key: {unkeyed}"
    assert set(queries) | {"scan_chats_after"} >= CROSS_CHAT
