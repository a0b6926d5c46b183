"""PostgreSQL specifics: the transaction rule, pools and threads, time zones, collations,
schema handling next to the TS package, query plans, round trips and error mapping.

Every test runs against the server in ``$MEMSTORE_TEST_POSTGRES_URL``, in a schema (or a
database) of its own that it drops afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import re
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql
from psycopg.pq import TransactionStatus
from psycopg_pool import AsyncConnectionPool, ConnectionPool

import memstore
from tests import checks
from tests.backend_postgres import SCHEMA, server_url, with_options

FIXTURES = Path(__file__).parent / "fixtures"
T = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T_MS = datetime(2024, 5, 1, 12, 0, 0, 857000, tzinfo=timezone.utc)
IDLE, INTRANS = TransactionStatus.IDLE, TransactionStatus.INTRANS
_numbers = itertools.count()

Conn = psycopg.Connection[Any]
AsyncConn = psycopg.AsyncConnection[Any]


@dataclass
class Scratch:
    schema: str
    raw: Conn  # autocommit, in the schema, for setting up and checking from outside

    def url(self, *options: str) -> str:
        """A URL whose connections work in this schema, with more ``-c`` options."""
        return with_options(server_url(), " ".join([f"-c search_path={self.schema}",
                                                    *options]))

    def rows(self, query: str) -> list[tuple[Any, ...]]:
        """Run SQL (several statements allowed); the rows of the last one, if any."""
        cur = self.raw.execute(query.encode())
        return cur.fetchall() if cur.description else []


@pytest.fixture
def scratch() -> Iterator[Scratch]:
    """A new, empty schema."""
    name = f"{SCHEMA}_{next(_numbers)}"
    admin = psycopg.connect(server_url(), autocommit=True)
    admin.execute("SET lock_timeout = '20s'")  # a leaked connection fails, not hangs
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    scratch = Scratch(name, psycopg.connect(server_url(), autocommit=True))
    scratch.raw.execute(sql.SQL("SET search_path = {}").format(sql.Identifier(name)))
    try:
        yield scratch
    finally:
        scratch.raw.close()
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))
        admin.close()


@pytest.fixture
def ready(scratch: Scratch) -> Scratch:
    """A new schema with memstore's tables."""
    with memstore.connect(scratch.raw) as mem:
        mem.init_schema()
    return scratch


def refuse_boom(s: Scratch) -> None:
    """A trigger that makes the insert of a message 'boom' fail."""
    s.rows("""CREATE FUNCTION no_boom() RETURNS trigger LANGUAGE plpgsql AS $$
              BEGIN IF NEW.content = 'boom' THEN RAISE EXCEPTION 'boom refused'; END IF;
              RETURN NEW; END $$""")
    s.rows("""CREATE TRIGGER no_boom BEFORE INSERT ON conversation_messages
              FOR EACH ROW EXECUTE FUNCTION no_boom()""")


def contents(s: Scratch, chat_id: str = "c") -> list[str]:
    """What another connection sees committed."""
    return [r[0] for r in s.raw.execute(
        "SELECT content FROM conversation_messages WHERE chat_id = %s ORDER BY id",
        (chat_id,)).fetchall()]


# -- the transaction rule ---------------------------------------------------------------


def test_autocommit_connection_commits_each_call(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    mem = memstore.connect(conn)
    mem.save_message("c", "user", "x")
    assert contents(ready) == ["x"]
    assert [m.content for m in mem.get_messages("c")] == ["x"]
    assert conn.info.transaction_status == IDLE
    conn.close()


def test_non_autocommit_connection_is_left_idle_after_every_call(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url())  # psycopg's default: not autocommit
    mem = memstore.connect(conn)
    calls: list[Callable[[], object]] = [
        mem.init_schema, mem.doctor,
        lambda: mem.save_message("c", "user", "x", user_id="u"),
        lambda: mem.save_messages("c", [{"role": "user", "content": "y"}]),
        lambda: mem.get_messages("c"), lambda: mem.get_messages("c", user_id="u"),
        lambda: mem.get_chat("c"), lambda: mem.get_chats(),
        lambda: mem.get_chats(search="none", user_id="u"),
        lambda: mem.update_working_memory(scope="chat", chat_id="c", content="w"),
        lambda: mem.get_working_memory(scope="chat", chat_id="c"),
        lambda: mem.save_chat("d", title="t"), lambda: mem.update_chat_title("d", "T"),
    ]
    for call in calls:
        call()
        assert conn.info.transaction_status == IDLE, call
    assert contents(ready) == ["x", "y"]  # committed: another connection sees them
    assert mem.delete_chat("d") and conn.info.transaction_status == IDLE
    mem.delete_user("u")
    assert conn.info.transaction_status == IDLE and not conn.autocommit
    assert contents(ready) == []  # chat c was u's: it went with the user
    conn.close()


def test_write_joins_the_callers_transaction_block(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    mem = memstore.connect(conn)
    with conn.transaction() as tx:
        mem.save_message("c", "user", "inside")
        assert [m.content for m in mem.get_messages("c")] == ["inside"]
        assert contents(ready) == []  # not committed by memstore
        raise psycopg.Rollback(tx)
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    with conn.transaction():
        mem.save_message("c", "user", "kept")
    assert contents(ready) == ["kept"]
    conn.close()


def test_write_joins_an_implicitly_started_transaction(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url())
    conn.execute("CREATE TABLE audit (note TEXT)")
    conn.commit()
    mem = memstore.connect(conn)
    conn.execute("INSERT INTO audit VALUES ('before')")  # opens the caller's transaction
    assert conn.info.transaction_status == INTRANS
    mem.save_message("c", "user", "inside")
    assert [m.content for m in mem.get_messages("c")] == ["inside"]
    assert conn.info.transaction_status == INTRANS, "memstore must not commit it"
    assert contents(ready) == []
    conn.rollback()
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    conn.execute("INSERT INTO audit VALUES ('again')")
    mem.save_message("c", "user", "kept")
    conn.commit()
    assert contents(ready) == ["kept"]
    assert ready.rows("SELECT note FROM audit") == [("again",)]
    conn.close()


def test_a_failed_write_inside_the_callers_transaction_keeps_the_callers_work(
        ready: Scratch) -> None:
    refuse_boom(ready)
    conn = psycopg.connect(ready.url())
    mem = memstore.connect(conn)
    mem.save_message("c", "user", "caller's")
    conn.execute("UPDATE chat_sessions SET title = 'mine' WHERE chat_id = 'c'")
    with pytest.raises(memstore.BackendError, match="boom refused") as info:
        mem.save_messages("c", [{"role": "user", "content": "ok"},
                                {"role": "user", "content": "boom"}])
    assert isinstance(info.value.__cause__, psycopg.errors.RaiseException)
    # rolled back to memstore's savepoint: the caller's transaction is still usable
    assert conn.info.transaction_status == INTRANS
    conn.commit()
    assert contents(ready) == ["caller's"]
    chat = mem.get_chat("c")
    assert chat is not None and (chat.title, chat.message_count) == ("mine", 1)
    conn.close()


def test_failed_batch_on_a_url_connection_leaves_nothing(ready: Scratch) -> None:
    refuse_boom(ready)
    with memstore.connect(ready.url()) as mem:
        checks.failing_batch_leaves_nothing(mem)


# -- round trips ------------------------------------------------------------------------


def round_trips(conn: Conn, call: Callable[[], object]) -> int:
    """How many times ``call`` waited for the server (ReadyForQuery messages)."""
    with tempfile.TemporaryFile("w+") as trace:
        conn.pgconn.trace(trace.fileno())
        try:
            call()
        finally:
            conn.pgconn.untrace()
        trace.seek(0)
        return sum(1 for line in trace if "\tReadyForQuery" in line)


def every_call(mem: memstore.Memory) -> list[Callable[[], object]]:
    batch = [{"role": "user", "content": str(i)} for i in range(3)]
    return [
        lambda: mem.save_message("c", "user", "x", user_id="u"),
        lambda: mem.save_messages("c", batch, user_id="u"),
        lambda: mem.save_messages("d", batch, user_id="v"),
        lambda: mem.get_messages("c"), lambda: mem.get_messages("c", user_id="u"),
        lambda: mem.update_working_memory(scope="user", user_id="u", content="w"),
        lambda: mem.get_working_memory(scope="user", user_id="u"),
        lambda: mem.save_chat("c", title="Trip"), lambda: mem.update_chat_title("e", "x"),
        lambda: mem.get_chat("c"), lambda: mem.get_chats(), lambda: mem.get_chats(user_id="u"),
        lambda: mem.get_chats(search="trip"),
        lambda: mem.delete_chat("d"), lambda: mem.delete_user("u"),
    ]


def test_every_call_is_one_round_trip_on_an_autocommit_connection(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    mem = memstore.connect(conn)
    for i, call in enumerate(every_call(mem)):
        assert round_trips(conn, call) == 1, i
    conn.close()


def test_non_autocommit_connection_costs_begin_and_commit(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url())
    mem = memstore.connect(conn)
    for i, call in enumerate(every_call(mem)):
        assert round_trips(conn, call) == 3, i
    conn.close()


# -- pools and threads ------------------------------------------------------------------


def hammer(mem: memstore.Memory, threads: int = 8, rounds: int = 15) -> None:
    """``threads`` threads each save to a chat of their own and to one shared chat."""
    def work(i: int) -> None:
        for j in range(rounds):
            mem.save_messages(f"t{i}", [{"role": "user", "content": f"{i}.{j}.{k}"}
                                        for k in range(3)], user_id=f"u{i}")
            mem.save_message("shared", "user", f"{i}.{j}", user_id=f"u{i}")
            assert len(mem.get_messages(f"t{i}", limit=3)) == 3
            mem.update_working_memory(scope="chat", chat_id="shared", content=f"{i}.{j}")

    with ThreadPoolExecutor(threads) as ex:
        list(ex.map(work, range(threads)))
    for i in range(threads):
        got = [m.content for m in mem.get_messages(f"t{i}", limit=10_000)]
        assert got == [f"{i}.{j}.{k}" for j in range(rounds) for k in range(3)]
        chat = mem.get_chat(f"t{i}")
        assert chat is not None and (chat.user_id, chat.message_count) == (f"u{i}", 3 * rounds)
    shared = mem.get_messages("shared", limit=10_000)
    assert len(shared) == threads * rounds
    for i in range(threads):  # each thread's messages in its own order
        assert [m.content for m in shared if m.user_id == f"u{i}"] == [
            f"{i}.{j}" for j in range(rounds)]
    chat = mem.get_chat("shared")
    assert chat is not None and chat.message_count == threads * rounds


def test_a_pool_used_from_8_threads(ready: Scratch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="psycopg")
    with ConnectionPool(ready.url(), min_size=2, max_size=4, timeout=30) as pool:
        with memstore.connect(pool) as mem:
            hammer(mem)
        # every connection came back idle, with the pool's own autocommit setting
        stats = pool.get_stats()
        assert stats["pool_available"] == stats["pool_size"]
        with pool.connection() as conn:
            assert conn.info.transaction_status == IDLE and not conn.autocommit
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_pool_connection_is_borrowed_for_exactly_one_call(ready: Scratch) -> None:
    with ConnectionPool(ready.url(), min_size=1, max_size=1, timeout=1) as pool:
        mem = memstore.connect(pool)
        with pool.connection() as conn:  # the pool's only connection, not autocommit
            assert not conn.autocommit
        for i, call in enumerate(every_call(mem)):
            # switched to autocommit for the call, so one round trip; then given back
            assert round_trips(conn, call) == 1, i
            assert pool.get_stats()["pool_available"] == 1, i
        assert not conn.autocommit
        with pool.connection(), pytest.raises(memstore.BackendError, match="PoolTimeout"):
            mem.get_chat("c")  # the only connection is out: wait, then fail


def test_a_url_memory_shared_by_8_threads(ready: Scratch) -> None:
    with memstore.connect(ready.url()) as mem:
        hammer(mem)


def test_a_lost_url_connection_is_replaced_on_the_next_call(ready: Scratch) -> None:
    with memstore.connect(ready.url()) as mem:
        mem.save_message("c", "user", "before")
        pid = int(mem.adapter.source._conn.info.backend_pid)  # type: ignore[attr-defined]
        ready.rows(f"SELECT pg_terminate_backend({pid})")  # as a server restart would
        for _ in range(1000):  # until the session is gone (bounded)
            if not ready.rows(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}"):
                break
            time.sleep(0.01)
        assert [m.content for m in mem.get_messages("c")] == ["before"]
        # lost during a call: that call fails, the next one reconnects
        with pytest.raises(memstore.BackendError) as info, \
                mem.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
            cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        assert isinstance(info.value.__cause__, psycopg.OperationalError)
        mem.save_message("c", "user", "after")
        assert [m.content for m in mem.get_messages("c")] == ["before", "after"]


# -- time zones -------------------------------------------------------------------------


def check_utc_instants(mem: memstore.Memory, s: Scratch) -> None:
    """memstore stores and returns UTC instants as UTC wall-clock TIMESTAMP values, and
    reads rows the TS package wrote (naive UTC literals) as the same instants."""
    mem.save_message("c", "user", "memstore", timestamp=T_MS)
    mem.save_chat("k", created_at=T, updated_at=T_MS)
    mem.update_working_memory(scope="user", user_id="u", content="w")  # clock: T_MS
    assert s.rows("SELECT timestamp::text FROM conversation_messages") == [
        ("2024-05-01 12:00:00.857",)]
    assert s.rows("SELECT created_at::text, updated_at::text FROM chat_sessions "
                  "WHERE chat_id = 'k'") == [("2024-05-01 12:00:00", "2024-05-01 12:00:00.857")]
    assert s.rows("SELECT updated_at::text FROM working_memory") == [("2024-05-01 12:00:00.857",)]
    s.rows("INSERT INTO conversation_messages (chat_id, role, content, timestamp) "
           "VALUES ('c', 'user', 'ts', '2024-05-01 12:00:00.857')")
    assert [(m.content, m.timestamp) for m in mem.get_messages("c")] == [
        ("memstore", T_MS), ("ts", T_MS)]
    chat = mem.get_chat("k")
    assert chat is not None and (chat.created_at, chat.updated_at) == (T, T_MS)
    wm = mem.get_working_memory(scope="user", user_id="u")
    assert wm is not None and wm.updated_at == T_MS


def test_session_time_zone_set_on_the_connection(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    conn.execute("SET TimeZone = 'America/New_York'")
    check_utc_instants(memstore.connect(conn, clock=lambda: T_MS), ready)
    conn.close()


def test_session_time_zone_from_the_url_options(ready: Scratch) -> None:
    with memstore.connect(ready.url("-c TimeZone=Pacific/Chatham"), clock=lambda: T_MS) as mem:
        with mem.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
            cur.execute("SHOW TimeZone")
            assert cur.fetchone() == ("Pacific/Chatham",)
        check_utc_instants(mem, ready)


def test_session_variables_from_the_url_options_sync_and_async(ready: Scratch) -> None:
    """libpq's own `options` URL parameter is PostgreSQL's general way to set session
    variables: the server checks each (memstore builds no SQL from it), for memstore's
    own connections, sync and async, and again after a reconnect."""
    url = ready.url("-c statement_timeout=1234", "-c lock_timeout=500",
                    "-c idle_in_transaction_session_timeout=60000")
    read = "SELECT current_setting('statement_timeout'), current_setting('lock_timeout'), " \
           "current_setting('idle_in_transaction_session_timeout')"
    expected = [("1234ms", "500ms", "1min")]
    with memstore.connect(url) as mem:
        assert checks.query(mem, read) == expected
        pid = int(mem.adapter.source._conn.info.backend_pid)  # type: ignore[attr-defined]
        ready.rows(f"SELECT pg_terminate_backend({pid})")
        with contextlib.suppress(memstore.BackendError):
            mem.get_chat("c")  # may be the call that finds the connection gone
        assert checks.query(mem, read) == expected

    async def async_side() -> list[Any]:
        async with await memstore.connect_async(url) as amem:
            return await checks.aquery(amem, read)
    assert asyncio.run(async_side()) == expected
    with pytest.raises(memstore.BackendError, match="statement_timeoutt"):
        memstore.connect(ready.url("-c statement_timeoutt=5"))
    with pytest.raises(memstore.BackendError, match="statement_timeout"):
        memstore.connect(ready.url("-c statement_timeout=soon"))


# -- a database with another collation and a role-level time zone ------------------------


@pytest.fixture(scope="module")
def other_db() -> Iterator[str]:
    """A database whose default collation is not C (ICU root, else en_US), where the
    test role's TimeZone is America/New_York (ALTER ROLE ... IN DATABASE ... SET)."""
    name = f"{SCHEMA}_db"
    admin = psycopg.connect(server_url(), autocommit=True)
    icu = admin.execute("SELECT 1 FROM pg_collation WHERE collname = 'und-x-icu'").fetchone()
    libc = admin.execute("SELECT collcollate FROM pg_collation WHERE collname IN "
                         "('en_US.utf8', 'en_US.UTF-8') LIMIT 1").fetchone()
    ident = sql.Identifier(name)
    if icu:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                              "LOCALE_PROVIDER icu ICU_LOCALE 'und' LOCALE 'C'").format(ident))
    elif libc:
        admin.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' "
                              "LOCALE {}").format(ident, sql.Literal(libc[0])))
    else:
        admin.close()
        pytest.skip("the server has neither ICU nor an en_US locale")
    admin.execute(sql.SQL("ALTER ROLE CURRENT_USER IN DATABASE {} "
                          "SET TimeZone = 'America/New_York'").format(ident))
    url = urlunsplit(urlsplit(server_url())._replace(path=f"/{name}"))
    try:
        yield url
    finally:
        admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident))
        admin.close()


def test_chat_ids_order_by_code_point_under_a_non_c_collation(other_db: str) -> None:
    ids = ["b", "B", "a", "A", "é", "e\u0301", "Z", "_x", "c1", "c1 ", "C1", "𝄞", "ä"]
    with memstore.connect(other_db) as mem:
        mem.init_schema()
        for chat_id in ids:
            mem.save_chat(chat_id, user_id="u", title="t", created_at=T, updated_at=T)
        with mem.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
            cur.execute("SELECT chat_id FROM chat_sessions ORDER BY chat_id")
            collated = [r[0] for r in cur.fetchall()]
        assert collated != sorted(ids), "the database's collation should differ from C"
        assert [c.chat_id for c in mem.get_chats()] == sorted(ids)
        assert [c.chat_id for c in mem.get_chats(user_id="u")] == sorted(ids)
        assert [c.chat_id for c in mem.get_chats(search="T", limit=5)] == sorted(ids)[:5]
        for chat_id in ids:  # equality stays exact: no two ids merge
            chat = mem.get_chat(chat_id)
            assert chat is not None and chat.chat_id == chat_id
        mem.delete_user("u")


def test_role_level_time_zone(other_db: str) -> None:
    with memstore.connect(other_db, clock=lambda: T_MS) as mem:
        mem.init_schema()
        with mem.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
            cur.execute("SHOW TimeZone")
            assert cur.fetchone() == ("America/New_York",)
        conn = psycopg.connect(other_db, autocommit=True)
        try:
            s = Scratch("public", conn)
            check_utc_instants(mem, s)
            s.rows("TRUNCATE working_memory, conversation_messages, chat_sessions")
        finally:
            conn.close()


# -- schema: init, the TS package's tables, doctor ---------------------------------------


def test_init_twice_and_over_the_ts_packages_tables(scratch: Scratch) -> None:
    scratch.rows((FIXTURES / "ts_schema_postgres.sql").read_text())
    # rows as the TS package writes them: toISOString() of the instant, naive UTC
    scratch.rows("""
      INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
      VALUES ('c', 'u', 'user', 'from ts', '2024-05-01 12:00:00.857');
      INSERT INTO chat_sessions (chat_id, user_id, title, created_at, updated_at, message_count)
      VALUES ('c', 'u', 'TS chat', '2024-05-01 12:00:00', '2024-05-01 12:00:00.857', 1);
      INSERT INTO working_memory (id, scope, chat_id, user_id, content, updated_at)
      VALUES ('user:u', 'user', 'c', 'u', '# facts', '2024-05-01 12:00:00.857')""")
    with memstore.connect(scratch.url()) as mem:
        assert mem.doctor() == [
            # memstore's own tables and indexes (the TS package has none of them)
            "table memstore_message_status is missing: run `memstore init URL`",
            "table memstore_search is missing: run `memstore init URL`",
            "table memstore_vectors is missing: run `memstore init URL`",
            "index idx_messages_chat_order is missing: run `memstore init URL`",
            "index idx_messages_user is missing: run `memstore init URL`",
            "index idx_memstore_search_chat is missing: run `memstore init URL`",
            "index idx_memstore_search_user is missing: run `memstore init URL`",
            "index idx_memstore_vectors_chat is missing: run `memstore init URL`",
            "index idx_memstore_vectors_user is missing: run `memstore init URL`"]
        mem.init_schema()
        mem.init_schema()
        assert mem.doctor() == []
        assert [(m.id, m.content, m.timestamp) for m in mem.get_messages("c")] == [
            (1, "from ts", T_MS)]
        assert mem.get_chat("c") == memstore.Chat("c", "u", "TS chat", T, T_MS, 1)
        wm = mem.get_working_memory(scope="user", user_id="u")
        assert wm is not None and (wm.content, wm.updated_at) == ("# facts", T_MS)
        assert mem.save_message("c", "assistant", "from memstore", timestamp=T_MS).id == 2
        assert [m.content for m in mem.get_messages("c")] == ["from ts", "from memstore"]


def test_the_ts_packages_sql_runs_over_memstores_tables(scratch: Scratch) -> None:
    with memstore.connect(scratch.url()) as mem:
        mem.init_schema()
        mem.save_message("c", "user", "x")
        scratch.rows((FIXTURES / "ts_schema_postgres.sql").read_text())
        assert mem.doctor() == []
        assert [m.content for m in mem.get_messages("c")] == ["x"]


def test_doctor_names_what_is_wrong(scratch: Scratch) -> None:
    with memstore.connect(scratch.url()) as mem:
        problems = mem.doctor()
        for table in ("working_memory", "conversation_messages", "chat_sessions"):
            assert f"table {table} is missing: run `memstore init URL`" in problems
        mem.init_schema()
        scratch.rows("ALTER TABLE chat_sessions ALTER COLUMN updated_at TYPE timestamptz")
        scratch.rows("ALTER TABLE working_memory DROP COLUMN scope")
        assert mem.doctor() == [
            "table working_memory lacks columns scope",
            "column chat_sessions.updated_at is timestamp with time zone; memstore and the "
            "TS package store UTC wall-clock time in timestamp without time zone",
            # dropping the column dropped the index on it too
            "index idx_working_memory_scope is missing: run `memstore init URL`"]


def test_custom_table_names(scratch: Scratch) -> None:
    tables = {"working_memory": "wm", "messages": "msgs", "chats": "chats"}
    with memstore.connect(scratch.url(), tables=tables) as mem:
        mem.init_schema()
        mem.save_message("c", "user", "x")
        mem.update_working_memory(scope="chat", chat_id="c", content="y")
        names = {r[0] for r in scratch.rows(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace")}
        assert {"wm", "msgs", "chats", "idx_msgs_messages_chat_order"} <= names
        assert not names & {"working_memory", "conversation_messages", "chat_sessions"}
        assert mem.doctor() == []
        assert mem.delete_chat("c")
        assert scratch.rows("SELECT count(*) FROM wm") == [(0,)]


# -- query plans ----------------------------------------------------------------------


def test_last_n_is_an_index_range_scan_without_a_sort(ready: Scratch) -> None:
    # 120k messages over 100 chats, plus one chat of 30k with many equal timestamps.
    # (For a chat with fewer matching rows than the limit the planner may rightly prefer
    # to sort those few; what matters is that a long chat is never read and sorted whole.)
    ready.rows("""
      INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
      SELECT 'chat' || (g % 100), CASE WHEN g % 3 = 0 THEN NULL ELSE 'u' || (g % 7) END,
             'user', 'message ' || g, timestamp '2024-01-01' + g * interval '1 second'
      FROM generate_series(1, 120000) g;
      INSERT INTO conversation_messages (chat_id, user_id, role, content, timestamp)
      SELECT 'big', 'u' || (g % 2), 'user', 'message ' || g,
             timestamp '2024-01-01' + (g / 10) * interval '1 second'
      FROM generate_series(1, 30000) g;
      ANALYZE conversation_messages""")
    with memstore.connect(ready.url()) as mem:
        adapter: Any = mem.adapter
        with adapter.reading() as (_, cur):
            for chat_id in ("chat7", "big"):
                for name in ("last_messages", "last_messages_of_user"):
                    cur.execute("EXPLAIN " + adapter.sql[name],
                                {"chat_id": chat_id, "user_id": "u1", "limit": 50})
                    plan = "\n".join(r[0] for r in cur.fetchall())
                    assert re.search(r"Index (Only )?Scan Backward using "
                                     r"idx_messages_chat_order", plan), plan
                    assert "Sort" not in plan, plan
        got = mem.get_messages("big", limit=15)
        assert [m.content for m in got] == [f"message {g}" for g in range(29986, 30001)]


# -- errors ---------------------------------------------------------------------------


def test_missing_tables_raise_schema_error_naming_the_table(scratch: Scratch) -> None:
    with memstore.connect(scratch.url()) as mem:
        with pytest.raises(memstore.SchemaError,
                           match=r"'conversation_messages'.*memstore init") as info:
            mem.get_messages("c")
        assert isinstance(info.value.__cause__, psycopg.errors.UndefinedTable)
        with pytest.raises(memstore.SchemaError, match="'working_memory'"):
            mem.update_working_memory(scope="user", user_id="u", content="x")
        with pytest.raises(memstore.SchemaError, match="'chat_sessions'"):
            mem.get_chats()
        with pytest.raises(memstore.SchemaError, match="memstore init"):
            mem.save_message("c", "user", "x")


def test_a_missing_column_raises_schema_error(scratch: Scratch) -> None:
    scratch.rows("""CREATE TABLE conversation_messages (
                      id SERIAL PRIMARY KEY, chat_id TEXT NOT NULL, user_id TEXT,
                      content TEXT NOT NULL, timestamp TIMESTAMP NOT NULL)""")
    with memstore.connect(scratch.url()) as mem:
        with pytest.raises(memstore.SchemaError, match=r'column "role" does not exist') as info:
            mem.get_messages("c")
        assert isinstance(info.value.__cause__, psycopg.errors.UndefinedColumn)


def test_connection_failures_are_backend_errors() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(memstore.BackendError) as info:
        memstore.connect(f"postgresql://memstore:wrong@127.0.0.1:{port}/db")
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    assert time.monotonic() - started < 10
    parts = urlsplit(server_url())
    wrong_password = parts._replace(netloc=f"memstore:wrong@{parts.hostname}:{parts.port}")
    with pytest.raises(memstore.BackendError, match="password"):
        memstore.connect(urlunsplit(wrong_password))


def connection_parameter(url: str, name: str) -> str:
    with memstore.connect(url) as mem, mem.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
        return str(cur.connection.info.get_parameters()[name])


def test_connect_timeout_defaults_to_10_seconds_and_the_url_can_change_it() -> None:
    assert connection_parameter(server_url(), "connect_timeout") == "10"
    url = server_url() + ("&" if "?" in server_url() else "?") + "connect_timeout=3"
    assert connection_parameter(url, "connect_timeout") == "3"


def test_bad_urls_and_objects_are_validation_errors() -> None:
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect("postgresql://127.0.0.1/db?no_such_option=1")
    assert info.value.field == "url"
    with pytest.raises(memstore.ValidationError) as info:
        memstore.connect(sql.SQL("SELECT 1"))  # a psycopg object that is no connection
    assert info.value.field == "target"
    with pytest.raises(memstore.ValidationError) as info:
        asyncio.run(memstore.connect_async(sql.SQL("SELECT 1")))
    assert info.value.field == "target"


def test_the_wrong_kind_of_connection_is_a_validation_error(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    try:
        with pytest.raises(memstore.ValidationError, match="connect_async") as info:
            memstore.connect(asyncio.run(_async_connection(ready.url(), close=True)))
        assert info.value.field == "target"
        with pytest.raises(memstore.ValidationError, match=r"memstore\.connect\(\)") as info:
            asyncio.run(memstore.connect_async(conn))
        assert info.value.field == "target"
        with ConnectionPool(ready.url(), min_size=1, open=True) as pool, \
                pytest.raises(memstore.ValidationError, match=r"memstore\.connect\(\)"):
            asyncio.run(memstore.connect_async(pool))

        async def async_pool_in_sync_connect() -> None:
            async with AsyncConnectionPool(ready.url(), min_size=1, open=False) as apool:
                with pytest.raises(memstore.ValidationError, match="connect_async"):
                    memstore.connect(apool)

        asyncio.run(async_pool_in_sync_connect())
        assert conn.execute("SELECT 1").fetchone() == (1,)  # untouched
    finally:
        conn.close()


async def _async_connection(url: str, *, close: bool = False,
                            autocommit: bool = True) -> AsyncConn:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=autocommit)
    if close:
        await conn.close()
    return conn


def test_a_closed_url_memory_stays_closed(ready: Scratch) -> None:
    mem = memstore.connect(ready.url())
    mem.close()
    with pytest.raises(memstore.ClosedError, match="closed"):
        mem.get_chat("c")
    mem.close()  # twice is fine


def test_a_passed_connection_stays_open_after_close(ready: Scratch) -> None:
    conn = psycopg.connect(ready.url(), autocommit=True)
    with memstore.connect(conn) as mem:
        mem.save_message("c", "user", "x")
    assert conn.execute("SELECT 1").fetchone() == (1,)
    conn.close()


# -- AsyncMemory on psycopg's AsyncConnection ---------------------------------------------


def test_an_async_pool_runs_32_tasks_in_parallel(ready: Scratch,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="psycopg")
    tasks, rounds = 32, 5

    async def main() -> None:
        async with AsyncConnectionPool(ready.url(), min_size=2, max_size=8, timeout=30,
                                       open=False) as pool:
            mem = await memstore.connect_async(pool)

            # Parallel, not taking turns: 8 saves that each wait 0.3 s in the server and
            # record how many client sessions were running a statement meanwhile (taking
            # turns, that is always 1; no clock is read, so a slow machine cannot fail it).
            ready.rows("CREATE TABLE overlap (n int)")
            ready.rows("""CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS $$
                          BEGIN PERFORM pg_sleep(0.3);
                          INSERT INTO overlap SELECT count(*) FROM pg_stat_activity
                          WHERE state = 'active' AND backend_type = 'client backend'
                            AND query LIKE '%conversation_messages%';
                          RETURN NULL; END $$""")
            ready.rows("""CREATE TRIGGER slow AFTER INSERT ON conversation_messages
                          FOR EACH STATEMENT EXECUTE FUNCTION slow()""")
            await asyncio.gather(*(mem.save_message(f"slow{i}", "user", "x")
                                   for i in range(8)))
            ready.rows("DROP TRIGGER slow ON conversation_messages")
            assert ready.rows("SELECT max(n) FROM overlap")[0][0] >= 2
            ready.rows("DROP TABLE overlap")

            async def work(i: int) -> None:
                for j in range(rounds):
                    batch = [{"role": "user", "content": f"{i}.{j}.{k}"} for k in range(3)]
                    saved = await mem.save_messages(f"t{i}", batch, user_id=f"u{i}")
                    assert [m.content for m in saved] == [b["content"] for b in batch]
                    assert [m.id for m in saved] == sorted(m.id for m in saved)
                    await mem.save_message("shared", "user", f"{i}.{j}", user_id=f"u{i}")
                    got = await mem.get_messages(f"t{i}", limit=3)
                    assert [m.content for m in got] == [b["content"] for b in batch]
                    await mem.update_working_memory(scope="chat", chat_id="shared",
                                                    content=f"{i}.{j}")

            await asyncio.gather(*(work(i) for i in range(tasks)))
            for i in range(tasks):
                got = [m.content for m in await mem.get_messages(f"t{i}", limit=10_000)]
                assert got == [f"{i}.{j}.{k}" for j in range(rounds) for k in range(3)]
                chat = await mem.get_chat(f"t{i}")
                assert chat is not None
                assert (chat.user_id, chat.message_count) == (f"u{i}", 3 * rounds)
            shared = await mem.get_messages("shared", limit=10_000)
            assert len(shared) == tasks * rounds
            for i in range(tasks):
                assert [m.content for m in shared if m.user_id == f"u{i}"] == [
                    f"{i}.{j}" for j in range(rounds)]
            await mem.aclose()
            # every connection came back idle, with the pool's own autocommit setting
            stats = pool.get_stats()
            assert stats["pool_available"] == stats["pool_size"]
            async with pool.connection() as conn:
                assert conn.info.transaction_status == IDLE and not conn.autocommit

    asyncio.run(main())
    assert ready.rows("SELECT count(*) FROM conversation_messages") == [
        (8 + tasks * rounds * 4,)]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_an_async_pool_refuses_calls_from_another_event_loop(ready: Scratch) -> None:
    loop = asyncio.new_event_loop()
    pool = AsyncConnectionPool(ready.url(), min_size=1, max_size=2, open=False)

    async def opened() -> memstore.AsyncMemory:
        await pool.open()
        mem = await memstore.connect_async(pool)
        await mem.save_message("c", "user", "x")
        return mem

    try:
        mem = loop.run_until_complete(opened())
        with pytest.raises(memstore.MemstoreError, match="bound to the event loop"):
            asyncio.run(mem.get_chat("c"))
        chat = loop.run_until_complete(mem.get_chat("c"))  # its own loop still works
        assert chat is not None and chat.message_count == 1
        loop.run_until_complete(mem.aclose())
    finally:
        loop.run_until_complete(pool.close())
        loop.close()


def test_a_callers_async_connection_joins_its_transaction_with_a_savepoint(
        ready: Scratch) -> None:
    refuse_boom(ready)

    async def main() -> None:
        conn = await _async_connection(ready.url())
        mem = await memstore.connect_async(conn)
        async with conn.transaction():
            await mem.save_message("c", "user", "caller's")
            await conn.execute("UPDATE chat_sessions SET title = 'mine' WHERE chat_id = 'c'")
            with pytest.raises(memstore.BackendError, match="boom refused") as info:
                await mem.save_messages("c", [{"role": "user", "content": "ok"},
                                              {"role": "user", "content": "boom"}])
            assert isinstance(info.value.__cause__, psycopg.errors.RaiseException)
            # rolled back to memstore's savepoint: the caller's transaction goes on
            assert conn.info.transaction_status == INTRANS
            assert contents(ready) == []  # nothing committed by memstore
        assert contents(ready) == ["caller's"]
        chat = await mem.get_chat("c")
        assert chat is not None and (chat.title, chat.message_count) == ("mine", 1)

        # the caller's rollback undoes memstore's write
        async with conn.transaction() as tx:
            await mem.save_message("c", "user", "undone")
            assert [m.content for m in await mem.get_messages("c")] == ["caller's", "undone"]
            raise psycopg.Rollback(tx)
        assert [m.content for m in await mem.get_messages("c")] == ["caller's"]
        chat = await mem.get_chat("c")
        assert chat is not None and chat.message_count == 1
        assert conn.info.transaction_status == IDLE and conn.autocommit
        await mem.aclose()
        assert (await (await conn.execute("SELECT 1")).fetchone()) == (1,)  # still open
        await conn.close()

    asyncio.run(main())
    assert contents(ready) == ["caller's"]


def test_a_callers_non_autocommit_async_connection_is_left_idle(ready: Scratch) -> None:
    async def main() -> None:
        conn = await _async_connection(ready.url(), autocommit=False)
        mem = await memstore.connect_async(conn)
        await mem.save_message("c", "user", "x", user_id="u")
        assert conn.info.transaction_status == IDLE
        assert [m.content for m in await mem.get_messages("c")] == ["x"]
        assert conn.info.transaction_status == IDLE
        assert await mem.doctor() == [] and conn.info.transaction_status == IDLE
        assert contents(ready) == ["x"]  # committed
        # inside an implicitly started transaction of the caller: joined, not committed
        await conn.execute("SELECT 1")
        assert conn.info.transaction_status == INTRANS
        await mem.save_message("c", "user", "y")
        assert conn.info.transaction_status == INTRANS and contents(ready) == ["x"]
        await conn.rollback()
        assert contents(ready) == ["x"] and not conn.autocommit
        await mem.aclose()
        await conn.close()

    asyncio.run(main())


def test_cancelled_mid_batch_the_batch_is_whole_or_absent(ready: Scratch) -> None:
    batch = [{"role": "user", "content": f"{i} " + "y" * 200} for i in range(5000)]

    async def main() -> None:
        async with await memstore.connect_async(ready.url()) as mem:
            await mem.save_message("other", "user", "before")
            task = asyncio.create_task(mem.save_messages("big", batch))
            await asyncio.sleep(0.005)
            assert not task.done(), "the batch finished before the cancel; make it larger"
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            count = ready.rows("SELECT count(*) FROM conversation_messages "
                               "WHERE chat_id = 'big'")[0][0]
            assert count in (0, 5000)
            chat = await mem.get_chat("big")
            assert (chat.message_count if chat else 0) == count
            # the connection is usable and idle: the next call works
            await mem.save_message("other", "user", "after")
            assert [m.content for m in await mem.get_messages("other")] == ["before", "after"]
            conn = mem.adapter.source._conn
            assert conn.info.transaction_status == IDLE

    asyncio.run(main())


def test_one_async_memory_from_a_url_shared_by_two_event_loops(ready: Scratch) -> None:
    mem = asyncio.run(memstore.connect_async(ready.url()))  # that loop is gone now
    rounds, tasks = 10, 4
    errors: list[BaseException] = []

    def thread(t: int) -> None:
        async def task(k: int) -> None:
            for j in range(rounds):
                await mem.save_message(f"l{t}", "user", f"{k}.{j}", user_id=f"u{t}")
                await mem.save_message("shared", "user", f"{t}.{k}.{j}")
                assert len(await mem.get_messages(f"l{t}", limit=3)) >= 1

        async def main() -> None:
            await asyncio.gather(*(task(k) for k in range(tasks)))

        try:
            asyncio.run(main())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=thread, args=(t,)) for t in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=120)
    assert not any(th.is_alive() for th in threads) and not errors, errors

    async def check() -> None:
        for t in range(2):
            got = [m.content for m in await mem.get_messages(f"l{t}", limit=10_000)]
            assert sorted(got) == sorted(f"{k}.{j}" for k in range(tasks)
                                         for j in range(rounds))
            for k in range(tasks):  # each task's messages in its own order
                assert [c for c in got if c.startswith(f"{k}.")] == [
                    f"{k}.{j}" for j in range(rounds)]
        chat = await mem.get_chat("shared")
        assert chat is not None and chat.message_count == 2 * tasks * rounds
        await mem.aclose()

    asyncio.run(check())


def test_a_lost_async_url_connection_is_replaced_on_the_next_call(ready: Scratch) -> None:
    async def main() -> None:
        async with await memstore.connect_async(ready.url()) as mem:
            await mem.save_message("c", "user", "before")
            pid = int(mem.adapter.source._conn.info.backend_pid)
            ready.rows(f"SELECT pg_terminate_backend({pid})")
            for _ in range(1000):  # until the session is gone (bounded)
                if not ready.rows(f"SELECT 1 FROM pg_stat_activity WHERE pid = {pid}"):
                    break
                await asyncio.sleep(0.01)
            assert [m.content for m in await mem.get_messages("c")] == ["before"]
            # lost during a call: that call fails, the next one reconnects
            with pytest.raises(memstore.BackendError) as info:
                async with mem.adapter.reading() as (_, cur):
                    await cur.execute("SELECT pg_terminate_backend(pg_backend_pid())")
            assert isinstance(info.value.__cause__, psycopg.OperationalError)
            await mem.save_message("c", "user", "after")
            assert [m.content for m in await mem.get_messages("c")] == ["before", "after"]

    asyncio.run(main())


def test_an_async_url_connection_has_memstores_options(ready: Scratch) -> None:
    async def parameters(url: str) -> dict[str, str]:
        async with await memstore.connect_async(url) as mem, \
                mem.adapter.reading() as (conn, _):
            assert conn.autocommit
            return dict(conn.info.get_parameters())

    assert asyncio.run(parameters(server_url()))["connect_timeout"] == "10"
    url = server_url() + ("&" if "?" in server_url() else "?") + "connect_timeout=3"
    assert asyncio.run(parameters(url))["connect_timeout"] == "3"
    async def app_name() -> str:
        async with await memstore.connect_async(ready.url()) as mem, \
                mem.adapter.reading() as (_, cur):
            await cur.execute("SHOW application_name")
            row = await cur.fetchone()
            return str(row[0])

    assert asyncio.run(app_name()) == "memstore"


def test_async_connection_failures_and_bad_urls() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(memstore.BackendError) as info:
        asyncio.run(memstore.connect_async(f"postgresql://memstore:wrong@127.0.0.1:{port}/db"))
    assert isinstance(info.value.__cause__, psycopg.OperationalError)
    with pytest.raises(memstore.ValidationError) as verr:
        asyncio.run(memstore.connect_async("postgresql://127.0.0.1/db?no_such_option=1"))
    assert verr.value.field == "url"


def test_a_closed_async_memory_stays_closed(ready: Scratch) -> None:
    async def main() -> None:
        mem = await memstore.connect_async(ready.url())
        conn = mem.adapter.source._conn
        await mem.aclose()
        assert conn.closed  # what memstore opened is closed
        with pytest.raises(memstore.ClosedError, match="closed"):
            await mem.get_chat("c")
        await mem.aclose()  # twice is fine

    asyncio.run(main())


# -- conflicts: retried in memstore's own transaction, never in the caller's -----------------

FAIL_ONCE = """
CREATE SEQUENCE conflicts;
CREATE FUNCTION conflict() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- nextval is not rolled back with the transaction: it counts the attempts
  IF nextval('conflicts') <= {failures} THEN
    RAISE EXCEPTION 'forced conflict' USING ERRCODE = '40001';
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER conflict AFTER INSERT ON conversation_messages
  FOR EACH STATEMENT EXECUTE FUNCTION conflict();
"""


def attempts(ready: Scratch) -> int:
    return int(ready.rows("SELECT last_value FROM conflicts")[0][0])


def test_a_serialization_failure_is_retried_in_memstores_own_transaction(
        ready: Scratch, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="memstore")
    ready.rows(FAIL_ONCE.format(failures=1))
    with memstore.connect(ready.url()) as mem:
        saved = mem.save_messages("c", [{"role": "user", "content": "a"},
                                        {"role": "user", "content": "b"}])
        assert [m.content for m in mem.get_messages("c")] == ["a", "b"]
        assert [m.id for m in saved] == [m.id for m in mem.get_messages("c")]
        assert mem.get_chat("c").message_count == 2  # type: ignore[union-attr]
    assert attempts(ready) == 2  # failed once, then committed
    # the operator sees the retry, never the content
    retried = [r.getMessage() for r in caplog.records if r.name == "memstore"]
    assert len(retried) == 1 and "retrying" in retried[0] and "forced conflict" in retried[0]


def test_a_serialization_failure_inside_the_callers_transaction_is_not_retried(
        ready: Scratch) -> None:
    ready.rows(FAIL_ONCE.format(failures=1))
    with psycopg.connect(ready.url()) as conn, memstore.connect(conn) as mem:
        with pytest.raises(memstore.ConflictError) as info, conn.transaction():
            mem.save_message("c", "user", "a")
        assert not isinstance(info.value, memstore.RetriesExhaustedError)
        assert attempts(ready) == 1  # the caller decides; memstore did not run it again
        mem.save_message("c", "user", "again")  # the caller's retry, its own transaction
        assert [m.content for m in mem.get_messages("c")] == ["again"]


def test_retries_exhausted_raise_their_own_error_sync_and_async(ready: Scratch) -> None:
    ready.rows(FAIL_ONCE.format(failures=1000))
    with memstore.connect(ready.url(), retries=2) as mem:
        with pytest.raises(memstore.RetriesExhaustedError, match="3 attempts"):
            mem.save_message("c", "user", "a")
        assert mem.get_messages("c") == []
    assert attempts(ready) == 3

    async def main() -> None:
        async with await memstore.connect_async(ready.url(), retries=3) as amem:
            with pytest.raises(memstore.RetriesExhaustedError, match="4 attempts"):
                await amem.save_message("c", "user", "a")
            assert await amem.get_messages("c") == []

    asyncio.run(main())
    assert attempts(ready) == 3 + 4
    with memstore.connect(ready.url(), retries=0) as mem:
        with pytest.raises(memstore.ConflictError) as info:
            mem.save_message("c", "user", "a")
        assert not isinstance(info.value, memstore.RetriesExhaustedError)
    assert attempts(ready) == 3 + 4 + 1


def test_the_default_retries_until_a_deadline_not_a_count(ready: Scratch) -> None:
    # Issue 26: the default was 3 retries, too few for cross-node contention (Galera).
    # Now: as many as fit in RETRY_DEADLINE (5 s) after the first conflict, sync and async;
    # retry_deadline= sets it.
    ready.rows(FAIL_ONCE.format(failures=10**9))
    assert memstore.store.RETRY_DEADLINE == 5.0
    with memstore.connect(ready.url()) as mem:
        start = time.monotonic()
        with pytest.raises(memstore.RetriesExhaustedError, match="retry_deadline=5 s") as info:
            mem.save_message("c", "user", "a")
        took = time.monotonic() - start
        assert mem.get_messages("c") == []
    assert 5.0 <= took < 7.0, took
    used = attempts(ready)
    assert used > 20, used  # pauses of at most 0.2 s: well over 20 in 5 s
    assert f"after {used} attempts" in str(info.value)

    async def main() -> float:
        async with await memstore.connect_async(ready.url(), retry_deadline=0.5) as amem:
            start = time.monotonic()
            with pytest.raises(memstore.RetriesExhaustedError,
                               match=r"retry_deadline=0.5 s"):
                await amem.save_message("c", "user", "a")
            return time.monotonic() - start

    took = asyncio.run(main())
    assert 0.5 <= took < 2.0, took
    assert attempts(ready) > used + 3
    before = attempts(ready)
    # both bounds: whichever comes first (here the count)
    with memstore.connect(ready.url(), retries=2, retry_deadline=60) as mem, \
            pytest.raises(memstore.RetriesExhaustedError, match="3 attempts"):
        mem.save_message("c", "user", "a")
    assert attempts(ready) == before + 3
    # one that succeeds within the deadline is not an error at all
    ready.rows("ALTER SEQUENCE conflicts RESTART WITH 1; "
               "CREATE OR REPLACE FUNCTION conflict() RETURNS trigger LANGUAGE plpgsql AS $$ "
               "BEGIN IF nextval('conflicts') <= 15 THEN RAISE EXCEPTION 'forced conflict' "
               "USING ERRCODE = '40001'; END IF; RETURN NULL; END $$")
    with memstore.connect(ready.url()) as mem:
        mem.save_message("c", "user", "after 15 conflicts")
        assert [m.content for m in mem.get_messages("c")] == ["after 15 conflicts"]


def test_bad_retry_settings_are_refused() -> None:
    for kwargs in ({"retry_deadline": 0}, {"retry_deadline": -1}, {"retry_deadline": "soon"},
                   {"retries": -1}, {"retries": 101}, {"retries": 1.5}):
        with pytest.raises(memstore.ValidationError) as info:
            memstore.connect("memory://", **kwargs)  # type: ignore[arg-type]
        assert info.value.field in ("retries", "retry_deadline")


def test_a_read_only_server_is_node_not_ready(ready: Scratch) -> None:
    with memstore.connect(ready.url("-c default_transaction_read_only=on")) as mem, \
            pytest.raises(memstore.NodeNotReadyError):
        mem.save_message("c", "user", "a")


def test_100_tasks_x_100_saves_over_an_async_pool(ready: Scratch) -> None:
    """The async reliability figure over an AsyncConnectionPool (tests/test_async.py has it
    over one connection, on every backend): 10,000/10,000, each task's order kept,
    message_count 10,000, 0 errors."""
    tasks, each = 100, 100

    async def main() -> None:
        async with AsyncConnectionPool(ready.url(), min_size=4, max_size=8, timeout=60,
                                       open=False) as pool:
            mem = await memstore.connect_async(pool)
            errors: list[BaseException] = []

            async def writer(t: int) -> None:
                for i in range(each):
                    try:
                        await mem.save_message("c", "user", f"{t}:{i}")
                    except Exception as exc:  # counted: the figure is the point
                        errors.append(exc)

            await asyncio.gather(*(writer(t) for t in range(tasks)))
            stored = await mem.get_messages("c", limit=None)
            chat = await mem.get_chat("c")
            await mem.aclose()
        assert errors == []
        assert len(stored) == tasks * each
        assert chat is not None and chat.message_count == tasks * each
        seen: dict[int, list[int]] = {}
        for m in sorted(stored, key=lambda m: m.id):
            t, i = map(int, m.content.split(":"))
            seen.setdefault(t, []).append(i)
        assert len(seen) == tasks and all(v == list(range(each)) for v in seen.values())

    asyncio.run(main())


# -- reading times written by others --------------------------------------------------------


@pytest.mark.parametrize("api", ["sync", "async"])
def test_times_with_microseconds_or_a_zone_are_read_truncated_to_milliseconds(
        ready: Scratch, api: str) -> None:
    """memstore and the TS package write milliseconds; a row written by hand or by now()
    has microseconds, and a TIMESTAMPTZ column made by hand gives aware values. Reads
    take an inline path for plain millisecond values (adapters/utc.py); a page with any
    other value is decoded the general way: truncated, as the TS package reads it, in UTC."""
    ready.rows("""INSERT INTO conversation_messages (chat_id, role, content, timestamp)
                  VALUES ('c', 'user', 'hand', '2024-05-01 12:00:00.857999'),
                         ('c', 'user', 'plain', '2024-05-01 12:00:01.5')""")
    expected = [("hand", T_MS), ("plain", datetime(2024, 5, 1, 12, 0, 1, 500000,
                                                    tzinfo=timezone.utc))]

    def read(url: str) -> list[tuple[str, datetime]]:
        if api == "sync":
            with memstore.connect(url) as mem:
                got = mem.get_messages("c")
        else:
            async def aread() -> list[memstore.Message]:
                amem = await memstore.connect_async(url)
                try:
                    return await amem.get_messages("c")
                finally:
                    await amem.aclose()
            got = asyncio.run(aread())
        assert all(m.timestamp.tzinfo is timezone.utc for m in got)
        return [(m.content, m.timestamp) for m in got]

    assert read(ready.url()) == expected
    ready.rows("""ALTER TABLE conversation_messages
                  ALTER COLUMN timestamp TYPE timestamptz USING timestamp AT TIME ZONE 'UTC'""")
    assert read(ready.url("-c TimeZone=Asia/Kolkata")) == expected
