"""`memstore migrate-from` (memstore/migrate.py): source tables written by the real
LangChain ``SQLChatMessageHistory`` (langchain-community) and the real Agents SDK
``SQLiteSession`` / ``SQLAlchemySession``, migrated into SQLite and PostgreSQL memstore and
read back through memstore's integrations: the same messages / items."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("langchain_community")
pytest.importorskip("sqlalchemy")

from agents import SQLiteSession
from langchain_community.chat_message_histories import SQLChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

import memstore
from memstore import cli, migrate, transfer
from memstore.integrations import codec
from memstore.integrations.langchain import (
    MemstoreChatMessageHistory,
    message_role,
    message_text,
)
from memstore.integrations.openai_agents import MemstoreSession, item_role, item_text

SDK_ITEMS: list[dict[str, Any]] = [
    e["item"] for e in json.loads(
        (Path(__file__).parent / "integrations" / "sdk_items.json").read_text())["items"]]


def lc_conversation(tag: str) -> list[BaseMessage]:
    return [
        SystemMessage("be brief", id=f"{tag}-s"),
        HumanMessage("Weather in Rome? ☀ \"q\" \\ line\nbreak", id=f"{tag}-h1"),
        AIMessage("", id=f"{tag}-a1", tool_calls=[
            {"name": "weather", "args": {"city": "Rome"}, "id": "call_1", "type": "tool_call"}],
            usage_metadata={"input_tokens": 3, "output_tokens": 5, "total_tokens": 8}),
        ToolMessage("sunny, 24°C", tool_call_id="call_1", id=f"{tag}-t1", name="weather"),
        AIMessage([{"type": "text", "text": "It is "}, {"type": "text", "text": "sunny."}],
                  id=f"{tag}-a2", response_metadata={"model_name": "m"}),
        HumanMessage("a message without an id"),
        ChatMessage(role="developer", content="a developer note", id=f"{tag}-c"),
        HumanMessage(""),
    ]


AGENT_ITEMS: list[Any] = [
    {"role": "user", "content": "What is 2+2? Use the tool."},
    {"type": "function_call", "call_id": "call_add", "name": "add",
     "arguments": "{\"a\": 2, \"b\": 2}", "id": "fc_1", "status": "completed"},
    {"type": "function_call_output", "call_id": "call_add", "output": "4"},
    {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "It is 4 ✓", "annotations": []}]},
]


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def write_langchain(url: str, sessions: dict[str, list[BaseMessage]],
                    table: str = "message_store") -> None:
    for sid, messages in sessions.items():
        history = SQLChatMessageHistory(sid, connection=url, table_name=table)
        history.add_messages(messages)
        history.engine.dispose()  # type: ignore[union-attr]


def write_sqlite_session(path: Path, sessions: dict[str, list[Any]]) -> None:
    async def go() -> None:
        for sid, items in sessions.items():
            s = SQLiteSession(sid, str(path))
            half = len(items) // 2  # two add_items calls: two runs of a conversation
            await s.add_items(items[:half])
            await s.add_items(items[half:])
            s.close()
    asyncio.run(go())


def session_items(sid: str, url: str) -> list[Any]:
    async def go() -> list[Any]:
        async with MemstoreSession(sid, url) as s:
            return list(await s.get_items())
    return asyncio.run(go())


def lc_messages(target: Any, chat_id: str) -> list[BaseMessage]:
    with memstore.connect(target) as mem:
        return MemstoreChatMessageHistory(mem, chat_id).messages


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the row format is the integrations' --------------------------------------------------

def test_role_and_visible_text_are_the_integrations() -> None:
    from langchain_core.messages import message_to_dict

    for m in lc_conversation("x"):
        d = message_to_dict(m)
        assert (migrate.langchain_role(d), migrate.langchain_text(d)) == \
            (message_role(m), message_text(m)), m
    for item in [*SDK_ITEMS, *AGENT_ITEMS]:
        assert (migrate.agents_role(item), migrate.agents_text(item)) == \
            (item_role(item), item_text(item)), item


# -- LangChain SQLChatMessageHistory ----------------------------------------------------

def test_langchain_sqlite_into_the_same_database_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(tmp_path / "lc.db")
    sessions = {"alice": lc_conversation("a"), "bob": lc_conversation("b")[:3]}
    write_langchain(url, sessions)
    for _ in range(2):  # the second run stores nothing twice
        code, out, err = run_cli(capsys, "migrate-from", "langchain", url,
                                 "--table", "message_store")
        assert code == 0, err
        assert out.splitlines()[-1].startswith("memstore: migrated 2 sessions, 11 messages in ")
    for sid, originals in sessions.items():
        assert lc_messages(url, sid) == originals
        # what LangChain itself reads back from its table
        assert lc_messages(url, sid) == SQLChatMessageHistory(sid, connection=url).messages
    with memstore.connect(url) as mem:
        rows = mem.get_messages("alice", limit=None)
        assert len(rows) == 8 and mem.count_messages("bob") == 3
        stamps = [r.timestamp for r in rows]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # ordered instants
        # a TS app sees the text; tool calls and results are rows with no parts
        seen = [(codec.decode(r.role, r.content).role, codec.decode(r.role, r.content).text)
                for r in rows]
        assert seen[:2] == [("system", "be brief"), ("user", sessions["alice"][1].content)]
        assert json.loads(rows[2].content)["parts"] == []
        assert json.loads(rows[3].content)["parts"] == []
        assert seen[4] == ("assistant", "It is sunny.")
        assert seen[6] == ("system", "a developer note")


def test_migrate_from_shows_progress_lines_when_not_on_a_terminal(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(tmp_path / "lc.db")
    write_langchain(url, {"alice": lc_conversation("a"), "bob": lc_conversation("b")[:3]})
    code, out, err = run_cli(capsys, "migrate-from", "langchain", url)
    assert code == 0, err
    lines = out.splitlines()
    # stdout is no terminal here: plain lines, at most one a second (the first at once)
    assert re.fullmatch(r"migrated 1/2 sessions, 8 messages, \d+\.\d s", lines[0]), lines
    assert lines[-1].startswith("memstore: migrated 2 sessions, 11 messages in ")
    plain = io.StringIO()
    migrate.migrate_from("langchain", url, progress=transfer.ProgressDisplay(
        plain, label="migrated", unit="session", every=0))
    assert [re.sub(r", [\d.]+ s$", "", line) for line in plain.getvalue().splitlines()] == [
        "migrated 1/2 sessions, 8 messages", "migrated 2/2 sessions, 11 messages"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_migrate_from_shows_a_bar_on_a_terminal(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    url = sqlite_url(tmp_path / "lc.db")
    write_langchain(url, {"alice": lc_conversation("a"), "bob": lc_conversation("b")[:3]})
    tty = _Terminal()
    monkeypatch.setattr("sys.stdout", tty)
    assert cli.main(["migrate-from", "langchain", url]) == 0
    shown = tty.getvalue()
    assert "migrated" in shown and "2/2" in shown and "100%" in shown and "session" in shown
    assert shown.splitlines()[-1].startswith("memstore: migrated 2 sessions, 11 messages")


def test_langchain_sqlite_into_postgres(tmp_path: Path) -> None:
    from tests.backend_postgres import BACKEND, shared_connection

    url = sqlite_url(tmp_path / "lc.db")
    sessions = {"s1": lc_conversation("a"), "s2": lc_conversation("b")}
    write_langchain(url, sessions, table="history")
    BACKEND.open(None).close()  # empties this run's schema
    conn = shared_connection()
    for _ in range(2):
        stats = migrate.migrate_langchain(url, to=conn, table="history")
        assert (stats.sessions, stats.messages) == (2, 16)
    for sid, originals in sessions.items():
        assert lc_messages(conn, sid) == originals
    with memstore.connect(conn) as mem:
        assert mem.count_messages("s1") == 8
    assert not Path(tmp_path / "memstore.db").exists()


# -- Agents SDK SQLiteSession -------------------------------------------------------------

def test_agents_sqlite_session_into_sqlite_and_postgres_twice(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.backend_postgres import BACKEND, schema_url

    path = tmp_path / "agents.db"
    sessions = {"run-1": AGENT_ITEMS, "sdk-items": SDK_ITEMS}
    write_sqlite_session(path, sessions)
    src = sqlite_url(path)
    dst = sqlite_url(tmp_path / "memstore.db")
    BACKEND.open(None).close()
    n = len(AGENT_ITEMS) + len(SDK_ITEMS)
    for target in (dst, schema_url()):
        for _ in range(2):
            code, out, err = run_cli(capsys, "migrate-from", "openai-agents", src,
                                     "--to", target)
            assert code == 0, err
            assert out.splitlines()[-1].startswith(
                f"memstore: migrated 2 sessions, {n} messages in ")
        for sid, items in sessions.items():
            got = session_items(sid, target)
            assert got == items
            assert json.dumps(got, sort_keys=True) == json.dumps(items, sort_keys=True)

            async def sdk_read(sid: str = sid) -> list[Any]:
                s = SQLiteSession(sid, str(path))
                try:
                    return list(await s.get_items())
                finally:
                    s.close()
            assert got == asyncio.run(sdk_read())
    # created_at is kept (naive UTC in the SDK's table, whole seconds)
    created = [datetime.fromisoformat(r[0]).replace(tzinfo=timezone.utc) for r in
               sqlite3.connect(path).execute(
                   "SELECT created_at FROM agent_messages WHERE session_id = 'run-1' "
                   "ORDER BY id")]
    with memstore.connect(dst) as mem:
        rows = mem.get_messages("run-1", limit=None)
        assert [r.timestamp for r in rows] == created
        assert [r.role for r in rows] == ["user", "assistant", "assistant", "assistant"]
        assert codec.decode(rows[3].role, rows[3].content).text == "It is 4 ✓"
        assert json.loads(rows[1].content)["parts"] == []


def test_a_bad_row_names_session_and_row_and_writes_nothing_of_its_session(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "agents.db"
    write_sqlite_session(path, {"a-good": AGENT_ITEMS, "b-bad": AGENT_ITEMS,
                                "c-later": AGENT_ITEMS})
    src, dst = sqlite_url(path), sqlite_url(tmp_path / "memstore.db")
    db = sqlite3.connect(path)
    (bad_id,) = db.execute("SELECT id FROM agent_messages WHERE session_id = 'b-bad' "
                           "ORDER BY id LIMIT 1 OFFSET 2").fetchone()
    with db:
        db.execute("UPDATE agent_messages SET message_data = '{\"type\": \"function_' "
                   "WHERE id = ?", (bad_id,))
    db.close()
    with pytest.raises(migrate.MigrationError) as info:
        migrate.migrate_openai_agents(src, to=dst)
    assert (info.value.session_id, info.value.row_id) == ("b-bad", bad_id)
    assert f"session 'b-bad', row id {bad_id}: message_data is not valid JSON" in str(info.value)
    with memstore.connect(dst) as mem:
        assert mem.count_messages("a-good") == 4  # sessions before it are migrated
        assert mem.count_messages("b-bad") == 0  # nothing of the bad one
        assert mem.count_messages("c-later") == 0  # the migration stopped there
    code, out, err = run_cli(capsys, "migrate-from", "openai-agents", src, "--to", dst)
    assert code == 1  # stdout: only the progress of the session before it
    assert [line.split(",")[0] for line in out.splitlines()] == ["migrated 1/3 sessions"]
    assert f"session 'b-bad', row id {bad_id}" in err


@pytest.mark.parametrize("created_at", ["0001-01-01 00:30:00+01:00",
                                        "9999-12-31T23:30:00-01:00"])
def test_a_created_at_outside_the_utc_years_is_a_migration_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], created_at: str) -> None:
    # Was a raw OverflowError traceback from datetime.astimezone.
    path = tmp_path / "agents.db"
    write_sqlite_session(path, {"s": AGENT_ITEMS})
    db = sqlite3.connect(path)
    with db:
        db.execute("UPDATE agent_messages SET created_at = ? WHERE id = "
                   "(SELECT MIN(id) FROM agent_messages)", (created_at,))
    db.close()
    src, dst = sqlite_url(path), sqlite_url(tmp_path / "memstore.db")
    with pytest.raises(migrate.MigrationError, match=r"session 's', row id \d+: created_at .* "
                       r"outside the years 1-9999 in UTC"):
        migrate.migrate_openai_agents(src, to=dst)
    code, _out, err = run_cli(capsys, "migrate-from", "openai-agents", src, "--to", dst)
    assert code == 1 and "outside the years 1-9999 in UTC" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("framework", ["langchain", "openai-agents"])
def test_a_row_nested_too_deeply_is_a_migration_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], framework: str) -> None:
    # Was a raw RecursionError traceback from json.loads.
    nested = '{"a":' * 100_000 + "1" + "}" * 100_000
    if framework == "langchain":
        url = sqlite_url(tmp_path / "lc.db")
        write_langchain(url, {"s": lc_conversation("a")})
        table, column = "message_store", "message"
    else:
        url = sqlite_url(tmp_path / "agents.db")
        write_sqlite_session(tmp_path / "agents.db", {"s": AGENT_ITEMS})
        table, column = "agent_messages", "message_data"
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    with db:
        db.execute(f"UPDATE {table} SET {column} = ? WHERE id = "
                   f"(SELECT MIN(id) FROM {table})", (nested,))
    db.close()
    dst = sqlite_url(tmp_path / "dst.db")
    code, _out, err = run_cli(capsys, "migrate-from", framework, url, "--to", dst)
    assert code == 1, err
    assert re.search(rf"session 's', row id \d+: {column} is nested too deeply", err), err
    assert "Traceback" not in err


def test_a_non_message_row_in_langchain_is_refused(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "lc.db")
    write_langchain(url, {"s": lc_conversation("a")})
    db = sqlite3.connect(tmp_path / "lc.db")
    with db:
        db.execute("UPDATE message_store SET message = '[1, 2]' WHERE id = 2")
    db.close()
    with pytest.raises(migrate.MigrationError, match=r"session 's', row id 2: message must "
                       r"be a JSON object; got list"):
        migrate.migrate_langchain(url)
    with memstore.connect(url) as mem:
        assert mem.count_messages("s") == 0


def test_clear_errors_for_a_missing_file_table_or_scheme(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "migrate-from", "langchain",
                           sqlite_url(tmp_path / "nope.db"))
    assert code == 1 and "no SQLite database at" in err
    assert not (tmp_path / "nope.db").exists()
    url = sqlite_url(tmp_path / "empty.db")
    sqlite3.connect(tmp_path / "empty.db").close()
    code, _, err = run_cli(capsys, "migrate-from", "openai-agents", url)
    assert code == 1 and "cannot read the table 'agent_messages'" in err
    code, _, err = run_cli(capsys, "migrate-from", "langchain", url, "--table", "x; DROP")
    assert code == 1 and "must be a table name" in err
    code, _, err = run_cli(capsys, "migrate-from", "langchain", "mysql://h/db")
    assert code == 1 and "reads sqlite:// or postgresql://" in err


# -- sources on PostgreSQL: LangChain and SQLAlchemySession written there ---------------

@pytest.fixture
def pg_source() -> Iterator[tuple[str, str]]:
    """(the plain URL, the SQLAlchemy psycopg URL) of a schema of its own."""
    import psycopg
    from psycopg import sql

    from tests.backend_postgres import server_url, with_options

    server = server_url()
    schema = f"migrate_src_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = with_options(server, f"-c search_path={schema}")
    try:
        yield url, url.replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def test_postgres_sources_langchain_and_sqlalchemy_session(
        tmp_path: Path, pg_source: tuple[str, str]) -> None:
    from agents.extensions.memory import SQLAlchemySession

    from tests.backend_postgres import BACKEND, shared_connection

    url, sa_url = pg_source
    lc = {"lc-1": lc_conversation("a"), "lc-2": lc_conversation("b")[:2]}
    write_langchain(sa_url, lc)

    async def write_agents() -> list[Any]:
        s = SQLAlchemySession.from_url("ag-1", url=sa_url, create_tables=True)
        await s.add_items(AGENT_ITEMS[:2])
        await s.add_items(AGENT_ITEMS[2:])
        await s.add_items(SDK_ITEMS[:20])
        items = list(await s.get_items())
        await s.engine.dispose()
        return items
    sdk_view = asyncio.run(write_agents())
    assert sdk_view == AGENT_ITEMS + SDK_ITEMS[:20]

    dst = sqlite_url(tmp_path / "memstore.db")
    BACKEND.open(None).close()
    for target in (dst, shared_connection()):
        for _ in range(2):
            stats = migrate.migrate_langchain(sa_url, to=target)
            assert (stats.sessions, stats.messages) == (2, 10)
            stats = migrate.migrate_openai_agents(url, to=target)
            assert (stats.sessions, stats.messages) == (1, 24)
        for sid, originals in lc.items():
            assert lc_messages(target, sid) == originals
        with memstore.connect(target) as mem:
            assert mem.count_messages("ag-1") == 24
    assert session_items("ag-1", dst) == sdk_view


@pytest.mark.parametrize(("message", "says"), [
    ('{"type": "bogus", "data": {"content": "x"}}', "unknown message type|bogus"),
    ('{"type": "human", "data": {"content": {"a": 1}}}', "ValidationError"),
    ('{"type": "ai", "data": {"content": "x", "tool_calls": "nope"}}', "Error"),
])
def test_a_langchain_row_langchain_cannot_load_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], message: str, says: str) -> None:
    # Issue 26, finding 11: such rows were migrated and reported as success; the chat then
    # failed to load whole.
    url = sqlite_url(tmp_path / "lc.db")
    write_langchain(url, {"s": lc_conversation("a")})
    db = sqlite3.connect(tmp_path / "lc.db")
    with db:
        db.execute("UPDATE message_store SET message = ? WHERE id = 2", (message,))
    db.close()
    with pytest.raises(migrate.MigrationError,
                       match=rf"session 's', row id 2: message is not one LangChain can "
                       rf"load: .*({says})"):
        migrate.migrate_langchain(url)
    with memstore.connect(url) as mem:
        assert mem.count_messages("s") == 0
    code, _out, err = run_cli(capsys, "migrate-from", "langchain", url)
    assert code == 1 and "row id 2" in err
