"""memstore and the published @ai-sdk-tools/memory 1.2.0 DrizzleProvider on one database.

Each test drives the real TS package through ts_side.mjs (one Node process per batch of
operations) and memstore in this process, on SQLite, PostgreSQL and MariaDB, in both
directions and on both sides' tables. Instants are compared in epoch milliseconds, so a
value the TS side reads as Invalid Date, in another year or shifted by a time zone fails
with both ISO strings in the message.

Precision: the TS package writes whole seconds on SQLite (``floor(ms / 1000)``) and
milliseconds elsewhere; a column keeps what its type holds (its own MariaDB tables have
``TIMESTAMP``, 0 fractional digits, and MariaDB truncates, until `memstore init` widens
them). Expected instants are the written ones cut to what survives, never "close enough".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import closing
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import pytest

import memstore
from memstore import cli
from memstore.models import Chat

if TYPE_CHECKING:
    from .conftest import RunTs, Target

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)

# Distinct seconds, so that the TS side's order (timestamp, then role) is the written
# order even after SQLite's whole seconds; .857 and .999 tell truncation from rounding.
M1 = datetime(2025, 3, 30, 0, 59, 58, 857000, tzinfo=UTC)
M2 = datetime(2025, 3, 30, 1, 0, 3, 1000, tzinfo=UTC)  # just after a European DST switch
M3 = datetime(2025, 3, 30, 1, 2, 0, 999000, tzinfo=UTC)
M4 = datetime(2025, 3, 30, 1, 7, 30, 500000, tzinfo=UTC)
NOW = datetime(2025, 3, 30, 1, 5, 0, 123000, tzinfo=UTC)  # memstore's clock
LATER = datetime(2025, 3, 30, 1, 9, 0, 777000, tzinfo=UTC)
# Instants where encodings break: the range ends memstore allows, .999 before a year and
# a leap day, a DST-switch hour, and 2004-01-10T13:37:04.001Z = 1073741824.001 s, just
# above 2^30 s, where REAL seconds * 1000 in double precision can land below the integer.
EDGES = [
    datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC),
    datetime(1999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
    datetime(2004, 1, 10, 13, 37, 4, 1000, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC),
    datetime(2025, 10, 26, 1, 30, 0, 500000, tzinfo=UTC),
    datetime(2038, 1, 19, 3, 14, 7, 999000, tzinfo=UTC),
]

# What @ai-sdk-tools/agents stores: JSON.stringify(uiMessage) (compact, non-ASCII kept).
UI_MESSAGE = json.dumps(
    {"id": "msg-2", "role": "assistant", "metadata": {"n": 1},
     "parts": [{"type": "text", "text": "Day 1: Colosseum ✓\nDay 2: Vatican 🇮🇹"}]},
    separators=(",", ":"), ensure_ascii=False)
MESSAGES = [("user", "Plan a weekend in Rome", M1), ("assistant", UI_MESSAGE, M2),
            ("user", "42", M3)]  # "42": the TS side's getMessages returns the number 42
WM_CHAT = "# Chat notes\n- budget: 300 €\n- dates: 29–30 March"
WM_USER = "# Facts\n- name: Zoë\n- likes Rome"
TITLE = "Weekend in Rome"

# Fractional-second digits each side writes (before the column has its say).
TS_WRITES = {"sqlite": 0, "postgres": 3, "mysql": 3}
MEMSTORE_WRITES = 3


# -- helpers ---------------------------------------------------------------------------

def op(name: str, *args: Any, **params: Any) -> dict[str, Any]:
    """One provider call; keyword arguments become its single params object."""
    return {"op": name, "args": [params] if params else list(args)}


def ms(value: datetime) -> int:
    return (value - EPOCH) // MS


def ts_ms(value: Any, what: str) -> int:
    """Epoch ms of a Date the TS side returned; fails on Invalid Date or a non-Date."""
    assert isinstance(value, dict) and "$date" in value, f"{what}: not a Date: {value!r}"
    assert not value.get("invalid"), f"{what}: the TS side read an Invalid Date"
    return int(value["$date"])


def assert_instant(value: Any, expected: datetime, what: str) -> None:
    got = ts_ms(value, what)
    assert got == ms(expected), (f"{what}: the TS side read {value.get('iso')}, "
                                 f"expected {expected.isoformat()}")


def ts_parsed(content: str) -> Any:
    """What the TS getMessages returns for stored content: JSON.parse when it parses.
    (json.loads also takes NaN/Infinity, which JSON.parse refuses; none are used here.)"""
    try:
        return json.loads(content)
    except ValueError:
        return content


def ts_value(value: Any) -> Any:
    return None if isinstance(value, dict) and value.get("$undefined") else value


def cut(value: datetime, digits: int) -> datetime:
    """The instant truncated to ``digits`` fractional-second digits."""
    unit = 10 ** (6 - digits)
    return value - timedelta(microseconds=value.microsecond % unit)


def kept_digits(target: Target, table: str, column: str, written: int) -> int:
    """Fractional-second digits that survive when ``written`` digits go into the column."""
    if target.dialect == "sqlite":
        return written  # dynamic typing: the number sent is the number stored
    schema = "current_schema()" if target.dialect == "postgres" else "DATABASE()"
    with closing(target.connect()) as conn:
        cur = conn.cursor()
        cur.execute("SELECT datetime_precision FROM information_schema.columns "
                    f"WHERE table_schema = {schema} AND table_name = %s AND column_name = %s",
                    (table, column))
        (digits,) = cur.fetchone()
    return min(written, int(digits))


def init_with_cli(target: Target) -> None:
    """`memstore init URL`, twice: it must be repeatable on any tables it finds."""
    assert cli.main(["init", target.url]) == 0
    assert cli.main(["init", target.url]) == 0


def fixed_clock(start: datetime) -> tuple[list[datetime], Callable[[], datetime]]:
    now = [start]
    return now, lambda: now[0]


@pytest.fixture(autouse=True)
def _memstore_session_not_utc(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    """memstore's PostgreSQL sessions, its own and a caller's, start in a non-UTC zone
    (libpq reads PGTZ), as on a server whose TimeZone follows the machine's: instants
    must still not shift."""
    if target.dialect == "postgres":
        monkeypatch.setenv("PGTZ", "Europe/Berlin")


# -- TS package first, on its own tables -----------------------------------------------

def test_memstore_reads_and_extends_what_ts_wrote_on_its_tables(
        target: Target, ts: RunTs) -> None:
    r = ts(target, [
        op("createSchema"),  # the package's SQL_SCHEMAS
        op("updateWorkingMemory", scope="chat", chatId="c1", userId="u1", content=WM_CHAT),
        op("updateWorkingMemory", scope="user", chatId="c1", userId="u1", content="draft"),
        # an update keeps the chat_id the row was created with (on both sides)
        op("updateWorkingMemory", scope="user", chatId="c9", userId="u1", content=WM_USER),
        *[op("saveMessage", chatId="c1", userId="u1", role=role, content=content,
             timestamp=ms(at)) for role, content, at in MESSAGES],
        op("saveChat", chatId="c1", userId="u1", title=TITLE, createdAt=ms(M1),
           updatedAt=ms(M3), messageCount=3),
        op("getWorkingMemory", scope="chat", chatId="c1"),
        op("getWorkingMemory", scope="user", userId="u1"),
        op("getMessages", chatId="c1"),
    ])
    ts_chat_wm, ts_user_wm, ts_messages = r[-3:]
    assert ts_messages == [ts_parsed(c) for _, c, _ in MESSAGES]

    # What the TS rows hold was decided by the columns they were written to; `memstore
    # init` may then widen the columns (MariaDB: TIMESTAMP -> TIMESTAMP(3)).
    ts_digits = kept_digits(target, "conversation_messages", "timestamp",
                            TS_WRITES[target.dialect])
    init_with_cli(target)
    ms_digits = kept_digits(target, "chat_sessions", "updated_at", MEMSTORE_WRITES)
    now, clock = fixed_clock(NOW)
    with memstore.connect(target.url, clock=clock) as mem:
        assert mem.doctor() == []
        wm = mem.get_working_memory(scope="chat", chat_id="c1")
        assert wm is not None
        assert (wm.scope, wm.chat_id, wm.user_id, wm.content) == ("chat", "c1", "u1", WM_CHAT)
        assert ms(wm.updated_at) == ts_ms(ts_chat_wm["updatedAt"], "chat working memory")
        wm = mem.get_working_memory(scope="user", user_id="u1")
        assert wm is not None
        assert (wm.scope, wm.chat_id, wm.user_id, wm.content) == ("user", "c1", "u1", WM_USER)
        assert ms(wm.updated_at) == ts_ms(ts_user_wm["updatedAt"], "user working memory")

        got = [(m.role, m.content, m.user_id, m.timestamp) for m in mem.get_messages("c1")]
        assert got == [(role, content, "u1", cut(at, ts_digits))
                       for role, content, at in MESSAGES]
        chat = Chat("c1", "u1", TITLE, cut(M1, ts_digits), cut(M3, ts_digits), 3)
        assert mem.get_chat("c1") == chat
        assert mem.get_chats(user_id="u1") == [chat]

        # memstore extends the TS rows: the count and updated_at follow its messages
        mem.save_messages("c1", [{"role": "assistant", "content": "Booked ✓", "timestamp": M4}],
                          user_id="u1")
        now[0] = LATER
        mem.update_working_memory(scope="user", user_id="u1", content=WM_USER + "\n- booked")
        # a guest's message, then deleting the guest: the chat's count goes down and its
        # updated_at stays (MariaDB's ON UPDATE CURRENT_TIMESTAMP on the TS table must not fire)
        mem.save_messages("c1", [{"role": "user", "content": "guest", "timestamp": M2}],
                          user_id="guest")
        mem.delete_user("guest")
        assert mem.get_chat("c1") == Chat("c1", "u1", TITLE, cut(M1, ts_digits),
                                          cut(M4, ms_digits), 4)

    r = ts(target, [
        op("getMessages", chatId="c1"),
        op("getChat", "c1"),
        op("getWorkingMemory", scope="user", userId="u1"),
        op("getChats", userId="u1"),
    ])
    messages, ts_chat, user_wm, chats = r
    assert messages == [*(ts_parsed(c) for _, c, _ in MESSAGES), "Booked ✓"]
    assert (ts_chat["chatId"], ts_chat["userId"], ts_chat["title"], ts_chat["messageCount"]) \
        == ("c1", "u1", TITLE, 4)
    assert_instant(ts_chat["createdAt"], cut(M1, ts_digits), "chat createdAt")
    assert_instant(ts_chat["updatedAt"], cut(M4, ms_digits), "chat updatedAt")
    assert user_wm["content"] == WM_USER + "\n- booked"
    assert_instant(user_wm["updatedAt"], cut(LATER, kept_digits(
        target, "working_memory", "updated_at", MEMSTORE_WRITES)), "working memory updatedAt")
    assert [c["chatId"] for c in chats] == ["c1"]


# -- memstore first, on its own tables ---------------------------------------------------

def test_ts_reads_and_writes_on_the_tables_memstore_init_created(
        target: Target, ts: RunTs) -> None:
    init_with_cli(target)
    _, clock = fixed_clock(NOW)
    # memstore on a connection of the caller's, whose session is in another time zone
    # (PostgreSQL: PGTZ, see above): the instants must not follow it.
    conn = target.connect()
    if target.dialect == "mysql":
        conn.cursor().execute("SET time_zone = '+05:45'")
    with closing(conn), memstore.connect(conn, clock=clock) as mem:
        mem.update_working_memory(scope="chat", chat_id="c2", user_id="u2", content=WM_CHAT)
        mem.update_working_memory(scope="user", chat_id="c2", user_id="u2", content=WM_USER)
        mem.save_messages("c2", [{"role": r, "content": c, "timestamp": t}
                                 for r, c, t in MESSAGES], user_id="u2")
        mem.update_chat_title("c2", TITLE)  # updated_at = NOW, after M3
        mem.save_message("c3", "user", "someone else's chat", user_id="u3", timestamp=M2)
        mem.save_message("gone", "user", "TS deletes this chat", user_id="u2", timestamp=M1)
        mem.update_working_memory(scope="chat", chat_id="gone", content="left behind")
        order_u2 = [c.chat_id for c in mem.get_chats(user_id="u2")]
        order_all = [c.chat_id for c in mem.get_chats()]
        assert order_all == ["c2", "c3", "gone"]

        # The TS side runs while memstore holds its connection (SQLite: the WAL is open).
        r = ts(target, [
            op("getWorkingMemory", scope="chat", chatId="c2"),
            op("getWorkingMemory", scope="user", userId="u2"),
            op("getMessages", chatId="c2"),
            op("getMessages", chatId="c2", userId="u2", limit=2),
            op("getChat", "c2"),
            op("getChats", userId="u2"),
            op("getChats", {}),
            op("deleteChat", "gone"),
            op("updateWorkingMemory", scope="chat", chatId="c4", userId="u4", content=WM_CHAT),
            *[op("saveMessage", chatId="c4", userId="u4", role=role, content=content,
                 timestamp=ms(at)) for role, content, at in MESSAGES],
            op("saveChat", chatId="c4", userId="u4", title=TITLE, createdAt=ms(M1),
               updatedAt=ms(M3), messageCount=3),
            op("updateChatTitle", "c2", "Renamed by TS ✓"),
            op("getWorkingMemory", scope="chat", chatId="c4"),
            op("getChat", "c2"),
        ])
        chat_wm, user_wm, messages, last_two, chat, chats_u2, chats_all = r[:7]
        assert chat_wm["content"] == WM_CHAT
        assert_instant(chat_wm["updatedAt"], NOW, "chat working memory updatedAt")
        assert user_wm["content"] == WM_USER
        assert_instant(user_wm["updatedAt"], NOW, "user working memory updatedAt")
        assert messages == [ts_parsed(c) for _, c, _ in MESSAGES]
        assert last_two == [ts_parsed(c) for _, c, _ in MESSAGES[1:]]
        assert (chat["chatId"], chat["userId"], chat["title"], chat["messageCount"]) \
            == ("c2", "u2", TITLE, 3)
        assert_instant(chat["createdAt"], M1, "chat createdAt")
        assert_instant(chat["updatedAt"], NOW, "chat updatedAt")
        assert [c["chatId"] for c in chats_u2] == order_u2
        assert [c["chatId"] for c in chats_all] == order_all
        for c in chats_all:
            ts_ms(c["createdAt"], f"{c['chatId']} createdAt")
            ts_ms(c["updatedAt"], f"{c['chatId']} updatedAt")

        # What the TS side wrote, as memstore reads it
        ts_wm_c4, ts_chat_c2 = r[-2:]
        digits = kept_digits(target, "conversation_messages", "timestamp",
                             TS_WRITES[target.dialect])
        assert mem.get_chat("gone") is None
        assert mem.get_messages("gone") == []
        left = mem.get_working_memory(scope="chat", chat_id="gone")  # deleteChat leaves it
        assert left is not None and left.content == "left behind"
        wm = mem.get_working_memory(scope="chat", chat_id="c4")
        assert wm is not None
        assert (wm.scope, wm.chat_id, wm.user_id, wm.content) == ("chat", "c4", "u4", WM_CHAT)
        assert ms(wm.updated_at) == ts_ms(ts_wm_c4["updatedAt"], "TS working memory")
        got = [(m.role, m.content, m.user_id, m.timestamp) for m in mem.get_messages("c4")]
        assert got == [(role, content, "u4", cut(at, digits)) for role, content, at in MESSAGES]
        assert mem.get_chat("c4") == Chat("c4", "u4", TITLE, cut(M1, digits), cut(M3, digits), 3)
        renamed = mem.get_chat("c2")
        assert renamed is not None
        assert (renamed.title, renamed.message_count, renamed.created_at) \
            == ("Renamed by TS ✓", 3, M1)
        assert ms(renamed.updated_at) == ts_ms(ts_chat_c2["updatedAt"], "renamed updatedAt")


# -- instants at the edges, both ways, on both sides' tables ------------------------------

@pytest.mark.parametrize("tables_by", ["ts", "memstore"])
def test_edge_instants_read_the_same_on_both_sides(
        target: Target, ts: RunTs, tables_by: str) -> None:
    if tables_by == "ts":
        ts(target, [op("createSchema")])
    init_with_cli(target)  # over the TS tables too: the documented way to share them
    now, clock = fixed_clock(EDGES[0])
    with memstore.connect(target.url, clock=clock) as mem:
        for i, at in enumerate(EDGES):
            now[0] = at
            mem.save_message(f"m{i}", "user", f"memstore at {at.isoformat()}", timestamp=at)
            mem.update_working_memory(scope="user", user_id=f"m{i}", content="edge")
        r = ts(target, [
            *[op("saveMessage", chatId=f"t{i}", role="user", content=f"TS at {at.isoformat()}",
                 timestamp=ms(at)) for i, at in enumerate(EDGES)],
            *[op("saveChat", chatId=f"t{i}", createdAt=ms(at), updatedAt=ms(at), messageCount=1)
              for i, at in enumerate(EDGES)],
            op("getChats", {}),
            *[op("getWorkingMemory", scope="user", userId=f"m{i}") for i in range(len(EDGES))],
        ])
        chats = {c["chatId"]: c for c in r[2 * len(EDGES)]}
        wms = r[2 * len(EDGES) + 1:]
        from_memstore = kept_digits(target, "chat_sessions", "updated_at", MEMSTORE_WRITES)
        wm_digits = kept_digits(target, "working_memory", "updated_at", MEMSTORE_WRITES)
        from_ts = kept_digits(target, "chat_sessions", "updated_at", TS_WRITES[target.dialect])
        msg_digits = kept_digits(target, "conversation_messages", "timestamp",
                                 TS_WRITES[target.dialect])
        for i, at in enumerate(EDGES):
            mine, theirs = chats[f"m{i}"], chats[f"t{i}"]
            assert_instant(mine["createdAt"], cut(at, from_memstore), f"memstore's createdAt {at}")
            assert_instant(mine["updatedAt"], cut(at, from_memstore), f"memstore's updatedAt {at}")
            assert_instant(wms[i]["updatedAt"], cut(at, wm_digits), f"memstore's wm {at}")
            assert_instant(theirs["updatedAt"], cut(at, from_ts), f"TS's own updatedAt {at}")
            chat = mem.get_chat(f"t{i}")
            assert chat is not None
            assert (chat.created_at, chat.updated_at) == (cut(at, from_ts), cut(at, from_ts))
            assert [m.timestamp for m in mem.get_messages(f"t{i}")] == [cut(at, msg_digits)]


# -- a batch saved in one call, read by the TS package -----------------------------------

def test_a_batch_saved_in_one_call_reads_back_in_order_through_ts(
        target: Target, ts: RunTs) -> None:
    """The TS package orders by timestamp and breaks ties by role (user first), with no
    id: a two-turn history saved at one instant would come back user, user, assistant,
    assistant. memstore gives the messages of a batch saved without timestamps distinct,
    increasing milliseconds, so the TS side reads them in the order they were saved."""
    init_with_cli(target)
    _, clock = fixed_clock(NOW)  # every message of the batch is "now" to memstore's clock
    turns = [("user", "first question"), ("assistant", "first answer"),
             ("user", "second question"), ("assistant", "second answer")]
    with memstore.connect(target.url, clock=clock) as mem:
        mem.save_messages("batch", [{"role": r, "content": c} for r, c in turns])
        mem.save_message("batch", "user", "a third question")  # the next call, same instant
        saved = mem.get_messages("batch")
    (read,) = ts(target, [op("getMessages", chatId="batch")])
    expected = [c for _, c in turns] + ["a third question"]
    assert read == expected
    assert [m.content for m in saved] == expected
    stamps = [m.timestamp for m in saved]
    assert stamps == sorted(set(stamps)) and stamps[0] == NOW


# -- ids beyond 32 bits ------------------------------------------------------------------

BIG_ID = 3_000_000_000  # past 2^31 - 1, where a SERIAL / INT id column stops


def test_ids_beyond_32_bits_on_the_tables_memstore_init_created(
        target: Target, ts: RunTs) -> None:
    """memstore creates 64-bit message ids (PostgreSQL BIGSERIAL, MySQL BIGINT; SQLite's
    INTEGER is 64-bit anyway). With the id counter moved past 2^31 - 1, as on a busy or a
    Galera database, the TS package still reads and writes the rows, and memstore pages
    through them by id."""
    init_with_cli(target)
    with closing(target.connect()) as conn:
        cur = conn.cursor()
        if target.dialect == "postgres":
            cur.execute("SELECT setval(pg_get_serial_sequence('conversation_messages', 'id'),"
                        " %s)", (BIG_ID,))
        elif target.dialect == "mysql":
            cur.execute(f"ALTER TABLE conversation_messages AUTO_INCREMENT = {BIG_ID + 1}")
        else:
            cur.execute("INSERT INTO sqlite_sequence (name, seq) "
                        "VALUES ('conversation_messages', ?)", (BIG_ID,))
        conn.commit()
    with memstore.connect(target.url) as mem:
        mem.save_messages("big", [{"role": r, "content": c, "timestamp": t}
                                  for r, c, t in MESSAGES[:2]])
    ts(target, [op("saveMessage", chatId="big", role="user", content="from TS",
                   timestamp=ms(M3))])
    (read,) = ts(target, [op("getMessages", chatId="big")])
    assert read == [ts_parsed(c) for _, c, _ in MESSAGES[:2]] + ["from TS"]
    with memstore.connect(target.url) as mem:
        saved = mem.get_messages("big")
        ids = [m.id for m in saved]
        assert ids == sorted(ids) and ids[0] == BIG_ID + 1 and len(ids) == 3
        assert [m.content for m in mem.get_messages("big", limit=1, before_id=ids[2])] \
            == [MESSAGES[1][1]]
        popped = mem.pop_message("big")  # deletes by a 64-bit id
        assert popped is not None and (popped.id, popped.content) == (ids[2], "from TS")
        assert mem.delete_messages("big", [ids[0]]) == 1
        assert [m.id for m in mem.get_messages("big")] == [ids[1]]


# -- recall over rows the TS package wrote and deleted -----------------------------------

def test_keyword_search_finds_what_ts_saved_and_never_what_it_deleted(
        target: Target, ts: RunTs) -> None:
    init_with_cli(target)
    ts(target, [*[op("saveMessage", chatId="c1", userId="u1", role=role, content=content,
                     timestamp=ms(at)) for role, content, at in MESSAGES],
                op("saveMessage", chatId="c2", userId="u2", role="user",
                   content="Rome for u2 only", timestamp=ms(M4))])
    with memstore.connect(target.url) as mem:
        # the UIMessage row is found by the text of its parts, never by its JSON keys
        hits = mem.search_messages("vatican", user_id="u1")
        assert [h.message.content for h in hits] == [UI_MESSAGE]
        assert mem.search_messages("metadata", user_id="u1") == []
        assert [h.message.content for h in mem.search_messages("rome", user_id="u1")] == [
            "Plan a weekend in Rome"]  # not u2's message
        assert len(mem.search_messages("rome", chat_id="c2")) == 1
    ts(target, [op("deleteChat", "c1"),
                op("saveMessage", chatId="c3", userId="u1", role="user",
                   content="Rome again, after the delete", timestamp=ms(LATER))])
    with memstore.connect(target.url) as mem:
        # c1's rows are gone behind memstore's back: never found; the new row is
        assert [h.message.chat_id for h in mem.search_messages("rome", user_id="u1")] == ["c3"]
        assert mem.search_messages("vatican", user_id="u1") == []
        assert mem.index_messages() == 3  # c1's three side rows tidied away


def test_a_chat_titled_by_ts_first_is_claimed_by_memstores_save(
        target: Target, ts: RunTs) -> None:
    """The TS app's updateChatTitle on a chat with no row creates one without an owner; a
    memstore save that names a user claims it, so the TS app's getChats({userId}) lists
    the chat (issue 30). An owner already set stays."""
    init_with_cli(target)
    ts(target, [op("updateChatTitle", "t1", "Trip to Rome")])
    with memstore.connect(target.url) as mem:
        chat = mem.get_chat("t1")
        assert chat is not None and chat.user_id is None
        mem.save_messages("t1", [{"role": "user", "content": "Rome?"}], user_id="u1")
        mem.save_message("t1", "user", "me too", user_id="u2")
    chat_u1, chats_u2 = ts(target, [op("getChats", userId="u1"), op("getChats", userId="u2")])
    assert [(c["chatId"], c["title"], c["userId"]) for c in chat_u1] \
        == [("t1", "Trip to Rome", "u1")]
    assert chats_u2 == []
