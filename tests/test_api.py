"""The public API on every backend: the documented behaviour, example by example."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import memstore
from memstore import Memory
from tests.backends import Backend

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def test_working_memory_round_trip_and_upsert(mem: Memory) -> None:
    assert mem.get_working_memory(scope="chat", chat_id="c1") is None
    mem.update_working_memory(scope="chat", chat_id="c1", user_id="u1", content="# v1")
    mem.update_working_memory(scope="chat", chat_id="c1", user_id="u1", content="# v2 ✓ 𝄞")
    wm = mem.get_working_memory(scope="chat", chat_id="c1", user_id="u1")
    assert wm is not None
    assert (wm.scope, wm.chat_id, wm.user_id, wm.content) == ("chat", "c1", "u1", "# v2 ✓ 𝄞")
    assert wm.updated_at.tzinfo is timezone.utc


def test_user_scope_keeps_the_creating_chat(mem: Memory) -> None:
    mem.update_working_memory(scope="user", user_id="u1", chat_id="c1", content="a")
    mem.update_working_memory(scope="user", user_id="u1", chat_id="c2", content="b")
    wm = mem.get_working_memory(scope="user", user_id="u1")
    assert wm is not None and (wm.chat_id, wm.content) == ("c1", "b")
    # the user scope is keyed by user only; the chat scope by chat only
    assert mem.get_working_memory(scope="user", user_id="u1", chat_id="zz") == wm
    assert mem.get_working_memory(scope="chat", chat_id="c1") is None


def test_last_n_oldest_first_with_id_tiebreak(mem: Memory) -> None:
    mem.save_messages("c", [{"role": "user", "content": str(i), "timestamp": at(i // 3)}
                            for i in range(9)])
    got = mem.get_messages("c", limit=4)
    assert [m.content for m in got] == ["5", "6", "7", "8"]
    assert [m.id for m in got] == sorted(m.id for m in got)
    assert [m.content for m in mem.get_messages("c", limit=100)] == [str(i) for i in range(9)]


def test_messages_out_of_order_timestamps_sort_by_time(mem: Memory) -> None:
    mem.save_message("c", "user", "late", timestamp=at(10))
    mem.save_message("c", "assistant", "early", timestamp=at(1))
    assert [m.content for m in mem.get_messages("c")] == ["early", "late"]


def test_user_filter_keeps_null_user_messages(mem: Memory) -> None:
    mem.save_message("c", "user", "mine", user_id="u1", timestamp=at(1))
    mem.save_message("c", "user", "theirs", user_id="u2", timestamp=at(2))
    mem.save_message("c", "system", "nobody's", timestamp=at(3))
    assert [m.content for m in mem.get_messages("c", user_id="u1")] == ["mine", "nobody's"]
    assert len(mem.get_messages("c")) == 3


def test_content_is_returned_exactly_as_stored(mem: Memory) -> None:
    values = ["42", "true", "null", '{"a": 1}', "", "  spaced  ", "line\nbreak\r\n", "'\";--%_\\"]
    for v in values:
        mem.save_message("c", "user", v)
    got = [m.content for m in mem.get_messages("c")]
    assert got == values
    assert all(type(c) is str for c in got)


def test_dict_content_is_stored_as_json_text(mem: Memory) -> None:
    msg = mem.save_message("c", "assistant", {"parts": [{"type": "text", "text": "héllo"}]})
    assert msg.content == '{"parts": [{"type": "text", "text": "héllo"}]}'
    assert mem.get_messages("c")[0].content == msg.content


def test_saving_messages_keeps_the_chat_row_true(mem: Memory) -> None:
    mem.save_messages("c", [{"role": "user", "content": "a", "timestamp": at(5)},
                            {"role": "assistant", "content": "b", "timestamp": at(7)}],
                      user_id="u1")
    chat = mem.get_chat("c")
    assert chat is not None
    assert (chat.user_id, chat.title, chat.message_count) == ("u1", None, 2)
    assert (chat.created_at, chat.updated_at) == (at(5), at(7))
    mem.save_message("c", "user", "older", timestamp=at(1))  # never moves updated_at back
    chat = mem.get_chat("c")
    assert chat is not None and (chat.message_count, chat.updated_at) == (3, at(7))


def test_save_message_returns_the_stored_message(mem: Memory) -> None:
    m1 = mem.save_message("c", "user", "hi", user_id="u", timestamp=at(1))
    m2 = mem.save_message("c", "user", "again", user_id="u", timestamp=at(1))
    assert m2.id > m1.id
    assert mem.get_messages("c") == [m1, m2]


def test_save_chat_none_keeps_stored_values(mem: Memory) -> None:
    mem.save_chat("c", user_id="u1", title="Trip", created_at=at(1), updated_at=at(2),
                  message_count=4)
    mem.save_chat("c", updated_at=at(3), created_at=at(9))
    chat = mem.get_chat("c")
    assert chat == memstore.Chat("c", "u1", "Trip", at(1), at(3), 4)
    mem.save_chat("c", user_id="u2", title="", message_count=0, updated_at=at(4))
    assert mem.get_chat("c") == memstore.Chat("c", "u2", "", at(1), at(4), 0)


def test_get_chats_order_user_and_limit(mem: Memory) -> None:
    mem.save_chat("b", user_id="u1", title="B", updated_at=at(2), created_at=at(0))
    mem.save_chat("a", user_id="u1", title="A", updated_at=at(2), created_at=at(0))
    mem.save_chat("c", user_id="u1", title="C", updated_at=at(3), created_at=at(0))
    mem.save_chat("d", user_id="u2", title="D", updated_at=at(9), created_at=at(0))
    assert [c.chat_id for c in mem.get_chats(user_id="u1")] == ["c", "a", "b"]
    assert [c.chat_id for c in mem.get_chats(user_id="u1", limit=2)] == ["c", "a"]
    assert [c.chat_id for c in mem.get_chats()] == ["d", "c", "a", "b"]


def test_search_is_case_insensitive_and_literal(mem: Memory) -> None:
    titles = {"1": "Trip to ROME", "2": "100% done", "3": "1000 done", "4": "snake_case",
              "5": "snakeXcase", "6": "Straße", "7": "ÉCOLE", "8": None}
    for i, (cid, t) in enumerate(titles.items()):
        mem.save_chat(cid, title=t, updated_at=at(i))
    def ids(s: str) -> list[str]:
        return sorted(c.chat_id for c in mem.get_chats(search=s))
    assert ids("rome") == ["1"]
    assert ids("0%") == ["2"]
    assert ids("e_c") == ["4"]
    assert ids("école") == ["7"]
    assert ids("STRASSE") == ["6"]  # Unicode case folding
    assert ids("") == [str(i) for i in range(1, 9)]  # empty search: no filter


def test_update_chat_title_creates_missing_chat(mem: Memory) -> None:
    mem.update_chat_title("new", "Hello")
    chat = mem.get_chat("new")
    assert chat is not None and (chat.user_id, chat.title, chat.message_count) == (None, "Hello", 0)
    mem.save_message("new", "user", "x", user_id="u9")
    mem.update_chat_title("new", "Renamed")
    chat = mem.get_chat("new")
    assert chat is not None
    # the save with a user claimed the ownerless row; a rename keeps the owner
    assert (chat.user_id, chat.title, chat.message_count) == ("u9", "Renamed", 1)


def test_a_save_naming_a_user_claims_an_ownerless_chat(mem: Memory) -> None:
    # issue 30: a title before the first turn made a chat row without an owner, and the
    # saves with a user_id never claimed it, so get_chats(user_id=...) missed the chat.
    mem.update_chat_title("t", "Trip")
    assert mem.get_chat("t").user_id is None  # type: ignore[union-attr]
    mem.save_messages("t", [{"role": "user", "content": "anon"}])  # no user: still none
    assert mem.get_chat("t").user_id is None  # type: ignore[union-attr]
    mem.save_messages("t", [{"role": "user", "content": "a"}], user_id="u1")
    chat = mem.get_chat("t")
    assert chat is not None and (chat.user_id, chat.title, chat.message_count) \
        == ("u1", "Trip", 2)
    assert [c.chat_id for c in mem.get_chats(user_id="u1")] == ["t"]
    # an owner that is set never changes: another user's save, one message or a batch
    mem.save_message("t", "user", "b", user_id="u2")
    mem.save_messages("t", [{"role": "user", "content": "c"}] * 2, user_id="u2")
    mem.replace_messages("t", [{"role": "user", "content": "d"}], user_id="u2")
    assert mem.get_chat("t").user_id == "u1"  # type: ignore[union-attr]
    # save_message (one message) claims too
    mem.save_chat("s", title="Solo")
    mem.save_message("s", "user", "hi", user_id="u3")
    assert mem.get_chat("s").user_id == "u3"  # type: ignore[union-attr]


def test_delete_chat_removes_messages_and_chat_memory(mem: Memory) -> None:
    mem.save_message("c", "user", "x", user_id="u")
    mem.save_message("other", "user", "y", user_id="u")
    mem.update_working_memory(scope="chat", chat_id="c", content="chat facts")
    mem.update_working_memory(scope="user", user_id="u", chat_id="c", content="user facts")
    assert mem.delete_chat("c") is True
    assert mem.get_chat("c") is None and mem.get_messages("c") == []
    assert mem.get_working_memory(scope="chat", chat_id="c") is None
    assert mem.get_working_memory(scope="user", user_id="u") is not None
    assert len(mem.get_messages("other")) == 1
    assert mem.delete_chat("c") is False


def test_delete_user_removes_everything_of_the_user(mem: Memory) -> None:
    mem.save_message("mine", "user", "a", user_id="u1")
    mem.save_message("shared", "user", "b", user_id="u2")
    mem.save_message("shared", "user", "c", user_id="u1")
    mem.update_working_memory(scope="user", user_id="u1", content="x")
    mem.update_working_memory(scope="chat", chat_id="mine", content="y")
    mem.update_working_memory(scope="user", user_id="u2", content="z")
    mem.delete_user("u1")
    assert mem.get_chat("mine") is None and mem.get_messages("mine") == []
    assert [m.content for m in mem.get_messages("shared")] == ["b"]
    shared = mem.get_chat("shared")
    assert shared is not None and shared.message_count == 1
    assert mem.get_working_memory(scope="user", user_id="u1") is None
    assert mem.get_working_memory(scope="chat", chat_id="mine") is None
    assert mem.get_working_memory(scope="user", user_id="u2") is not None


def test_instants_at_the_edges_of_the_range(mem: Memory) -> None:
    mem.save_message("c", "user", "first", timestamp=memstore.MIN_INSTANT)
    mem.save_message("c", "user", "last", timestamp=memstore.MAX_INSTANT)
    got = mem.get_messages("c")
    assert [m.timestamp for m in got] == [memstore.MIN_INSTANT, memstore.MAX_INSTANT]


def test_non_utc_input_is_the_same_instant(mem: Memory) -> None:
    plus2 = timezone(timedelta(hours=2))
    msg = mem.save_message("c", "user", "x", timestamp=datetime(2024, 5, 1, 14, 0, tzinfo=plus2))
    assert msg.timestamp == T0 and msg.timestamp.tzinfo is timezone.utc
    assert mem.get_messages("c")[0].timestamp == T0


def test_large_content_round_trips(mem: Memory) -> None:
    big = "é" * (memstore.MAX_CONTENT_BYTES // 2)  # exactly the maximum in UTF-8 bytes
    mem.save_message("c", "user", big)
    mem.update_working_memory(scope="user", user_id="u", content=big)
    assert mem.get_messages("c")[0].content == big
    wm = mem.get_working_memory(scope="user", user_id="u")
    assert wm is not None and wm.content == big



def test_max_content_bytes_is_set_at_connect(backend: Backend) -> None:
    """8 MiB by default; connect(..., max_content_bytes=) lowers or raises it (up to what
    a MySQL MEDIUMTEXT holds); the same rule on every backend."""
    mem = backend.open(None)
    try:
        assert memstore.MAX_CONTENT_BYTES == 8 * 1024 * 1024
        mem.save_message("c", "user", "x" * (memstore.MAX_CONTENT_BYTES - 3) + "é")
        with pytest.raises(memstore.ValidationError, match="max_content_bytes") as info:
            mem.save_message("c", "user", "x" * (memstore.MAX_CONTENT_BYTES + 1))
        assert info.value.field == "content"
        assert len(mem.get_messages("c")[0].content) == memstore.MAX_CONTENT_BYTES - 2
    finally:
        mem.close()
    for bad in (0, -1, 16 * 1024 * 1024, True, "8"):
        with pytest.raises(memstore.ValidationError) as info:
            memstore.connect("memory://", max_content_bytes=bad)  # type: ignore[arg-type]
        assert info.value.field == "max_content_bytes"
    small = memstore.connect("memory://", max_content_bytes=10)
    small.save_message("c", "user", "0123456789")
    with pytest.raises(memstore.ValidationError) as info:
        small.update_working_memory(scope="user", user_id="u", content="é" * 6)
    assert info.value.field == "content"


def test_title_search_reads_only_as_far_as_its_matches(backend: Backend) -> None:
    """A search for one chat whose first candidate matches reads one keyset page (200
    rows), not every candidate (a client-side cursor received them all first); one that
    matches late reads page after page, in list order."""
    from memstore.adapters.sqlbase import SEARCH_PAGE
    from memstore.plan import Unit, run

    mem = backend.open(None)
    try:
        t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
        for i in range(1000):  # c0999 updated last: the first in list order
            mem.save_chat(f"c{i:04}", title="late one" if i == 0 else f"title {i}",
                          created_at=t0, updated_at=t0 + timedelta(seconds=i))
        units: list[Unit] = []

        def counted(unit: Unit) -> list[Any]:
            units.append(unit)
            return mem.adapter.execute(unit)  # type: ignore[no-any-return]

        # the newest chat (updated last) is the first candidate
        found = run(mem._get_chats(None, "title 999", 1), counted)
        assert [c.chat_id for c in found] == ["c0999"]
        if backend.name != "memory":  # memory:// scans its dict, no statement at all
            assert len(units) == 1
            assert units[0].stmts[0].params["limit"] == SEARCH_PAGE
        units.clear()
        found = run(mem._get_chats(None, "late", 1), counted)  # the oldest: the last page
        assert [c.chat_id for c in found] == ["c0000"]
        if backend.name != "memory":
            assert len(units) == -(-1000 // SEARCH_PAGE)
    finally:
        mem.close()
