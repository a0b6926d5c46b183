"""SQLite specifics: journal settings, the transaction rule, encoding, schema handling."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import pytest

import memstore
from tests import checks

FIXTURES = Path(__file__).parent / "fixtures"
T = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
T_MS = datetime(2024, 5, 1, 12, 0, 0, 857000, tzinfo=timezone.utc)


@pytest.fixture
def db(tmp_path: Path) -> str:
    return str(tmp_path / "agent.db")


def test_files_memstore_opens_use_wal_and_synchronous_normal(db: str) -> None:
    with memstore.connect(f"sqlite:///{db}") as mem:
        conn = mem.adapter.conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    with memstore.connect(f"sqlite:///{db}?synchronous=full") as mem:
        assert mem.adapter.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # type: ignore[attr-defined]


def test_bad_sqlite_url_options(db: str) -> None:
    with pytest.raises(memstore.ValidationError):
        memstore.connect(f"sqlite:///{db}?synchronous=sometimes")
    with pytest.raises(memstore.ValidationError):
        memstore.connect(f"sqlite:///{db}?journal=off")


def test_write_outside_a_transaction_is_committed(db: str) -> None:
    conn = sqlite3.connect(db)  # legacy transaction control, as most code uses it
    mem = memstore.connect(conn)
    mem.init_schema()
    mem.save_message("c", "user", "hello")
    assert not conn.in_transaction
    other = sqlite3.connect(db)
    assert other.execute("SELECT content FROM conversation_messages").fetchall() == [("hello",)]


def test_write_joins_the_callers_transaction_and_its_rollback_undoes_it(db: str) -> None:
    conn = sqlite3.connect(db)
    memstore.connect(conn).init_schema()
    conn.execute("CREATE TABLE audit (note TEXT)")
    conn.commit()
    mem = memstore.connect(conn)
    conn.execute("INSERT INTO audit VALUES ('before')")  # opens the caller's transaction
    assert conn.in_transaction
    mem.save_message("c", "user", "inside")
    assert conn.in_transaction, "memstore must not commit the caller's transaction"
    assert [m.content for m in mem.get_messages("c")] == ["inside"]
    conn.rollback()
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    conn.execute("INSERT INTO audit VALUES ('again')")
    mem.save_message("c", "user", "kept")
    conn.commit()
    assert [m.content for m in memstore.connect(sqlite3.connect(db)).get_messages("c")] == ["kept"]


def test_a_failed_write_inside_the_callers_transaction_keeps_the_callers_work(db: str) -> None:
    conn = sqlite3.connect(db)
    memstore.connect(conn).init_schema()
    conn.execute("""CREATE TRIGGER no_boom BEFORE INSERT ON conversation_messages
                    WHEN NEW.content = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END""")
    conn.commit()
    mem = memstore.connect(conn)
    mem.save_message("c", "user", "caller's")
    conn.execute("UPDATE chat_sessions SET title = 'mine' WHERE chat_id = 'c'")
    with pytest.raises(memstore.BackendError) as info:
        mem.save_messages("c", [{"role": "user", "content": "ok"},
                                {"role": "user", "content": "boom"}])
    assert isinstance(info.value.__cause__, sqlite3.Error)
    assert conn.in_transaction  # the caller's transaction survives, minus memstore's part
    conn.commit()
    assert [m.content for m in mem.get_messages("c")] == ["caller's"]
    chat = mem.get_chat("c")
    assert chat is not None and (chat.title, chat.message_count) == ("mine", 1)


def test_failed_batch_on_own_connection_leaves_nothing(db: str) -> None:
    mem = memstore.connect(f"sqlite:///{db}")
    mem.init_schema()
    mem.adapter.conn.execute(  # type: ignore[attr-defined]
        """CREATE TRIGGER no_boom BEFORE INSERT ON conversation_messages
           WHEN NEW.content = 'boom' BEGIN SELECT RAISE(ABORT, 'boom refused'); END""")
    checks.failing_batch_leaves_nothing(mem)


def test_reads_leave_no_transaction_open(db: str) -> None:
    conn = sqlite3.connect(db)
    mem = memstore.connect(conn)
    mem.init_schema()
    mem.save_message("c", "user", "x")
    mem.get_messages("c")
    mem.get_chats(search="x")
    mem.get_working_memory(scope="chat", chat_id="c")
    assert not conn.in_transaction


def test_missing_tables_raise_schema_error_naming_the_table(db: str) -> None:
    mem = memstore.connect(f"sqlite:///{db}")
    with pytest.raises(memstore.SchemaError, match=r"conversation_messages.*memstore init"):
        mem.get_messages("c")
    with pytest.raises(memstore.SchemaError, match="working_memory"):
        mem.update_working_memory(scope="user", user_id="u", content="x")
    assert any("missing" in p for p in mem.doctor())


def test_init_twice_and_over_the_ts_packages_tables(db: str) -> None:
    conn = sqlite3.connect(db)
    conn.executescript((FIXTURES / "ts_schema_sqlite.sql").read_text())
    conn.execute("INSERT INTO conversation_messages (chat_id, role, content, timestamp) "
                 "VALUES ('c', 'user', 'from ts', 1714564800)")
    conn.commit()
    mem = memstore.connect(f"sqlite:///{db}")
    mem.init_schema()
    mem.init_schema()
    assert mem.doctor() == []
    got = mem.get_messages("c")
    assert [(m.content, m.timestamp) for m in got] == [("from ts", T)]


def test_instants_are_unix_seconds_integer_or_millisecond_real(db: str) -> None:
    mem = memstore.connect(f"sqlite:///{db}")
    mem.init_schema()
    mem.save_message("c", "user", "whole", timestamp=T)
    mem.save_message("c", "user", "fraction", timestamp=T_MS)
    raw = sqlite3.connect(db).execute(
        "SELECT timestamp, typeof(timestamp) FROM conversation_messages ORDER BY id").fetchall()
    assert raw == [(1714564800, "integer"), (1714564800.857, "real")]
    assert [m.timestamp for m in mem.get_messages("c")] == [T, T_MS]


def test_last_n_is_an_index_range_scan_without_a_sort(db: str) -> None:
    mem = memstore.connect(f"sqlite:///{db}")
    mem.init_schema()
    adapter = mem.adapter
    for name in ("last_messages", "last_messages_of_user"):
        plan = " | ".join(r[3] for r in adapter.conn.execute(  # type: ignore[attr-defined]
            "EXPLAIN QUERY PLAN " + adapter.sql[name],  # type: ignore[attr-defined]
            {"chat_id": "c", "user_id": "u", "limit": 50}))
        assert "idx_messages_chat_order" in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_custom_table_names(db: str) -> None:
    tables = {"working_memory": "wm", "messages": "msgs", "chats": "chats"}
    mem = memstore.connect(f"sqlite:///{db}", tables=tables)
    mem.init_schema()
    mem.save_message("c", "user", "x")
    mem.update_working_memory(scope="chat", chat_id="c", content="y")
    names = {r[0] for r in sqlite3.connect(db).execute(
        "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")}
    assert {"wm", "msgs", "chats", "idx_msgs_messages_chat_order"} <= names
    assert not names & {"working_memory", "conversation_messages", "chat_sessions"}
    assert mem.doctor() == []
    assert mem.delete_chat("c")


def test_a_passed_connection_stays_open_after_close(db: str) -> None:
    conn = sqlite3.connect(db)
    with memstore.connect(conn) as mem:
        mem.init_schema()
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_default_url_and_memstore_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMSTORE_URL", raising=False)
    with memstore.connect() as mem:
        mem.init_schema()
    assert (tmp_path / "memstore.db").exists()
    monkeypatch.setenv("MEMSTORE_URL", "memory://")
    with memstore.connect() as mem:
        assert mem.dialect == "memory"


def test_real_seconds_survive_the_ts_packages_truncating_read() -> None:
    # The TS package reads `new Date(v * 1000)` (truncating). For 2004-01-10T13:37:04.001Z,
    # ms / 1000 * 1000 is 1073741824000.9999 in doubles: it would be read 1 ms early.
    import math

    from memstore.adapters.sqlite import EPOCH, decode_seconds, encode_seconds

    t = datetime(2004, 1, 10, 13, 37, 4, 1000, tzinfo=timezone.utc)
    v = encode_seconds(t)
    ms = (t - EPOCH).days * 86_400_000 + (t - EPOCH).seconds * 1000 + 1
    assert math.floor(v * 1000) == ms
    assert decode_seconds(v) == t


@pytest.mark.parametrize("scheme", ["sqlite:///", "file:"], ids=["sqlite", "turso"])
def test_case_variants_of_a_table_name_share_one_healthy_schema(
        tmp_path: Path, scheme: str) -> None:
    # Issue 26, finding 19: msgs and MSGS are one table in SQLite, and their indexes one
    # index; doctor looked the index names up case-sensitively and reported one missing
    # for ever, which init could not create.
    if scheme == "file:":
        pytest.importorskip("libsql_client")
    url = f"{scheme}{tmp_path / 'case.db'}"
    with memstore.connect(url, tables={"messages": "msgs"}) as lower:
        lower.init_schema()
        lower.save_message("c", "user", "x")
    with memstore.connect(url, tables={"messages": "MSGS"}) as upper:
        upper.init_schema()
        assert upper.doctor() == []
        assert [m.content for m in upper.get_messages("c")] == ["x"]
    with memstore.connect(url, tables={"messages": "msgs"}) as lower:
        assert lower.doctor() == []
