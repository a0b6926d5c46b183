"""Budgeted reads of long chats (several pages) on every backend and both APIs, against
the rule computed here from the whole history; the short-chat cases, errors included, are
in the Hypothesis machine (tests/test_properties.py)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

T0 = datetime(2025, 6, 1, tzinfo=timezone.utc)


def tokens(content: str) -> int:
    return (len(content.encode("utf-8")) + 3) // 4


def expected(history: list[Any], max_tokens: int, limit: int | None) -> list[int]:
    """The newest whole turns that fit (a turn starts at a user message), the newest
    always; ids oldest first."""
    turns: list[list[Any]] = []
    for m in history:
        if m.role == "user" or not turns:
            turns.append([])
        turns[-1].append(m)
    out: list[Any] = []
    total = 0
    for turn in reversed(turns):
        cost = sum(tokens(m.content) for m in turn)
        if out and (total + cost > max_tokens or (limit is not None
                                                  and len(out) + len(turn) > limit)):
            break
        out, total = turn + out, total + cost
    return [m.id for m in out]


def test_long_chats_read_in_pages_keep_whole_turns(mem: Any) -> None:
    rnd = random.Random(5)
    items = []
    for k in range(1400):  # more than the 50 + 200 + 1,000 rows of the first pages
        role = "user" if rnd.random() < 0.3 else rnd.choice(["assistant", "system"])
        items.append({"role": role, "content": "x" * rnd.randrange(1, 200),
                      "timestamp": T0 + timedelta(seconds=k // 3)})  # equal instants too
    mem.save_messages("long", items, user_id="u1")
    mem.save_messages("long", [{"role": "assistant", "content": "theirs",
                                "timestamp": T0}], user_id="u2")
    history = mem.get_messages("long", limit=None)
    mine = mem.get_messages("long", user_id="u1", limit=None)
    for budget, limit in [(1, None), (300, None), (5_000, None), (20_000, None),
                          (60_000, None), (10**9, None), (10**9, 700), (5_000, 30)]:
        got = mem.get_messages("long", max_tokens=budget, limit=limit)
        assert [m.id for m in got] == expected(history, budget, limit), (budget, limit)
        got = mem.get_messages("long", user_id="u1", max_tokens=budget, limit=limit)
        assert [m.id for m in got] == expected(mine, budget, limit), (budget, limit)
    # counted once: a second read gives the same answer from the stored counts
    again = mem.get_messages("long", max_tokens=20_000, limit=None)
    assert [m.id for m in again] == expected(history, 20_000, None)


def test_a_chat_without_a_user_message_is_one_turn(mem: Any) -> None:
    mem.save_messages("tools", [{"role": "assistant", "content": "a" * 400},
                                {"role": "system", "content": "b" * 400}])
    assert len(mem.get_messages("tools", max_tokens=1, limit=None)) == 2
    assert mem.get_messages("nothing-here", max_tokens=10) == []


@pytest.mark.parametrize("bad", [0, -1, 2**31, True, 1.5, "10"])
def test_max_tokens_is_checked(mem: Any, bad: Any) -> None:
    import memstore

    with pytest.raises(memstore.ValidationError) as info:
        mem.get_messages("c", max_tokens=bad)
    assert info.value.field == "max_tokens"
    with pytest.raises(memstore.ValidationError) as info:
        mem.get_messages("c", max_tokens=10, before_id=1)
    assert info.value.field == "before_id"
