"""MySQL/MariaDB specifics, against the server in ``$MEMSTORE_TEST_MYSQL_URL``: time zones,
TIMESTAMP precision, TEXT size, utf8mb4, id collations, tables the TS package created,
upserts and ON UPDATE CURRENT_TIMESTAMP, batch ids, the transaction rule, error mapping.

Tests that change tables or databases work in a database of their own (``memstore_...``,
which the test user may create), dropped at the end of the test.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pymysql
import pytest
from pymysql.constants import SERVER_STATUS

import memstore
from memstore import plan
from memstore.adapters import mysql as adapter_module
from memstore.validate import MAX_INSTANT, MIN_INSTANT
from tests import backend_mysql as backend
from tests import checks
from tests.backends import require_env

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA_FILE = Path(__file__).parent.parent / "sql" / "mysql" / "schema.sql"
UTC = timezone.utc
T = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T_MS = datetime(2024, 5, 1, 12, 0, 0, 857000, tzinfo=UTC)
TABLES = ("working_memory", "conversation_messages", "chat_sessions")
_names = itertools.count()


# -- helpers ---------------------------------------------------------------------------

@pytest.fixture
def make_db() -> Iterator[Callable[..., str]]:
    """Creates databases for one test (``CREATE DATABASE name CHARACTER SET charset
    [COLLATE collation]``; all constants of the tests) and drops them afterwards."""
    require_env("MEMSTORE_TEST_MYSQL_URL", "mysql")
    made: list[str] = []

    def make(charset: str = "utf8mb4", collation: str | None = None) -> str:
        name = f"{backend.DATABASE}_{next(_names)}"
        with closing(backend.raw_connect(None)) as conn:
            cur = conn.cursor()
            cur.execute(f"DROP DATABASE IF EXISTS {name}")
            cur.execute(f"CREATE DATABASE {name} CHARACTER SET {charset}"
                        + (f" COLLATE {collation}" if collation else ""))
        made.append(name)
        return name

    yield make
    for name in made:
        backend.drop_database(name)


@pytest.fixture
def db(make_db: Callable[..., str]) -> str:
    return make_db()


def url(database: str) -> str:
    return backend.database_url(database)


def run(database: str | None, *statements: str, utc: bool = True) -> list[Any]:
    """Statements on a plain connection (session time zone UTC, as the TS package sets
    it); the rows of the last one."""
    with closing(backend.raw_connect(database)) as conn:
        cur = conn.cursor()
        if utc:
            cur.execute("SET time_zone = '+00:00'")
        for statement in statements:
            cur.execute(statement)
        return list(cur.fetchall())


def load_ts_schema(database: str) -> None:
    """The TS package's own CREATE statements, as it runs them."""
    text = "\n".join(line for line in (FIXTURES / "ts_schema_mysql.sql").read_text().splitlines()
                     if not line.startswith("--"))
    run(database, *[s for s in text.split(";") if s.strip()])


def columns(database: str, table: str) -> dict[str, tuple[Any, ...]]:
    """COLUMN_NAME -> (COLUMN_TYPE, COLLATION_NAME, EXTRA)."""
    rows = run(database, "SELECT COLUMN_NAME, COLUMN_TYPE, COLLATION_NAME, EXTRA "
                         "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                         f"AND TABLE_NAME = '{table}'")
    return {r[0]: tuple(r[1:]) for r in rows}


def in_transaction(conn: Any) -> bool:
    """Whether the server has a transaction open on ``conn``: an OK packet carries the
    flag (a result set's does not reach PyMySQL)."""
    conn.cursor().execute("SET @memstore_test_probe = 1")
    return bool(conn.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS)


def session(conn: Any) -> tuple[str, str]:
    cur = conn.cursor()
    cur.execute("SELECT @@session.time_zone, @@session.sql_mode")
    tz, mode = cur.fetchone()
    return tz, mode


def fresh(database: str) -> memstore.Memory:
    mem = memstore.connect(url(database))
    mem.init_schema()
    return mem


# -- connecting ------------------------------------------------------------------------

def test_url_sessions_are_utc_strict_utf8mb4_with_timeouts(db: str) -> None:
    for scheme in ("mysql", "mariadb"):
        with memstore.connect(scheme + ":" + url(db).split(":", 1)[1]) as mem:
            conn = mem.adapter.conn  # type: ignore[attr-defined]
            tz, mode = session(conn)
            assert tz == "+00:00"
            assert "STRICT_ALL_TABLES" in mode and "STRICT_TRANS_TABLES" in mode
            cur = conn.cursor()
            cur.execute("SELECT @@character_set_connection, @@character_set_results")
            assert cur.fetchone() == ("utf8mb4", "utf8mb4")
            assert conn.get_autocommit()
            assert (conn.connect_timeout, conn._read_timeout, conn._write_timeout) == (10, 60, 60)
    custom = url(db) + "&connect_timeout=3&read_timeout=7.5&write_timeout=9"
    with memstore.connect(custom) as mem:
        conn = mem.adapter.conn  # type: ignore[attr-defined]
        assert (conn.connect_timeout, conn._read_timeout, conn._write_timeout) == (3, 7.5, 9)


@pytest.mark.parametrize("bad", ["?read_timeout=0", "?read_timeout=soon", "?charset=latin1"])
def test_bad_url_options_are_refused(db: str, bad: str) -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect(url(db).split("?")[0] + bad)
    assert info.value.field == "url"


def test_a_url_must_name_the_database() -> None:
    base = backend.server_url()
    with pytest.raises(memstore.ValidationError, match="name the database"):
        memstore.connect(base.rsplit("/", 1)[0] + "/")


@pytest.mark.parametrize("charset", ["latin1", "utf8mb3"])
def test_a_passed_connection_must_be_utf8mb4(db: str, charset: str) -> None:
    with closing(backend.raw_connect(db, charset=charset)) as conn:
        with pytest.raises(memstore.ValidationError, match="utf8mb4") as info:
            memstore.connect(conn)
        assert info.value.field == "target"


def test_a_passed_connection_stays_open_after_close(db: str) -> None:
    # memstore uses plain tuple cursors whatever cursor class the caller chose
    with closing(backend.raw_connect(db, cursorclass=pymysql.cursors.DictCursor)) as conn:
        with memstore.connect(conn) as mem:
            mem.init_schema()
            mem.save_message("c", "user", "x", timestamp=T)
            assert [(m.content, m.timestamp) for m in mem.get_messages("c")] == [("x", T)]
        assert conn.open
        conn.cursor().execute("SELECT 1")


def test_a_lost_connection_fails_the_call_and_the_next_call_reconnects(db: str) -> None:
    mem = fresh(db)
    mem.save_message("c", "user", "before", timestamp=T)
    thread = mem.adapter.conn.thread_id()  # type: ignore[attr-defined]
    run(db, f"KILL {int(thread)}")
    with pytest.raises(memstore.BackendError) as info:
        mem.get_messages("c")
    assert isinstance(info.value.__cause__, pymysql.err.MySQLError)
    assert [m.content for m in mem.get_messages("c")] == ["before"]
    # the new connection has memstore's session again (the server default is 'SYSTEM')
    assert session(mem.adapter.conn)[0] == "+00:00"  # type: ignore[attr-defined]
    mem.save_message("c", "user", "after", timestamp=T_MS)
    assert [m.timestamp for m in mem.get_messages("c")] == [T, T_MS]
    mem.close()


def test_a_closed_store_never_reconnects(db: str) -> None:
    mem = fresh(db)
    runner: Any = mem.adapter
    mem.close()
    assert not runner.conn.open
    # a call that reached the runner after close() (it waited for the lock meanwhile)
    with pytest.raises(memstore.ClosedError):
        plan.run(runner.dialect.get_chat("c"), runner.execute)
    assert not runner.conn.open


# -- time zones ------------------------------------------------------------------------

def _zone_available(zone: str) -> bool:
    try:
        run(None, f"SET time_zone = '{zone}'")
    except pymysql.err.MySQLError:
        return False
    return True


@pytest.mark.parametrize("zone", ["-05:00", "America/New_York"])
def test_instants_do_not_depend_on_the_callers_session_time_zone(db: str, zone: str) -> None:
    if not _zone_available(zone):
        pytest.skip(f"the server has no time zone tables; {zone!r} is unknown to it")
    fresh(db).close()
    # 2024-11-03 05:30Z and 06:30Z are both 01:30 in New York (the hour repeated at the end
    # of DST): converting through a named zone would merge or swap them.
    ambiguous = [datetime(2024, 11, 3, 5, 30, 0, 1000, tzinfo=UTC),
                 datetime(2024, 11, 3, 6, 30, 0, 2000, tzinfo=UTC)]
    with closing(backend.raw_connect(db, init_command=f"SET time_zone = '{zone}'",
                                     sql_mode="")) as conn:
        mem = memstore.connect(conn)
        mem.save_messages("c", [{"role": "user", "content": "a", "timestamp": T_MS},
                                {"role": "user", "content": "b", "timestamp": ambiguous[0]},
                                {"role": "user", "content": "c", "timestamp": ambiguous[1]}])
        mem.update_working_memory(scope="user", user_id="u", content="x")
        assert [m.timestamp for m in mem.get_messages("c")] == [T_MS, *ambiguous]
        assert session(conn) == (zone, "")  # the caller's settings are back
    stored = run(db, "SELECT timestamp FROM conversation_messages ORDER BY id")
    assert [r[0].replace(tzinfo=UTC) for r in stored] == [T_MS, *ambiguous]
    with memstore.connect(url(db)) as mem:
        assert [m.timestamp for m in mem.get_messages("c")] == [T_MS, *ambiguous]


def _admin_connection() -> Any:
    """A root connection over the test server's socket (``.ci/services.sh`` servers), or
    None: changing a server-wide default needs it."""
    socket = os.environ.get("MEMSTORE_TEST_MYSQL_SOCKET")
    if not socket:
        return None
    try:
        return pymysql.connect(unix_socket=socket, user="root", ssl_disabled=True,
                               autocommit=True)
    except pymysql.err.MySQLError:
        return None


def test_a_server_default_time_zone_does_not_shift_instants(db: str) -> None:
    fresh(db).close()
    root = _admin_connection()
    if root is None:
        pytest.skip("needs root on $MEMSTORE_TEST_MYSQL_SOCKET to change @@global.time_zone")
    with closing(root):
        cur = root.cursor()
        cur.execute("SELECT @@global.time_zone")
        (before,) = cur.fetchone()
        # Only the sessions opened in this window start in -05:00; other runs sharing the
        # server see it for a few milliseconds at most.
        cur.execute("SET GLOBAL time_zone = '-05:00'")
        try:
            mem = memstore.connect(url(db))
            conn = backend.raw_connect(db)
        finally:
            cur.execute("SET GLOBAL time_zone = %s", (before,))
    with closing(conn), mem:
        assert session(conn)[0] == "-05:00"  # what every session of such a server gets
        mem.save_message("c", "user", "by url", timestamp=T_MS)
        memstore.connect(conn).save_message("c", "user", "passed in", timestamp=T)
        assert [(m.content, m.timestamp) for m in mem.get_messages("c")] == [
            ("passed in", T), ("by url", T_MS)]
    stored = run(db, "SELECT timestamp FROM conversation_messages ORDER BY id")
    assert [r[0].replace(tzinfo=UTC) for r in stored] == [T_MS, T]


def test_rows_written_the_ts_way_read_as_the_same_instants(db: str) -> None:
    fresh(db).close()
    # What the TS package sends: UTC text with milliseconds after SET time_zone = '+00:00'.
    run(db, "INSERT INTO conversation_messages (chat_id, role, content, timestamp) "
            "VALUES ('c', 'user', 'from ts', '2024-05-01 12:00:00.857')",
        "INSERT INTO chat_sessions (chat_id, created_at, updated_at, message_count) "
        "VALUES ('c', '2024-05-01 12:00:00.000', '2024-05-01 12:00:00.857', 1)",
        "INSERT INTO working_memory (id, scope, user_id, content, updated_at) "
        "VALUES ('user:u', 'user', 'u', 'facts', '2038-01-19 03:14:07.999')")
    with closing(backend.raw_connect(db, init_command="SET time_zone = '-05:00'")) as conn:
        for mem in (memstore.connect(url(db)), memstore.connect(conn)):
            assert [m.timestamp for m in mem.get_messages("c")] == [T_MS]
            chat = mem.get_chat("c")
            assert chat is not None and (chat.created_at, chat.updated_at) == (T, T_MS)
            wm = mem.get_working_memory(scope="user", user_id="u")
            assert wm is not None and wm.updated_at == MAX_INSTANT


def test_the_range_ends_round_trip(db: str) -> None:
    mem = fresh(db)
    mem.save_messages("c", [{"role": "user", "content": "lo", "timestamp": MIN_INSTANT},
                            {"role": "user", "content": "hi", "timestamp": MAX_INSTANT}])
    assert [m.timestamp for m in mem.get_messages("c")] == [MIN_INSTANT, MAX_INSTANT]
    assert run(db, "SELECT CAST(MAX(timestamp) AS CHAR) FROM conversation_messages") \
        == [("2038-01-19 03:14:07.999",)]


# -- tables the TS package created -------------------------------------------------------

def test_ts_tables_are_refused_until_init_upgrades_them(db: str) -> None:
    load_ts_schema(db)
    run(db, "INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp) "
            "VALUES ('c1', 'u1', 'user', 'from ts', '2024-05-01 12:00:00.857')",
        "INSERT INTO chat_sessions (chat_id, user_id, created_at, updated_at, message_count) "
        "VALUES ('c1', 'u1', '2024-05-01 12:00:00', '2024-05-01 12:00:00', 1)")
    mem = memstore.connect(url(db))
    for call in (lambda: mem.get_messages("c1"),
                 lambda: mem.save_message("C1", "user", "x", timestamp=T)):
        with pytest.raises(memstore.SchemaError) as info:
            call()
        text = str(info.value)
        assert "conversation_messages.chat_id has collation utf8mb4_general_ci" in text
        assert "conversation_messages.timestamp is TIMESTAMP(0)" in text
        assert "memstore init URL" in text
    problems = "\n".join(mem.doctor())
    for expected in ("chat_sessions.chat_id has collation", "working_memory.id holds 255",
                     "chat_sessions.updated_at is TIMESTAMP(0)",
                     "conversation_messages.content is TEXT and holds 65535 bytes",
                     "index idx_messages_chat_order is missing"):
        assert expected in problems
    mem.init_schema()
    mem.init_schema()  # repeatable, and over tables whose indexes came from CREATE INDEX
    assert mem.doctor() == []
    messages = columns(db, "conversation_messages")
    assert messages["timestamp"][0] == "timestamp(3)"
    assert messages["content"][0] == "mediumtext"
    assert messages["chat_id"][1] == "utf8mb4_nopad_bin"
    assert columns(db, "working_memory")["id"][0] == "varchar(260)"
    # the TS schema's ON UPDATE is kept, now with milliseconds
    assert columns(db, "chat_sessions")["updated_at"][2].lower() \
        == "on update current_timestamp(3)"
    # the TS rows keep their instants (whole seconds: TIMESTAMP(0) had truncated .857)
    assert [(m.content, m.timestamp) for m in mem.get_messages("c1")] == [("from ts", T)]
    mem.save_message("C1", "user", "another chat", timestamp=T_MS)
    mem.save_message("c1", "user", "with ms", timestamp=T_MS)
    assert [m.timestamp for m in mem.get_messages("c1")] == [T, T_MS]
    assert [m.content for m in mem.get_messages("C1")] == ["another chat"]
    mem.close()


def test_timestamp_columns_without_milliseconds_are_refused_not_truncated(
        make_db: Callable[..., str]) -> None:
    # A database whose default collation is already binary NO PAD: the TS tables' ids are
    # fine, only the TIMESTAMP(0) columns are in the way.
    db = make_db("utf8mb4", "utf8mb4_nopad_bin")
    load_ts_schema(db)
    mem = memstore.connect(url(db))
    with pytest.raises(memstore.SchemaError,
                       match=r"conversation_messages\.timestamp is TIMESTAMP\(0\), which would "
                             r"drop the milliseconds.*TIMESTAMP\(3\)"):
        mem.save_message("c", "user", "x", timestamp=T_MS)
    assert run(db, "SELECT COUNT(*) FROM conversation_messages") == [(0,)]
    assert run(db, "SELECT COUNT(*) FROM chat_sessions") == [(0,)]


def test_content_too_large_for_a_text_column_names_content_and_writes_nothing(
        db: str) -> None:
    fresh(db).close()
    # As on tables the TS package created: TEXT holds 65,535 bytes.
    run(db, "ALTER TABLE conversation_messages MODIFY content TEXT CHARACTER SET utf8mb4 NOT NULL",
        "ALTER TABLE working_memory MODIFY content TEXT CHARACTER SET utf8mb4 NOT NULL")
    mem = memstore.connect(url(db))
    assert any("conversation_messages.content is TEXT" in p for p in mem.doctor())
    too_big = "é" * 32_768  # 65,536 bytes of UTF-8 in 32,768 characters
    cases = [
        (lambda: mem.save_message("c", "user", too_big), "content"),
        (lambda: mem.save_messages("c", [{"role": "user", "content": "ok"},
                                         {"role": "user", "content": too_big}]),
         "messages[1].content"),
        (lambda: mem.update_working_memory(scope="user", user_id="u", content=too_big),
         "content"),
    ]
    for call, field in cases:
        with pytest.raises(memstore.ValidationError, match="holds 65535 bytes") as info:
            call()
        assert info.value.field == field
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    assert mem.get_working_memory(scope="user", user_id="u") is None
    fits = "é" * 32_767 + "x"  # 65,535 bytes
    assert mem.save_message("c", "user", fits).content == fits
    assert mem.get_messages("c")[0].content == fits
    mem.init_schema()  # widens both to MEDIUMTEXT, keeping the rows
    assert mem.doctor() == []
    assert mem.save_message("c", "user", too_big).content == too_big


def test_content_fits_once_another_process_widened_the_column(db: str) -> None:
    """The tables' shape is read once and kept; a column widened since (by `memstore init`
    in another process) must not keep refusing content it now holds."""
    fresh(db).close()
    run(db, "ALTER TABLE conversation_messages MODIFY content TEXT CHARACTER SET utf8mb4 NOT NULL",
        "ALTER TABLE working_memory MODIFY content TEXT CHARACTER SET utf8mb4 NOT NULL")
    mem = memstore.connect(url(db))
    big = "x" * 100_000  # more than TEXT's 65,535 bytes, well within MEDIUMTEXT
    with pytest.raises(memstore.ValidationError, match="holds 65535 bytes"):
        mem.save_message("c", "user", big)  # the shape is now known: TEXT
    assert mem.save_message("c", "user", "small").content == "small"
    with closing(memstore.connect(url(db))) as other:
        other.init_schema()  # widens both columns to MEDIUMTEXT
    assert columns(db, "conversation_messages")["content"][0] == "mediumtext"
    assert mem.save_message("c", "user", big).content == big
    assert [m.content for m in mem.get_messages("c")] == ["small", big]
    mem.update_working_memory(scope="user", user_id="u", content=big)
    wm = mem.get_working_memory(scope="user", user_id="u")
    assert wm is not None and wm.content == big
    mem.close()


def test_content_fits_once_the_column_was_widened_by_hand(db: str) -> None:
    fresh(db).close()
    run(db, "ALTER TABLE conversation_messages MODIFY content TEXT CHARACTER SET utf8mb4 NOT NULL")
    mem = memstore.connect(url(db))
    assert mem.save_message("c", "user", "small").content == "small"  # shape read: TEXT
    run(db, "ALTER TABLE conversation_messages "
            "MODIFY content MEDIUMTEXT CHARACTER SET utf8mb4 NOT NULL")
    big = "é" * 50_000  # 100,000 bytes of UTF-8
    assert mem.save_messages("c", [{"role": "user", "content": big}])[0].content == big
    assert mem.get_messages("c")[-1].content == big
    mem.close()


def test_a_cancelled_batch_is_whole_or_absent_and_the_store_works_on(mem_url: str) -> None:
    async def scenario() -> tuple[int, int]:
        amem = await memstore.connect_async(mem_url)
        try:
            await amem.save_message("warm", "user", "shape and settings read")
            batch = [{"role": "user", "content": f"m{i} " + "x" * 200} for i in range(5000)]
            task = asyncio.ensure_future(amem.save_messages("c", batch))
            await asyncio.sleep(0.005)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            count = run(mem_url.rsplit("/", 1)[1].split("?")[0],
                        "SELECT COUNT(*) FROM conversation_messages WHERE chat_id = 'c'")[0][0]
            chat = await amem.get_chat("c")
            assert (chat.message_count if chat else 0) == count
            # the same AsyncMemory works on, on the same connection
            await amem.save_message("c", "user", "after")
            got = await amem.get_messages("c", limit=10_000)
            assert len(got) == count + 1 and got[-1].content == "after"
            return count, len(got)
        finally:
            await amem.aclose()

    count, _ = asyncio.run(scenario())
    assert count in (0, 5000), f"partial batch: {count} messages"


def test_one_mib_of_content_round_trips_byte_identical(mem_url: str) -> None:
    mem = memstore.connect(mem_url)
    values = ["😀" * (256 * 1024), "x" * (1024 * 1024), "'\\\"\n" * (256 * 1024)]
    for v in values:
        assert len(v.encode("utf-8")) == 1024 * 1024
    mem.save_messages("big", [{"role": "user", "content": v} for v in values])
    got = [m.content for m in mem.get_messages("big")]
    assert [g.encode("utf-8") for g in got] == [v.encode("utf-8") for v in values]
    mem.update_working_memory(scope="chat", chat_id="big", content=values[0])
    wm = mem.get_working_memory(scope="chat", chat_id="big")
    assert wm is not None and wm.content == values[0]
    mem.close()


@pytest.fixture
def mem_url(db: str) -> str:
    fresh(db).close()
    return url(db)


def test_strict_mode_refuses_a_value_too_long_even_on_a_lax_connection(db: str) -> None:
    fresh(db).close()
    run(db, "ALTER TABLE chat_sessions MODIFY title VARCHAR(10)")
    with closing(backend.raw_connect(db, sql_mode="")) as conn:  # truncates silently
        mem = memstore.connect(conn)
        mem.save_chat("c", title="short", updated_at=T)
        with pytest.raises(memstore.ValidationError, match="Data too long") as info:
            mem.update_chat_title("c", "a title longer than ten")
        assert info.value.field == "title"
        chat = mem.get_chat("c")
        assert chat is not None and (chat.title, chat.updated_at) == ("short", T)
        assert session(conn)[1] == ""


# -- utf8mb4 ------------------------------------------------------------------------------

@pytest.mark.parametrize("charset", ["latin1", "utf8mb3"])
def test_init_and_doctor_say_how_to_fix_a_table_that_is_not_utf8mb4(
        make_db: Callable[..., str], charset: str) -> None:
    db = make_db(charset)
    load_ts_schema(db)
    mem = memstore.connect(url(db))
    fix = "ALTER TABLE chat_sessions CONVERT TO CHARACTER SET utf8mb4"
    assert any(f"chat_sessions stores text as {charset}" in p and fix in p for p in mem.doctor())
    with pytest.raises(memstore.SchemaError, match=f"stores text as {charset}") as info:
        mem.init_schema()
    assert fix in str(info.value)
    assert columns(db, "chat_sessions")["chat_id"][1].startswith(charset)  # left as it was
    with pytest.raises(memstore.SchemaError, match="memstore cannot use these tables"):
        mem.save_message("c", "user", "✓")
    run(db, *[f"ALTER TABLE {t} CONVERT TO CHARACTER SET utf8mb4" for t in TABLES])
    mem.init_schema()
    assert mem.doctor() == []
    mem.save_message("c𝄞", "user", "emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", user_id="ü😀")
    mem.update_chat_title("c𝄞", "Trip 🇮🇹")
    assert [m.content for m in mem.get_messages("c𝄞", user_id="ü😀")] == \
        ["emoji 😀 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"]
    assert [c.title for c in mem.get_chats(search="TRIP")] == ["Trip 🇮🇹"]


def test_text_a_column_cannot_hold_is_a_schema_error(make_db: Callable[..., str]) -> None:
    db = make_db()
    fresh(db).close()
    run(db, "ALTER TABLE chat_sessions MODIFY title VARCHAR(500) CHARACTER SET latin1")
    mem = memstore.connect(url(db))
    with pytest.raises(memstore.SchemaError, match="character set cannot hold"):
        mem.update_chat_title("c", "😀")
    assert mem.get_chat("c") is None


# -- ids: collations ----------------------------------------------------------------------

VARIANTS = ["c1", "C1", "c1 ", "c1\t", "é", "e\u0301", "\uffff", "\U0001d11e", "\ue000", "ß",
            "ss"]


def test_ids_differing_in_case_spaces_or_normalisation_are_distinct(mem_url: str) -> None:
    mem = memstore.connect(mem_url)
    for i, chat_id in enumerate(VARIANTS):
        mem.save_message(chat_id, "user", f"m{i}", user_id=chat_id, timestamp=T)
        mem.update_working_memory(scope="chat", chat_id=chat_id, content=f"w{i}")
        mem.update_working_memory(scope="user", user_id=chat_id, content=f"u{i}")
    for i, chat_id in enumerate(VARIANTS):
        assert [m.content for m in mem.get_messages(chat_id)] == [f"m{i}"]
        chat = mem.get_chat(chat_id)
        assert chat is not None and chat.chat_id == chat_id and chat.message_count == 1
        assert [c.chat_id for c in mem.get_chats(user_id=chat_id)] == [chat_id]
        wm = mem.get_working_memory(scope="chat", chat_id=chat_id)
        assert wm is not None and wm.content == f"w{i}"
    # equal updated_at: ties in code point order, as Python sorts str
    assert [c.chat_id for c in mem.get_chats()] == sorted(VARIANTS)
    assert [c.chat_id for c in mem.get_chats(limit=3)] == sorted(VARIANTS)[:3]
    mem.delete_user("C1")
    assert mem.get_chat("C1") is None and mem.get_chat("c1") is not None
    mem.close()


def test_the_bundled_schema_gives_ids_a_binary_no_pad_collation(mem_url: str) -> None:
    db = mem_url.rsplit("/", 1)[1].split("?")[0]
    for table, names in (("working_memory", ("id", "chat_id", "user_id")),
                         ("conversation_messages", ("chat_id", "user_id")),
                         ("chat_sessions", ("chat_id", "user_id"))):
        cols = columns(db, table)
        for name in names:
            assert cols[name][1] in ("utf8mb4_nopad_bin", "utf8mb4_0900_bin"), (table, name)


def test_title_search_is_the_same_on_a_binary_title_column(mem_url: str) -> None:
    db = mem_url.rsplit("/", 1)[1].split("?")[0]
    run(db, "ALTER TABLE chat_sessions MODIFY title VARCHAR(500) "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
    mem = memstore.connect(mem_url)
    for i, title in enumerate(["TRIP to Rome", "Straße", "école", "100%", "a_b"]):
        mem.save_chat(f"c{i}", title=title, updated_at=T + timedelta(seconds=i))
    assert [c.title for c in mem.get_chats(search="trip")] == ["TRIP to Rome"]
    assert [c.title for c in mem.get_chats(search="STRASSE")] == ["Straße"]
    assert [c.title for c in mem.get_chats(search="ÉCOLE")] == ["école"]
    assert [c.title for c in mem.get_chats(search="%")] == ["100%"]
    assert [c.title for c in mem.get_chats(search="_")] == ["a_b"]
    mem.close()


# -- schema: re-runnable, indexes, custom names ---------------------------------------------

def test_the_schema_file_runs_twice_by_hand(db: str) -> None:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.skip("no mariadb/mysql command-line client")
    u = urlsplit(backend.server_url())
    command = [client, f"--host={u.hostname}", f"--port={u.port or 3306}",
               f"--user={u.username}", f"--password={u.password or ''}", db]
    for _ in range(2):
        subprocess.run(command, stdin=SCHEMA_FILE.open("rb"), check=True, timeout=60,
                       capture_output=True)
    assert columns(db, "chat_sessions")["chat_id"][1] == "utf8mb4_nopad_bin"
    with memstore.connect(url(db)) as mem:
        assert mem.doctor() == []
        mem.init_schema()


def test_init_adds_a_missing_index_and_last_n_uses_it(mem_url: str) -> None:
    db = mem_url.rsplit("/", 1)[1].split("?")[0]
    run(db, "DROP INDEX idx_messages_chat_order ON conversation_messages")
    mem = memstore.connect(mem_url)
    assert mem.doctor() == ["index idx_messages_chat_order is missing: run `memstore init URL`"]
    mem.init_schema()
    assert mem.doctor() == []
    for chat in ("a", "b"):
        mem.save_messages(chat, [{"role": "user", "content": str(i)} for i in range(200)])
    adapter: Any = mem.adapter
    with adapter.reading() as (_, cur):
        for name in ("last_messages", "last_messages_of_user"):
            cur.execute("EXPLAIN " + adapter.sql[name], {"chat_id": "a", "user_id": "u",
                                                           "limit": 50})
            plan = cur.fetchall()
            assert plan[0][5] == "idx_messages_chat_order", plan
            assert "filesort" not in str(plan[0][9]), plan
    mem.close()


def test_custom_table_names(db: str) -> None:
    tables = {"working_memory": "wm", "messages": "msgs", "chats": "chats"}
    mem = memstore.connect(url(db), tables=tables)
    mem.init_schema()
    mem.init_schema()
    assert mem.doctor() == []
    mem.save_message("c", "user", "x")
    mem.update_working_memory(scope="chat", chat_id="c", content="y")
    names = {r[0] for r in run(db, "SELECT TABLE_NAME FROM information_schema.TABLES "
                                   "WHERE TABLE_SCHEMA = DATABASE()")}
    # the side tables follow msgs (MySQL has no FTS5 table: msgs_search_fts is SQLite's)
    assert names == {"wm", "msgs", "chats", "msgs_status", "msgs_search", "msgs_vectors",
                     "msgs_tokens"}
    indexes = {r[0] for r in run(db, "SELECT INDEX_NAME FROM information_schema.STATISTICS "
                                     "WHERE TABLE_SCHEMA = DATABASE()")}
    assert "idx_msgs_messages_chat_order" in indexes
    assert mem.delete_chat("c")


def test_missing_tables_and_columns_are_schema_errors(db: str) -> None:
    mem = memstore.connect(url(db))
    with pytest.raises(memstore.SchemaError, match=r"'conversation_messages'.*memstore init"):
        mem.get_messages("c")
    with pytest.raises(memstore.SchemaError, match="'working_memory'"):
        mem.update_working_memory(scope="user", user_id="u", content="x")
    assert any("missing" in p for p in mem.doctor())
    mem.init_schema()
    run(db, "ALTER TABLE chat_sessions DROP COLUMN title")
    assert "table chat_sessions lacks columns title" in memstore.connect(url(db)).doctor()
    with pytest.raises(memstore.SchemaError, match="Unknown column") as info:
        memstore.connect(url(db)).get_chat("c")
    assert isinstance(info.value.__cause__, pymysql.err.MySQLError)


# -- upserts and ON UPDATE CURRENT_TIMESTAMP ------------------------------------------------

@pytest.mark.parametrize("tables_by", ["ts", "memstore"])
def test_on_update_current_timestamp_never_moves_updated_at(db: str, tables_by: str) -> None:
    if tables_by == "ts":
        load_ts_schema(db)
    mem = memstore.connect(url(db))
    mem.init_schema()
    assert "on update" in columns(db, "chat_sessions")["updated_at"][2].lower()
    mem.save_chat("c", user_id="owner", title="t", created_at=T, updated_at=T + timedelta(hours=1))
    # an older message: the count goes up, updated_at must not move (GREATEST keeps it)
    mem.save_message("c", "user", "guest's", user_id="guest", timestamp=T)
    chat = mem.get_chat("c")
    assert chat is not None and (chat.message_count, chat.updated_at) == (
        1, T + timedelta(hours=1))
    # delete_user takes the guest's message off the count: an UPDATE of message_count only
    mem.delete_user("guest")
    chat = mem.get_chat("c")
    assert chat is not None and (chat.message_count, chat.updated_at) == (
        0, T + timedelta(hours=1))
    mem.save_chat("c", message_count=5, updated_at=T)  # save_chat sets what it is given
    chat = mem.get_chat("c")
    assert chat is not None and (chat.title, chat.message_count, chat.updated_at) == ("t", 5, T)


def test_upsert_assignments_see_only_old_values(mem_url: str) -> None:
    mem = memstore.connect(mem_url)
    mem.save_message("c", "user", "a", timestamp=T + timedelta(seconds=10))
    mem.save_messages("c", [{"role": "user", "content": "b", "timestamp": T},
                            {"role": "user", "content": "c", "timestamp": T_MS}])
    chat = mem.get_chat("c")
    assert chat is not None
    assert (chat.message_count, chat.created_at, chat.updated_at) == (
        3, T + timedelta(seconds=10), T + timedelta(seconds=10))
    mem.save_messages("c", [{"role": "user", "content": "d", "timestamp": T + timedelta(hours=1)}])
    chat = mem.get_chat("c")
    assert chat is not None and (chat.message_count, chat.updated_at) == (
        4, T + timedelta(hours=1))


# -- batches and their ids -------------------------------------------------------------------

@pytest.mark.parametrize("path", ["returning", "consecutive", "one_by_one", "increment_3"])
def test_batch_ids_are_the_ids_of_the_rows(db: str, path: str) -> None:
    fresh(db).close()
    with closing(backend.raw_connect(db)) as conn:
        if path == "increment_3":  # as on a multi-primary cluster
            conn.cursor().execute("SET SESSION auto_increment_increment = 3")
        mem = memstore.connect(conn)
        adapter: Any = mem.adapter
        dialect = adapter.dialect
        assert dialect.returning  # MariaDB 10.5+
        if path != "returning":
            # MySQL's way (no RETURNING), on this server: the same SQL MySQL gets
            dialect.returning = False
            settings = plan.run(dialect.server_settings(), adapter.execute)
            if path == "one_by_one":  # innodb_autoinc_lock_mode = 2
                dialect._server = adapter_module._Server(settings.max_packet, 2, 1)
        mem.save_message("other", "user", "first")
        saved = mem.save_messages("c", [{"role": "user", "content": f"m{i}"} for i in range(7)])
        rows = dict(run(db, "SELECT id, content FROM conversation_messages"))
        assert [rows[m.id] for m in saved] == [f"m{i}" for i in range(7)]
        if path == "increment_3":
            assert [b - a for a, b in itertools.pairwise(m.id for m in saved)] == [3] * 6
        assert mem.get_messages("c") == saved


def test_a_batch_larger_than_max_allowed_packet_is_split_and_stays_atomic(
        mem_url: str) -> None:
    mem = memstore.connect(mem_url)
    (packet,) = run(mem_url.rsplit("/", 1)[1].split("?")[0], "SELECT @@max_allowed_packet")[0]
    count = packet // (1024 * 1024) + 4
    batch = [{"role": "user", "content": f"{i:04}" + "x" * (1024 * 1024 - 4)}
             for i in range(count)]
    saved = mem.save_messages("big", batch)
    assert [m.content[:4] for m in mem.get_messages("big")] == [f"{i:04}" for i in range(count)]
    assert [m.id for m in saved] == sorted(m.id for m in saved)
    chat = mem.get_chat("big")
    assert chat is not None and chat.message_count == count
    mem.close()


# -- the transaction rule ----------------------------------------------------------------------

@pytest.fixture
def boom_db(db: str) -> str:
    """memstore's tables with a trigger that refuses the content 'boom'."""
    fresh(db).close()
    run(db, "CREATE TABLE audit (note VARCHAR(20)) ENGINE=InnoDB",
        "CREATE TRIGGER no_boom BEFORE INSERT ON conversation_messages FOR EACH ROW "
        "BEGIN IF NEW.content = 'boom' THEN "
        "SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'boom refused'; END IF; END")
    return db


@pytest.mark.parametrize("autocommit", [True, False])
def test_a_write_outside_a_transaction_is_committed(db: str, autocommit: bool) -> None:
    fresh(db).close()
    with closing(backend.raw_connect(db, autocommit=autocommit)) as conn:
        mem = memstore.connect(conn)
        mem.save_message("c", "user", "hello")
        assert not in_transaction(conn)
        assert run(db, "SELECT content FROM conversation_messages") == [("hello",)]


def test_a_write_joins_the_callers_transaction(boom_db: str) -> None:
    with closing(backend.raw_connect(boom_db, autocommit=False)) as conn:
        mem = memstore.connect(conn)
        conn.cursor().execute("INSERT INTO audit VALUES ('before')")
        mem.save_message("c", "user", "inside")
        assert in_transaction(conn), "memstore must not commit the caller's transaction"
        assert [m.content for m in mem.get_messages("c")] == ["inside"]
        assert run(boom_db, "SELECT COUNT(*) FROM conversation_messages") == [(0,)]
        conn.rollback()
        assert mem.get_messages("c") == [] and mem.get_chat("c") is None
        conn.cursor().execute("INSERT INTO audit VALUES ('again')")
        mem.save_message("c", "user", "kept")
        conn.commit()
    assert run(boom_db, "SELECT content FROM conversation_messages") == [("kept",)]
    assert run(boom_db, "SELECT note FROM audit") == [("again",)]


def test_a_transaction_opened_by_a_read_is_joined_too(db: str) -> None:
    """With autocommit off, a SELECT opens the caller's transaction (and its snapshot);
    PyMySQL's flag only shows it after an OK packet, which memstore's probe provides."""
    fresh(db).close()
    run(db, "CREATE TABLE seen (n INT) ENGINE=InnoDB")
    with closing(backend.raw_connect(db, autocommit=False)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT COUNT(*) FROM seen")
        assert cur.fetchone() == (0,)
        run(db, "INSERT INTO seen VALUES (1)")  # committed by another session
        memstore.connect(conn).save_message("c", "user", "x")
        cur.execute("SELECT COUNT(*) FROM seen")
        assert cur.fetchone() == (0,), "the caller's snapshot was committed away"
        conn.rollback()


def test_a_failed_write_keeps_the_callers_work(boom_db: str) -> None:
    with closing(backend.raw_connect(boom_db, autocommit=False)) as conn:
        mem = memstore.connect(conn)
        mem.save_message("c", "user", "caller's")
        conn.cursor().execute("UPDATE chat_sessions SET title = 'mine', updated_at = updated_at "
                              "WHERE chat_id = 'c'")
        with pytest.raises(memstore.BackendError, match="boom refused") as info:
            mem.save_messages("c", [{"role": "user", "content": "ok"},
                                    {"role": "user", "content": "boom"}])
        assert isinstance(info.value.__cause__, pymysql.err.MySQLError)
        assert in_transaction(conn)
        conn.commit()
        assert [m.content for m in mem.get_messages("c")] == ["caller's"]
        chat = mem.get_chat("c")
        assert chat is not None and (chat.title, chat.message_count) == ("mine", 1)


def test_a_failed_batch_on_a_url_connection_leaves_nothing(boom_db: str) -> None:
    mem = memstore.connect(url(boom_db))
    checks.failing_batch_leaves_nothing(mem)


def test_reads_leave_no_transaction_open(db: str) -> None:
    fresh(db).close()
    with closing(backend.raw_connect(db, autocommit=False)) as conn:
        mem = memstore.connect(conn)
        mem.save_message("c", "user", "x")
        for read in (lambda: mem.get_messages("c"), lambda: mem.get_chats(search="x"),
                     lambda: mem.get_chats(), lambda: mem.get_chat("c"),
                     lambda: mem.get_working_memory(scope="chat", chat_id="c"), mem.doctor):
            read()
            assert not in_transaction(conn)
        # inside the caller's transaction a read joins it and leaves it open
        conn.cursor().execute("SELECT 1 FROM conversation_messages")
        mem.get_messages("c")
        assert in_transaction(conn)
        conn.rollback()


def test_init_refuses_to_commit_the_callers_transaction(db: str) -> None:
    with closing(backend.raw_connect(db, autocommit=False)) as conn:
        conn.cursor().execute("CREATE TABLE mine (n INT) ENGINE=InnoDB")
        conn.cursor().execute("INSERT INTO mine VALUES (1)")
        with pytest.raises(memstore.MemstoreError, match="outside your transaction"):
            memstore.connect(conn).init_schema()
        assert in_transaction(conn)
        conn.rollback()
    assert run(db, "SELECT COUNT(*) FROM mine") == [(0,)]


def test_content_beyond_max_allowed_packet_is_refused_naming_the_field(mem_url: str) -> None:
    """9 MiB of quotes take 18 MiB in a statement (PyMySQL escapes each), more than the
    16 MiB max_allowed_packet: a ValidationError naming the field before anything is
    sent (the server would drop the connection), and the same Memory works after."""
    url_mem = memstore.connect(mem_url, max_content_bytes=16 * 1024 * 1024 - 1)
    with url_mem:
        quotes = "'" * (9 * 1024 * 1024)
        with pytest.raises(memstore.ValidationError, match="max_allowed_packet") as info:
            url_mem.save_messages("c", [{"role": "user", "content": "ok"},
                                        {"role": "user", "content": quotes}])
        assert info.value.field == "messages[1].content"
        with pytest.raises(memstore.ValidationError) as info:
            url_mem.update_working_memory(scope="chat", chat_id="c", content=quotes)
        assert info.value.field == "content"
        assert url_mem.get_messages("c") == []
        plain = "a" * (9 * 1024 * 1024)  # fits: 9 MiB in the statement
        url_mem.save_message("c", "user", plain)
        assert url_mem.get_messages("c")[0].content == plain


@pytest.mark.parametrize(("code", "kind"), [
    (1213, memstore.ConflictError), (1205, memstore.ConflictError),
    (1047, memstore.NodeNotReadyError)])
def test_conflicts_and_unready_nodes_get_their_own_error_classes(
        code: int, kind: type[memstore.BackendError]) -> None:
    """How the driver's codes map (a Galera certification failure is 1213, a node cut off
    from its cluster answers 1047); the retry itself is proven on PostgreSQL, where a
    conflict can be forced on purpose (tests/test_postgres.py)."""
    from memstore.adapters.mysql import map_error

    err = map_error(pymysql.err.OperationalError(code, "message from the server"))
    assert type(err) is kind and "message from the server" in str(err)


def test_wsrep_sync_wait_from_the_url_survives_a_reconnect(db: str) -> None:
    """Read-your-writes on Galera without a hand-made connection: the URL option sets the
    session variable (bound by the driver) after every connect, a reconnect included."""
    with memstore.connect(f"{url(db)}&wsrep_sync_wait=1") as mem:
        mem.init_schema()
        assert checks.query(mem, "SELECT @@session.wsrep_sync_wait") == [(1,)]
        conn = mem.adapter.conn
        with closing(backend.raw_connect(db)) as killer:
            killer.cursor().execute(f"KILL {conn.thread_id()}")
        with pytest.raises(memstore.BackendError):
            mem.get_chat("c")  # the call the kill interrupts
        assert checks.query(mem, "SELECT @@session.wsrep_sync_wait") == [(1,)]
    for bad in ("16", "-1", "x", ""):
        with pytest.raises(memstore.ValidationError, match="wsrep_sync_wait"):
            memstore.connect(f"{url(db)}&wsrep_sync_wait={bad}")


def test_session_variables_from_the_url(db: str) -> None:
    """The URL's session variables are checked, then set by their own statement (value
    bound by the driver) after every connect; the caller names them as the server does."""
    options = ("innodb_lock_wait_timeout=7&lock_wait_timeout=11&max_statement_time=2.5"
               "&wait_timeout=3600")
    with memstore.connect(f"{url(db)}&{options}") as mem:
        mem.init_schema()
        read = ("SELECT @@session.innodb_lock_wait_timeout, @@session.lock_wait_timeout, "
                "@@session.max_statement_time, @@session.wait_timeout")
        assert checks.query(mem, read) == [(7, 11, 2.5, 3600)]
        with closing(backend.raw_connect(db)) as killer:
            killer.cursor().execute(f"KILL {mem.adapter.conn.thread_id()}")
        with pytest.raises(memstore.BackendError):
            mem.get_chat("c")  # the call the kill interrupts
        assert checks.query(mem, read) == [(7, 11, 2.5, 3600)]  # set again on reconnect
        mem.save_message("c", "user", "hi")
        assert [m.content for m in mem.get_messages("c")] == ["hi"]


@pytest.mark.parametrize(("option", "reason"), [
    ("innodb_lock_wait_timeout=0", "whole number of seconds from 1"),
    ("lock_wait_timeout=1.5", "whole number of seconds"),
    ("max_statement_time=-1", "positive number of seconds"),
    ("max_statement_time=nan", "positive number of seconds"),
    ("wait_timeout=x", "whole number of seconds"),
    ("max_execution_time=-5", "whole number of milliseconds"),
    ("sql_mode=ANSI", "unknown option 'sql_mode'"),
    ("autocommit=0", "unknown option 'autocommit'"),
])
def test_session_variables_are_refused_before_connecting(option: str, reason: str) -> None:
    """Checked before any connection is opened: the host below does not exist."""
    with pytest.raises(memstore.ValidationError, match=reason) as info:
        memstore.connect(f"mysql://u:p@127.0.0.1:1/db?{option}")
    assert info.value.field == "url"


def test_a_session_variable_the_server_lacks_fails_the_connect(db: str) -> None:
    """max_execution_time is MySQL's, max_statement_time MariaDB's: the server's own
    'unknown system variable' error, not a connection that quietly ignores it."""
    with closing(backend.raw_connect(db)) as conn:
        cur = conn.cursor()
        cur.execute("SELECT VERSION()")
        (version,) = cur.fetchone()
    lacking = "max_execution_time" if "mariadb" in version.lower() else "max_statement_time"
    with pytest.raises(memstore.BackendError, match=lacking):
        memstore.connect(f"{url(db)}&{lacking}=1")
