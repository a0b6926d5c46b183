"""A 100,000-message chat read whole with get_messages(limit=None): every message, in
(timestamp, id) order, through the keyset pages (SQLite and PostgreSQL, both APIs' code
paths are the same plan; the Hypothesis machine covers the async one on short chats)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from memstore.adapters.sqlbase import MESSAGE_PAGE
from tests.backends import BACKENDS
from tests.checks import query

N = 100_000
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


@pytest.mark.parametrize("name", ["sqlite", "postgres"])
def test_a_100k_message_chat_reads_whole_and_in_order(name: str) -> None:
    mem: Any = BACKENDS[name].open(None)
    try:
        # Equal timestamps in runs of 7 (ties broken by id), and a few messages of another
        # chat in between, so a page boundary falls inside a tie and other rows interleave.
        for start in range(0, N, 10_000):
            mem.save_messages("long", [
                {"role": "user", "content": f"m{i}",
                 "timestamp": T0 + timedelta(milliseconds=i // 7)}
                for i in range(start, start + 10_000)])
            mem.save_message("other", "user", f"o{start}")
        got = mem.get_messages("long", limit=None)
        assert len(got) == N
        assert [m.content for m in got] == [f"m{i}" for i in range(N)]
        keys = [(m.timestamp, m.id) for m in got]
        assert keys == sorted(keys)
        rows = query(mem, "SELECT COUNT(*) FROM conversation_messages WHERE chat_id = 'long'")
        assert rows[0][0] == N
        # a limit past one page, and scrollback from the middle
        last = mem.get_messages("long", limit=MESSAGE_PAGE * 3 + 5)
        assert [m.content for m in last] == [f"m{i}" for i in range(N - MESSAGE_PAGE * 3 - 5, N)]
        anchor = got[50_000]
        before = mem.get_messages("long", limit=2_500, before_id=anchor.id)
        assert [m.content for m in before] == [f"m{i}" for i in range(47_500, 50_000)]
    finally:
        mem.close()
