"""Every ValidationError case: the exception type, its ``field``, and that nothing was written."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import memstore
from memstore import Memory, ValidationError
from memstore import validate as v

UTC = timezone.utc
OK_TIME = datetime(2024, 1, 1, tzinfo=UTC)
LONG_ID = "x" * 256
TOO_BIG = "a" * (memstore.MAX_CONTENT_BYTES + 1)
TOO_BIG_MULTIBYTE = "é" * (memstore.MAX_CONTENT_BYTES // 2) + "a"  # one byte over
NAN, INF = float("nan"), float("inf")
PLUS_1H, MINUS_1H = timezone(timedelta(hours=1)), timezone(timedelta(hours=-1))

Call = Callable[[Memory], Any]


def deep(levels: int) -> dict[str, Any]:
    """A dict nested ``levels`` deep: {"a": {"a": ... {}}}."""
    top: dict[str, Any] = {}
    inner = top
    for _ in range(levels):
        inner["a"] = {}
        inner = inner["a"]
    return top


CASES: list[tuple[str, Call, str]] = [
    # ids
    ("empty chat_id", lambda m: m.save_message("", "user", "x"), "chat_id"),
    ("256-char chat_id", lambda m: m.save_message(LONG_ID, "user", "x"), "chat_id"),
    ("int chat_id", lambda m: m.save_message(7, "user", "x"), "chat_id"),  # type: ignore[arg-type]
    ("NUL in chat_id", lambda m: m.save_message("a\x00b", "user", "x"), "chat_id"),
    ("empty user_id", lambda m: m.save_message("c", "user", "x", user_id=""), "user_id"),
    ("256-char user_id", lambda m: m.save_chat("c", user_id=LONG_ID), "user_id"),
    ("surrogate user_id", lambda m: m.save_chat("c", user_id="\ud83d"), "user_id"),
    # role / scope
    ("unknown role", lambda m: m.save_message("c", "bot", "x"), "role"),
    ("unknown role in batch", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "a"}, {"role": "tool", "content": "b"}]),
     "messages[1].role"),
    ("unknown scope", lambda m: m.update_working_memory(scope="team", chat_id="c", content="x"),
     "scope"),
    ("chat scope without chat_id",
     lambda m: m.update_working_memory(scope="chat", user_id="u", content="x"), "chat_id"),
    ("user scope without user_id",
     lambda m: m.update_working_memory(scope="user", chat_id="c", content="x"), "user_id"),
    # content
    ("NUL in content", lambda m: m.save_message("c", "user", "a\x00"), "content"),
    ("lone surrogate in content", lambda m: m.save_message("c", "user", "a\udc80"), "content"),
    ("content over the maximum", lambda m: m.save_message("c", "user", TOO_BIG), "content"),
    ("multibyte content one byte over",
     lambda m: m.save_message("c", "user", TOO_BIG_MULTIBYTE), "content"),
    ("working memory over the maximum",
     lambda m: m.update_working_memory(scope="user", user_id="u", content=TOO_BIG), "content"),
    ("NUL in working memory",
     lambda m: m.update_working_memory(scope="user", user_id="u", content="\x00"), "content"),
    ("int content", lambda m: m.save_message("c", "user", 42), "content"),
    ("non-JSON dict content", lambda m: m.save_message("c", "user", {"a": object()}), "content"),
    # json.dumps writes NaN/Infinity by default, which is not JSON (JSON.parse refuses it)
    ("NaN in dict content", lambda m: m.save_message("c", "user", {"a": NAN}), "content"),
    ("Infinity nested in list content",
     lambda m: m.save_message("c", "user", [{"b": [1, INF]}]), "content"),
    ("NaN as a dict key", lambda m: m.save_message("c", "user", {NAN: 1}), "content"),
    ("-Infinity in working memory", lambda m: m.update_working_memory(
        scope="user", user_id="u", content={"x": {"y": -INF}}), "content"),
    # json.dumps recursion past Python's limit (was a raw RecursionError)
    ("content nested 100,000 deep", lambda m: m.save_message("c", "user", deep(100_000)),
     "content"),
    ("working memory nested 100,000 deep", lambda m: m.update_working_memory(
        scope="user", user_id="u", content=deep(100_000)), "content"),
    ("batch content nested 100,000 deep", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "ok"}, {"role": "user", "content": deep(100_000)}]),
     "messages[1].content"),
    ("NaN in batch content", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "ok"}, {"role": "user", "content": [NAN]}]),
     "messages[1].content"),
    ("bad content in batch", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "ok"}, {"role": "user", "content": "\x00"}]),
     "messages[1].content"),
    # timestamps
    ("naive timestamp", lambda m: m.save_message("c", "user", "x", timestamp=datetime(2024, 1, 1)),
     "timestamp"),
    ("sub-millisecond timestamp", lambda m: m.save_message(
        "c", "user", "x", timestamp=OK_TIME + timedelta(microseconds=1)), "timestamp"),
    ("timestamp before 1970-01-01T00:00:01Z", lambda m: m.save_message(
        "c", "user", "x", timestamp=datetime(1970, 1, 1, tzinfo=UTC)), "timestamp"),
    ("timestamp after 2038-01-19T03:14:07.999Z", lambda m: m.save_message(
        "c", "user", "x", timestamp=datetime(2038, 1, 19, 3, 14, 8, tzinfo=UTC)), "timestamp"),
    ("naive created_at", lambda m: m.save_chat("c", created_at=datetime(2024, 1, 1)),
     "created_at"),
    ("out-of-range updated_at", lambda m: m.save_chat(
        "c", updated_at=datetime(2100, 1, 1, tzinfo=UTC)), "updated_at"),
    # aware datetimes whose UTC conversion leaves the years 1-9999 (was OverflowError)
    ("timestamp before year 1 in UTC", lambda m: m.save_message(
        "c", "user", "x", timestamp=datetime(1, 1, 1, 0, 30, tzinfo=PLUS_1H)), "timestamp"),
    ("timestamp after year 9999 in UTC", lambda m: m.save_message(
        "c", "user", "x", timestamp=datetime(9999, 12, 31, 23, 30, tzinfo=MINUS_1H)),
     "timestamp"),
    ("created_at before year 1 in UTC", lambda m: m.save_chat(
        "c", created_at=datetime(1, 1, 1, 0, 30, tzinfo=PLUS_1H)), "created_at"),
    ("updated_at after year 9999 in UTC", lambda m: m.save_chat(
        "c", updated_at=datetime(9999, 12, 31, 23, 30, tzinfo=MINUS_1H)), "updated_at"),
    ("batch timestamp after year 9999 in UTC", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "a",
               "timestamp": datetime(9999, 12, 31, 23, 30, tzinfo=MINUS_1H)}]),
     "messages[0].timestamp"),
    ("str timestamp in batch", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "a", "timestamp": "2024-01-01"}]),
     "messages[0].timestamp"),
    # limits and counts
    ("limit 0", lambda m: m.get_messages("c", limit=0), "limit"),
    # get_messages reads past 10,000 in keyset pages; get_chats and chat_ids keep the cap
    ("get_chats limit 10001", lambda m: m.get_chats(limit=10_001), "limit"),
    ("chat_ids limit 10001", lambda m: m.chat_ids(limit=10_001), "limit"),
    ("limit -1", lambda m: m.get_messages("c", limit=-1), "limit"),
    ("limit str", lambda m: m.get_messages("c", limit="5"), "limit"),  # type: ignore[arg-type]
    ("before_id 0", lambda m: m.get_messages("c", before_id=0), "before_id"),
    ("before_id bool", lambda m: m.get_messages("c", before_id=True), "before_id"),
    ("ids not a list", lambda m: m.delete_messages("c", 5), "ids"),  # type: ignore[arg-type]
    ("ids with a str", lambda m: m.delete_messages("c", [1, "2"]), "ids[1]"),  # type: ignore[list-item]
    ("replace with a bad item", lambda m: m.replace_messages(
        "c", [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}]),
     "messages[1].role"),
    ("replace with a str", lambda m: m.replace_messages("c", "hello"), "messages"),  # type: ignore[arg-type]
    ("limit True", lambda m: m.get_messages("c", limit=True), "limit"),
    ("limit float", lambda m: m.get_chats(limit=2.0), "limit"),  # type: ignore[arg-type]
    ("negative message_count", lambda m: m.save_chat("c", message_count=-1), "message_count"),
    ("bool message_count", lambda m: m.save_chat("c", message_count=True), "message_count"),
    # titles and search
    ("501-char title", lambda m: m.update_chat_title("c", "t" * 501), "title"),
    ("NUL in title", lambda m: m.save_chat("c", title="a\x00"), "title"),
    ("NUL in search", lambda m: m.get_chats(search="\x00"), "search"),
    # batches
    ("empty batch", lambda m: m.save_messages("c", []), "messages"),
    ("batch item without content", lambda m: m.save_messages("c", [{"role": "user"}]),
     "messages[0].content"),
    ("batch item with unknown key", lambda m: m.save_messages(
        "c", [{"role": "user", "content": "a", "id": 3}]), "messages[0]"),
    ("batch that is a str", lambda m: m.save_messages("c", "hello"), "messages"),  # type: ignore[arg-type]
]


def snapshot(m: Memory) -> Any:
    chats = m.get_chats(limit=10_000)
    return (chats, [m.get_messages(c.chat_id, limit=10_000) for c in chats],
            m.get_working_memory(scope="user", user_id="u"),
            m.get_working_memory(scope="chat", chat_id="c"))


@pytest.mark.parametrize(("case", "call", "field"), CASES, ids=[c[0] for c in CASES])
def test_validation_error(mem: Memory, case: str, call: Call, field: str) -> None:
    mem.save_message("seed", "user", "already here", user_id="u")
    before = snapshot(mem)
    with pytest.raises(ValidationError) as info:
        call(mem)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")
    assert isinstance(info.value, memstore.MemstoreError)
    assert snapshot(mem) == before, "a rejected call must write nothing"


def test_a_bad_message_late_in_a_batch_writes_none_of_it(mem: Memory) -> None:
    items = [{"role": "user", "content": str(i)} for i in range(50)]
    items.append({"role": "user", "content": "\x00"})
    with pytest.raises(ValidationError):
        mem.save_messages("c", items)
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None


def test_unknown_table_key_and_bad_identifier() -> None:
    with pytest.raises(ValidationError) as info:
        memstore.connect("memory://", tables={"msgs": "x"})
    assert info.value.field == "tables"
    with pytest.raises(ValidationError) as info:
        memstore.connect("memory://", tables={"messages": "x; DROP TABLE y"})
    assert info.value.field == "tables.messages"


def test_unknown_url_scheme() -> None:
    with pytest.raises(ValidationError) as info:
        memstore.connect("redis://localhost")
    assert info.value.field == "url"


# -- the rules as functions: content JSON, durations, the clock ---------------------


@pytest.mark.parametrize("value", [{"a": NAN}, [INF], [[{"deep": -INF}]], {INF: "key"}])
def test_nan_and_infinity_are_not_json(value: object) -> None:
    with pytest.raises(ValidationError, match=r"NaN or Infinity.*not JSON") as info:
        v.content("messages[2].content", value)
    assert info.value.field == "messages[2].content"


def test_finite_floats_and_other_json_errors() -> None:
    assert v.content("content", {"a": 1.5, "b": [-0.0, 1e300]}) == \
        '{"a": 1.5, "b": [-0.0, 1e+300]}'
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(ValidationError, match="not JSON-serialisable") as info:
        v.content("content", loop)
    assert info.value.field == "content"


@pytest.mark.parametrize(("value", "expected"), [
    ("10", 10.0), ("2.5", 2.5), (" 3 ", 3.0), (3, 3.0), (0.25, 0.25),
    (31_536_000, 31_536_000.0), ("31536000", 31_536_000.0)])
def test_seconds_accepts_finite_positive_numbers(value: str | float, expected: float) -> None:
    assert v.seconds("url", value, what="connect_timeout") == expected


@pytest.mark.parametrize("value", [
    "-1", -1, "0", 0, 0.0, "nan", "NaN", NAN, "inf", "-inf", INF, "1e400", "", "ten", "5s",
    "31536001", 31_536_000.5, True, 10**400, None, [5]])
def test_seconds_refuses_everything_else(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        v.seconds("url", value, what="read_timeout")  # type: ignore[arg-type]
    assert info.value.field == "url"
    assert info.value.reason.startswith("read_timeout must be a positive number of seconds; "
                                        "got '")


def test_seconds_names_the_maximum_when_over_it() -> None:
    with pytest.raises(ValidationError, match="31536000, one year"):
        v.seconds("timeout", "40000000", what="timeout")


def test_now_is_utc_whole_milliseconds_and_a_valid_instant() -> None:
    before = datetime.now(UTC)
    t = v.now()
    after = datetime.now(UTC)
    assert t.tzinfo is UTC and t.microsecond % 1000 == 0
    assert before - timedelta(milliseconds=1) < t <= after  # truncated, never ahead
    assert v.instant("timestamp", t) == t
    # the older name is the same function, so Memory's default-clock shortcut still holds
    assert v.now_utc is v.now


def test_now_is_stored_unchanged(mem: Memory) -> None:
    t = v.now()
    msg = mem.save_message("c", "user", "x", timestamp=t)
    assert msg.timestamp == t
    assert mem.get_messages("c")[0].timestamp == t
