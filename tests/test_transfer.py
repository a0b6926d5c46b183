"""export / import / copy (memstore/transfer.py and the `memstore` subcommands), on real
databases: SQLite files, and the PostgreSQL and MySQL test servers (skipped locally when
their URL is unset, failing in CI: tests.backends.require_env)."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterable
from contextlib import closing
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore import cli, transfer
from tests.backends import Backend

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds: float) -> datetime:
    return T0 + timedelta(milliseconds=round(seconds * 1000))


def populate(mem: memstore.Memory) -> None:
    """Chats that exercise what must survive a move: a row older than its first message,
    a title, a message_count a TS app overwrote, an updated_at older than the newest
    message, several users in one chat, equal timestamps (order by id), exact content
    bytes, working memory of both scopes with their own updated_at."""
    mem.save_chat("a-trip", user_id="u1", title="Rome ✈", created_at=at(0), updated_at=at(1))
    mem.save_messages("a-trip", [
        {"role": "system", "content": "be brief", "timestamp": at(10)},
        {"role": "user", "content": "line1\nline2\r\n\t\u2028 \"q\" \\ é 🎉", "timestamp": at(11)},
        {"role": "assistant", "content": '{"json": [1, 2.5, null]}', "timestamp": at(11)},
        {"role": "user", "content": "same instant, later id", "timestamp": at(11)},
    ], user_id="u1")
    mem.save_message("a-trip", "user", "u2 joins", user_id="u2", timestamp=at(12))
    mem.save_message("a-trip", "assistant", "welcome", user_id="u1", timestamp=at(13))
    mem.save_messages("b-notes", [{"role": "user", "content": "note", "timestamp": at(20)},
                                  {"role": "assistant", "content": "", "timestamp": at(21)}],
                      user_id="u2")
    mem.save_message("b-notes", "user", "u1 in u2's chat", user_id="u1", timestamp=at(22))
    mem.save_chat("b-notes", message_count=99, updated_at=at(5))  # TS-style arithmetic
    mem.save_message("c-anon", "user", "no user", timestamp=at(30))
    mem.update_chat_title("d-empty", "no messages yet")
    mem.save_chat("d-empty", user_id="u3", created_at=at(40), updated_at=at(41))
    wm_at = [at(50), at(51), at(52)]
    _with_clock(mem, wm_at[0], lambda: mem.update_working_memory(
        scope="user", user_id="u1", content="# u1\n- likes Rome"))
    _with_clock(mem, wm_at[1], lambda: mem.update_working_memory(
        scope="user", user_id="u2", chat_id="b-notes", content="# u2"))
    _with_clock(mem, wm_at[2], lambda: mem.update_working_memory(
        scope="chat", chat_id="a-trip", user_id="u1", content="trip facts"))
    mem.update_working_memory(scope="chat", chat_id="b-notes", content="notes wm")


def _with_clock(mem: memstore.Memory, when: datetime, call: Any) -> None:
    """Run ``call`` with the store's clock at ``when`` (a test-only way to give working
    memory a known updated_at)."""
    saved = mem._clock
    mem._clock = lambda: when
    try:
        call()
    finally:
        mem._clock = saved


def snapshot(mem: memstore.Memory, more_users: Iterable[str] = ()) -> dict[str, Any]:
    """Everything the public API shows, message ids left out (a new database gives new
    ids; order is compared instead)."""
    chats = sorted({*(c.chat_id for c in mem.get_chats(limit=10000)),
                    *mem.chat_ids(limit=10000)})
    users = sorted({c.user_id for c in mem.get_chats(limit=10000) if c.user_id}
                   | {"u1", "u2", "u3", *more_users})
    return {
        "chats": {c: mem.get_chat(c) for c in chats},
        "messages": {c: [(m.user_id, m.role, m.content, m.timestamp)
                         for m in mem.get_messages(c, limit=None)] for c in chats},
        "chat_wm": {c: mem.get_working_memory(scope="chat", chat_id=c) for c in chats},
        "user_wm": {u: mem.get_working_memory(scope="user", user_id=u) for u in users},
    }


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def source(tmp_path: Path) -> str:
    url = sqlite_url(tmp_path / "src.db")
    with memstore.connect(url) as mem:
        mem.init_schema()
        populate(mem)
    return url


def export_bytes(target: Any, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    with memstore.connect(target) as mem:
        transfer.export(mem, out, **kwargs)
    return out.getvalue()


def records(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines()]


def without_ids(data: bytes) -> list[dict[str, Any]]:
    out = []
    for r in records(data)[1:]:  # the header names the source dialect and the time
        r.pop("id", None)
        out.append(r)
    return out


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


# -- the format -------------------------------------------------------------------------

def test_the_format_is_documented_json_lines(tmp_path: Path) -> None:
    data = export_bytes(source(tmp_path))
    assert data.endswith(b"\n") and b"\n\n" not in data
    rs = records(data)
    assert rs[0]["format"] == "memstore" and rs[0]["version"] == 1
    assert rs[0]["scope"] == "all" and rs[0]["source"] == "sqlite"
    assert [r["chat_id"] for r in rs if r.get("type") == "chat"] == [
        "a-trip", "b-notes", "c-anon", "d-empty"]
    chat = rs[1]
    assert chat == {"type": "chat", "chat_id": "a-trip", "row": True, "user_id": "u1",
                    "title": "Rome ✈", "created_at": "2026-03-01T12:00:00.000Z",
                    "updated_at": "2026-03-01T12:00:13.000Z", "message_count": 6,
                    "messages": 6, "partial": False}
    msg = rs[3]
    assert msg == {"type": "message", "chat_id": "a-trip", "id": 2, "user_id": "u1",
                   "role": "user", "content": "line1\nline2\r\n\t\u2028 \"q\" \\ é 🎉",
                   "timestamp": "2026-03-01T12:00:11.000Z"}
    wm = [r for r in rs if r.get("type") == "working_memory"]
    assert {(r["scope"], r["chat_id"], r["user_id"]) for r in wm} == {
        ("chat", "a-trip", "u1"), ("chat", "b-notes", None), ("user", None, "u1"),
        ("user", "b-notes", "u2")}
    assert rs[-1] == {"type": "end", "chats": 4, "messages": 10, "working_memories": 4}


# -- round trips on real databases ------------------------------------------------------

def test_round_trip_sqlite_to_postgres_and_import_twice(tmp_path: Path) -> None:
    from tests.backend_postgres import BACKEND, shared_connection

    src = source(tmp_path)
    data = export_bytes(src)
    BACKEND.open(None).close()  # empties this run's schema
    conn = shared_connection()
    for _ in range(2):  # the second import stores nothing twice
        stats = transfer.import_(conn, io.BytesIO(data))
        assert (stats.chats, stats.messages, stats.working_memories) == (4, 10, 4)
    with memstore.connect(src) as a, memstore.connect(conn) as b:
        assert snapshot(b) == snapshot(a)
        assert b.count_messages("a-trip") == 6
    assert without_ids(export_bytes(conn)) == without_ids(data)


def test_round_trip_postgres_to_mysql_through_the_command(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tests.backend_mysql import BACKEND as MYSQL
    from tests.backend_mysql import database_url
    from tests.backend_postgres import BACKEND as POSTGRES
    from tests.backend_postgres import schema_url

    with POSTGRES.open(None) as pg:
        populate(pg)
        before = snapshot(pg)
    MYSQL.open(None).close()
    file = tmp_path / "pg.jsonl"
    code, out, err = main(capsys, "export", schema_url(), "-o", str(file))
    assert code == 0 and out == "", err
    assert "exported 4 chats, 10 messages, 4 working memories" in err
    for _ in range(2):
        code, out, err = main(capsys, "import", database_url(), str(file))
        assert code == 0, err
        assert "imported 4 chats, 10 messages, 4 working memories" in out
    with memstore.connect(database_url()) as my:
        assert snapshot(my) == before
    assert without_ids(export_bytes(database_url())) == without_ids(file.read_bytes())


# -- validation -------------------------------------------------------------------------

def _lines(data: bytes) -> list[dict[str, Any]]:
    return records(data)


def _encode(rs: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(r, ensure_ascii=False).encode() + b"\n" for r in rs)


def _line_of(rs: list[dict[str, Any]], chat_id: str, kind: str, n: int = 0) -> int:
    hits = [i for i, r in enumerate(rs) if r.get("type") == kind and r.get("chat_id") == chat_id]
    return hits[n]


BIG = "x" * (20 * 1024 * 1024)


def _mutations() -> list[tuple[str, Any, str]]:
    """(name, mutate(records) -> (bytes, line), expected message pattern)."""
    def set_field(kind: str, key: str, value: Any, n: int = 0) -> Any:
        def mutate(rs: list[dict[str, Any]]) -> tuple[bytes, int]:
            i = _line_of(rs, "b-notes", kind, n)
            rs[i][key] = value
            return _encode(rs), i + 1
        return mutate

    def duplicate_id(rs: list[dict[str, Any]]) -> tuple[bytes, int]:
        i = _line_of(rs, "b-notes", "message", 1)
        rs[i]["id"] = rs[i - 1]["id"]
        return _encode(rs), i + 1

    def truncated_chat(rs: list[dict[str, Any]]) -> tuple[bytes, int]:
        i = _line_of(rs, "b-notes", "message", 1)
        return _encode(rs[:i]), _line_of(rs, "b-notes", "chat") + 1

    return [
        ("NUL in content", set_field("message", "content", "a\x00b"),
         r"content: contains a NUL character"),
        ("20 MB content", set_field("message", "content", BIG),
         r"content: is 20971520 bytes of UTF-8; the maximum is 8388608"),
        ("bad role", set_field("message", "role", "tool"), r"role: must be one of"),
        ("microseconds", set_field("message", "timestamp", "2026-03-01T12:00:00.000001Z"),
         r"timestamp: has sub-millisecond precision"),
        ("before year 1 in UTC", set_field("message", "timestamp", "0001-01-01T00:30:00+01:00"),
         r"timestamp: must be between .* outside the years 1-9999 in UTC"),
        ("after year 9999 in UTC", set_field("chat", "updated_at",
                                             "9999-12-31T23:30:00-01:00"),
         r"updated_at: must be between .* outside the years 1-9999 in UTC"),
        ("naive time", set_field("message", "timestamp", "2026-03-01T12:00:00"),
         r"timestamp: must be timezone-aware"),
        ("content not text", set_field("message", "content", {"a": 1}),
         r"content: must be a str; got dict"),
        ("duplicate id", duplicate_id, r"id: \d+ appears twice in chat 'b-notes'"),
        ("unknown key", set_field("message", "extra", 1), r"has unknown keys \['extra'\]"),
        ("long title", set_field("chat", "title", "t" * 501), r"title: is 501 characters"),
        ("count declared", truncated_chat, r"messages: chat 'b-notes' declares 3 messages"),
    ]


@pytest.mark.parametrize("name,mutate,pattern", _mutations(), ids=[m[0] for m in _mutations()])
def test_a_bad_record_names_line_and_field_and_writes_nothing_of_its_chat(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, mutate: Any,
        pattern: str) -> None:
    rs = _lines(export_bytes(source(tmp_path)))
    data, line = mutate(rs)
    file = tmp_path / "bad.jsonl"
    file.write_bytes(data)
    dst = sqlite_url(tmp_path / "dst.db")
    code, out, err = main(capsys, "import", dst, str(file))
    assert code == 1 and out == ""
    assert re.match(rf"memstore: line {line}: {pattern}", err), err
    with memstore.connect(dst) as mem:
        assert mem.get_chat("a-trip") is not None  # the chat before it, whole
        assert mem.count_messages("a-trip") == 6
        assert mem.get_chat("b-notes") is None and mem.count_messages("b-notes") == 0
        assert mem.get_working_memory(scope="chat", chat_id="b-notes") is None
        assert mem.get_chat("c-anon") is None  # nothing after it either


@pytest.mark.parametrize("data,pattern", [
    (b"", r"line 1: the file is empty"),
    (b'{"format":"memstore","version":2}\n', r"line 1: version: is 2; this memstore reads "
     r"version 1"),
    (b'{"format":"other","version":1}\n', r"line 1: format: must be 'memstore'"),
    (b'[1]\n', r"line 1: must be a JSON object"),
    (b'\xff\n', r"line 1: is not UTF-8"),
    (b'{"format":"memstore","version":1}\n{"type":"chat","chat_id"', r"line 2: is not valid "
     r"JSON: .* \(the file ends mid-line: truncated\?\)"),
    (b'{"format":"memstore","version":1}\n', r"line 2: the file ends without its end record"),
    (b'{"format":"memstore","version":1}\n{"type":"note"}\n',
     r"line 2: type: must be chat, message, working_memory or end"),
    (b'{"format":"memstore","version":1}\n{"type":"end","chats":1,"messages":0,'
     b'"working_memories":0}\n', r"line 2: chats: says 1 but the file has 0"),
    (b'{"format":"memstore","version":1}\n' + b'{"a":' * 100_000 + b'1' + b'}' * 100_000
     + b'\n', r"line 2: is nested too deeply to be JSON memstore can read"),
    (b'{"format":"memstore","version":1,"version":1}\n', r"line 1: is not valid JSON: the key "
     r"'version' appears twice"),
    (b'{"format":"memstore","version":1}\n{"type":"working_memory","scope":"user",'
     b'"chat_id":null,"user_id":null,"content":"x","updated_at":"2026-01-01T00:00:00Z"}\n',
     r"line 2: user_id: is required when scope is 'user'"),
])
def test_hostile_files_are_refused_clearly(tmp_path: Path, data: bytes, pattern: str) -> None:
    dst = sqlite_url(tmp_path / "dst.db")
    with pytest.raises(transfer.RecordError, match=pattern):
        transfer.import_(dst, io.BytesIO(data))
    with memstore.connect(dst) as mem:
        assert mem.get_chats() == [] and mem.chat_ids() == []


def test_chats_out_of_order_or_repeated_are_refused(tmp_path: Path) -> None:
    rs = _lines(export_bytes(source(tmp_path)))
    group = [r for r in rs if r.get("chat_id") == "a-trip" and r.get("type") != "working_memory"]
    end = rs.pop()
    data = _encode(rs + group + [end])
    with pytest.raises(transfer.RecordError, match=r"chat_id: 'a-trip' comes after 'd-empty'"):
        transfer.import_(sqlite_url(tmp_path / "dst.db"), io.BytesIO(data))


def test_check_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "a.jsonl"
    file.write_bytes(export_bytes(source(tmp_path)))
    dst = tmp_path / "dst.db"
    sqlite3.connect(dst).close()
    code, out, _ = main(capsys, "import", sqlite_url(dst), str(file), "--check")
    assert code == 0 and "checked 4 chats, 10 messages, 4 working memories" in out
    assert sqlite3.connect(dst).execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


# -- user and chat exports --------------------------------------------------------------

def test_copy_one_user_sqlite_to_postgres(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from tests.backend_postgres import BACKEND, schema_url, shared_connection

    src = source(tmp_path)
    BACKEND.open(None).close()
    for _ in range(2):
        code, out, err = main(capsys, "copy", src, schema_url(), "--user", "u1")
        assert code == 0, err
        assert out.splitlines()[-1].startswith(
            "memstore: copied 2 chats, 7 messages, 2 working memories in ")
        assert re.search(r"^copied \d+/2 chats, ", out, re.M)  # plain lines: not a tty
    with memstore.connect(src) as a, memstore.connect(shared_connection()) as b:
        assert b.get_chat("a-trip") == a.get_chat("a-trip")  # u1's chat, whole
        assert snapshot(b)["messages"]["a-trip"] == snapshot(a)["messages"]["a-trip"]
        # u2's chat: only u1's message, once (merged, not replaced)
        assert [(m.user_id, m.content) for m in b.get_messages("b-notes")] == [
            ("u1", "u1 in u2's chat")]
        assert b.get_working_memory(scope="user", user_id="u1") == \
            a.get_working_memory(scope="user", user_id="u1")
        assert b.get_working_memory(scope="chat", chat_id="a-trip") == \
            a.get_working_memory(scope="chat", chat_id="a-trip")
        assert b.get_working_memory(scope="user", user_id="u2") is None
        assert b.get_working_memory(scope="chat", chat_id="b-notes") is None
        assert b.get_chat("c-anon") is None and b.get_chat("d-empty") is None


def test_a_partial_chat_merges_into_the_existing_chat(tmp_path: Path) -> None:
    src = source(tmp_path)
    data = export_bytes(src, user_id="u1")
    assert records(data)[0]["scope"] == "user"
    dst = sqlite_url(tmp_path / "dst.db")
    with memstore.connect(dst) as mem:
        mem.init_schema()
        mem.save_message("b-notes", "user", "someone else's", user_id="u9", timestamp=at(1))
    for _ in range(2):
        transfer.import_(dst, io.BytesIO(data))
    with memstore.connect(dst) as mem:
        assert [m.content for m in mem.get_messages("b-notes")] == [
            "someone else's", "u1 in u2's chat"]


def test_export_one_chat(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = source(tmp_path)
    code, out, err = main(capsys, "export", src, "--chat", "b-notes")
    assert code == 0 and "exported 1 chats, 3 messages, 1 working memories" in err
    rs = records(out.encode())
    assert [r.get("type") for r in rs] == [None, "chat", "message", "message", "message",
                                           "working_memory", "end"]
    assert rs[1]["message_count"] == 99 and rs[1]["updated_at"] == "2026-03-01T12:00:05.000Z"
    code, _, err = main(capsys, "export", src, "--chat", "nope")
    assert code == 1 and err == ("memstore: chat 'nope' has no chat row, no messages and no "
                                 "working memory\n")


def _chat_ids_of(data: bytes) -> list[str]:
    return [r["chat_id"] for r in records(data) if r.get("type") == "chat"]


@pytest.mark.parametrize("backend", ["memory", "sqlite"], indirect=True)
def test_more_than_10000_chats_are_exported_in_pages(backend: Backend,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Chat rows without messages and TS-style chats with messages but no row, mixed,
    10,050 in all: more than any one listing call returns (10,000), read in keyset pages."""
    pages: list[int] = []
    real = memstore.Memory._export_chats

    def counted(self: memstore.Memory, *args: Any) -> Any:
        pages.append(1)
        return real(self, *args)

    monkeypatch.setattr(memstore.Memory, "_export_chats", counted)
    mem = backend.open(None)
    try:
        expected = []
        for i in range(10_050):
            cid = f"c{i:05}"
            expected.append(cid)
            if i % 3:
                mem.save_chat(cid, user_id=f"u{i % 5}", created_at=at(1), updated_at=at(2))
            else:
                mem.save_message(cid, "user", "hi", user_id=f"u{i % 5}", timestamp=at(3))
        out = io.BytesIO()
        stats = transfer.export(mem, out)
        assert _chat_ids_of(out.getvalue()) == expected
        assert stats.chats == 10_050 and stats.messages == 3350
        assert len(pages) == 11  # 10,050 chats in pages of CHAT_PAGE (1000)
        user = io.BytesIO()
        transfer.export(mem, user, user_id="u1")
        assert _chat_ids_of(user.getvalue()) == [c for i, c in enumerate(expected)
                                                 if i % 5 == 1]
    finally:
        mem.close()


def test_chat_pages_cross_every_boundary_on_every_backend(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of 2 chats: page boundaries fall between row-only chats, chats with
    messages, and a user's whole and partial chats."""
    monkeypatch.setattr(transfer, "CHAT_PAGE", 2)
    mem = backend.open(None)
    try:
        populate(mem)
        mem.save_message("a-more", "user", "u1 owns it", user_id="u1", timestamp=at(60))
        mem.save_chat("e-row-only", user_id="u1", created_at=at(61), updated_at=at(62))
        mem.save_message("f-other", "user", "u1 elsewhere", user_id="u1", timestamp=at(63))
        mem.save_chat("f-other", user_id="u2")
        data = export_bytes_of(mem)
        assert _chat_ids_of(data) == ["a-more", "a-trip", "b-notes", "c-anon", "d-empty",
                                      "e-row-only", "f-other"]
        user = records(export_bytes_of(mem, user_id="u1"))
        assert [(r["chat_id"], r["partial"]) for r in user if r.get("type") == "chat"] == [
            ("a-more", False), ("a-trip", False), ("b-notes", True),
            ("e-row-only", False), ("f-other", True)]
    finally:
        mem.close()


def export_bytes_of(mem: memstore.Memory, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    transfer.export(mem, out, **kwargs)
    return out.getvalue()


# -- working memory of users without chats ----------------------------------------------

LONERS = ("u9", "u0", "u7-é", "u8")  # user-scope working memory, no chat, no message


def populate_loners(mem: memstore.Memory) -> None:
    for n, uid in enumerate(LONERS):
        _with_clock(mem, at(70 + n), lambda uid=uid: mem.update_working_memory(
            scope="user", user_id=uid, content=f"# {uid}\n- no chats yet"))
    # the chat_id a user-scope row was created with stays, chat or no chat
    _with_clock(mem, at(75), lambda: mem.update_working_memory(
        scope="user", user_id="u6", chat_id="gone", content="# u6"))


def test_working_memory_of_users_without_chats_goes_and_comes_back(
        backend: Backend, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transfer, "CHAT_PAGE", 2)  # user working memory in pages too
    users = [*LONERS, "u6"]
    clock = transfer._Clock()
    mem = backend.open(clock)
    try:
        populate(mem)
        populate_loners(mem)
        before = snapshot(mem, users)
        data = export_bytes_of(mem)
        wm = [(r["user_id"], r["chat_id"]) for r in records(data)
              if r.get("type") == "working_memory" and r["scope"] == "user"]
        assert wm == [("u0", None), ("u1", None), ("u2", "b-notes"), ("u6", "gone"),
                      ("u7-é", None), ("u8", None), ("u9", None)]
        assert records(data)[-1]["working_memories"] == 9
        one = records(export_bytes_of(mem, user_id="u9"))
        assert [r.get("type") for r in one] == [None, "working_memory", "end"]
        assert one[1]["content"] == "# u9\n- no chats yet"
        assert one[1]["updated_at"] == "2026-03-01T12:01:10.000Z"
    finally:
        mem.close()
    mem = backend.open(clock)  # empty again
    try:
        stats = transfer.import_records(mem, transfer.read_records(io.BytesIO(data)),
                                        clock=clock)
        assert (stats.chats, stats.working_memories) == (4, 9)
        assert snapshot(mem, users) == before
        assert before["user_wm"]["u9"].content == "# u9\n- no chats yet"
        assert without_ids(export_bytes_of(mem)) == without_ids(data)
    finally:
        mem.close()


def test_a_user_export_of_a_user_with_only_working_memory_imports_back(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = source(tmp_path)
    with memstore.connect(src) as mem:
        populate_loners(mem)
    file = tmp_path / "u8.jsonl"
    code, _, err = main(capsys, "export", src, "--user", "u8", "-o", str(file))
    assert code == 0 and "exported 0 chats, 0 messages, 1 working memories" in err, err
    dst = sqlite_url(tmp_path / "dst.db")
    code, out, err = main(capsys, "import", dst, str(file))
    assert code == 0 and "imported 0 chats, 0 messages, 1 working memories" in out, err
    with memstore.connect(src) as a, memstore.connect(dst) as b:
        assert b.get_working_memory(scope="user", user_id="u8") == \
            a.get_working_memory(scope="user", user_id="u8")
        assert b.chat_ids() == [] and b.get_chats() == []


# -- the async API ----------------------------------------------------------------------

def test_async_round_trip_on_every_backend(backend: Backend, tmp_path: Path) -> None:
    """aimport_records, aexport(_records) and acopy through AsyncMemory: the same file,
    the same data as the sync API."""
    if backend.open_async is None:
        pytest.skip(f"{backend.name} has no AsyncMemory")
    open_async = backend.open_async
    src = source(tmp_path)
    with memstore.connect(src) as mem:
        populate_loners(mem)
        users = [*LONERS, "u6"]
        before = snapshot(mem, users)
    data = export_bytes(src)
    user_data = export_bytes(src, user_id="u1")
    dst = sqlite_url(tmp_path / "dst.db")

    async def run() -> None:
        clock = transfer._Clock()
        mem = await open_async(clock)
        try:
            for _ in range(2):  # the second import stores nothing twice
                stats = await transfer.aimport_records(
                    mem, transfer.read_records(io.BytesIO(data)), clock=clock)
                assert (stats.chats, stats.messages, stats.working_memories) == (4, 10, 9)
            out = io.BytesIO()
            stats = await transfer.aexport(mem, out)
            assert (stats.chats, stats.messages, stats.working_memories) == (4, 10, 9)
            assert without_ids(out.getvalue()) == without_ids(data)
            got = [r async for r in transfer.aexport_records(mem, user_id="u1")]
            assert without_ids(b"".join(map(transfer.record_line, got))) == without_ids(user_data)
            seen: list[int] = []
            stats = await transfer.acopy(mem, dst, progress=lambda s: seen.append(s.chats))
            assert (stats.chats, stats.total_chats, seen[-1]) == (4, 4, 4)
        finally:
            await mem.aclose()

    asyncio.run(run())
    with memstore.connect(dst) as b:
        assert snapshot(b, users) == before


def test_async_import_and_copy_take_urls(tmp_path: Path) -> None:
    src = source(tmp_path)
    data = export_bytes(src)
    a, b = sqlite_url(tmp_path / "a.db"), sqlite_url(tmp_path / "b.db")

    async def run() -> None:
        stats = await transfer.aimport_(a, io.BytesIO(data))
        assert (stats.chats, stats.messages, stats.working_memories) == (4, 10, 4)
        stats = await transfer.acopy(a, b, user_id="u2")  # b-notes whole, a-trip partial
        assert (stats.chats, stats.messages, stats.working_memories) == (2, 4, 2)
        checked = await transfer.aimport_(b, io.BytesIO(data), check_only=True)
        assert checked.chats == 4

    asyncio.run(run())
    with memstore.connect(src) as x, memstore.connect(a) as y:
        assert snapshot(y) == snapshot(x)  # working memory's updated_at kept, as in sync
    with memstore.connect(b) as z:
        assert z.chat_ids() == ["a-trip", "b-notes"]
        assert [m.content for m in z.get_messages("a-trip")] == ["u2 joins"]
        assert z.get_working_memory(scope="user", user_id="u2") is not None


def test_the_wrong_api_is_refused_naming_the_argument(tmp_path: Path) -> None:
    src = source(tmp_path)

    async def run() -> None:
        amem = await memstore.connect_async(src)
        try:
            with pytest.raises(memstore.ValidationError, match=r"^mem: is an AsyncMemory; "
                               r"use transfer.aexport_records"):
                transfer.export(amem, io.BytesIO())  # type: ignore[arg-type]
            with pytest.raises(memstore.ValidationError, match=r"^target: is an AsyncMemory"):
                transfer.import_(amem, io.BytesIO(b""))
        finally:
            await amem.aclose()
        with memstore.connect(src) as mem:
            with pytest.raises(memstore.ValidationError, match=r"^mem: is a Memory; use "
                               r"transfer.export_records"):
                await transfer.aexport(mem, io.BytesIO())  # type: ignore[arg-type]
            with pytest.raises(memstore.ValidationError, match=r"^source: is a Memory"):
                await transfer.acopy(mem, sqlite_url(tmp_path / "x.db"))

    asyncio.run(run())


# -- interrupted copies -----------------------------------------------------------------

def test_an_interrupted_copy_finishes_when_run_again(tmp_path: Path) -> None:
    src = source(tmp_path)
    dst = sqlite_url(tmp_path / "dst.db")

    def stop_after_two(stats: transfer.Stats) -> None:
        if stats.chats == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        transfer.copy(src, dst, progress=stop_after_two)
    with memstore.connect(dst) as mem:
        assert mem.chat_ids() == ["a-trip", "b-notes"]
    stats = transfer.copy(src, dst)
    assert (stats.chats, stats.messages, stats.working_memories) == (4, 10, 4)
    with memstore.connect(src) as a, memstore.connect(dst) as b:
        assert snapshot(b) == snapshot(a)


def test_a_chat_is_written_in_one_transaction(tmp_path: Path) -> None:
    """a-trip (a row, several users' runs of messages, a working memory) is one
    transaction: the destination fails its 5th message (a trigger) and holds nothing of
    the chat, not its row, nor its first messages, nor its working memory, while the
    chats before it are complete. Re-run without the trigger: equal."""
    src = source(tmp_path)
    dst = sqlite_url(tmp_path / "dst.db")
    with memstore.connect(dst) as mem:
        mem.init_schema()
    with closing(sqlite3.connect(tmp_path / "dst.db")) as conn:
        conn.execute("CREATE TRIGGER fail_fifth BEFORE INSERT ON conversation_messages "
                     "WHEN NEW.content = 'u2 joins' BEGIN SELECT RAISE(ABORT, 'injected'); END")
        conn.commit()
    with pytest.raises(memstore.BackendError, match="injected"):
        transfer.copy(src, dst)
    with memstore.connect(dst) as mem:
        assert mem.count_messages("a-trip") == 0
        assert mem.get_chat("a-trip") is None
        assert mem.get_working_memory(scope="chat", chat_id="a-trip") is None
    with closing(sqlite3.connect(tmp_path / "dst.db")) as conn:
        conn.execute("DROP TRIGGER fail_fifth")
        conn.commit()
    transfer.copy(src, dst)
    with memstore.connect(src) as a, memstore.connect(dst) as b:
        assert snapshot(b) == snapshot(a)


def test_a_chat_larger_than_a_batch_is_imported_whole(mem: Any) -> None:
    """One chat of more messages than a save takes (10,000), from several users, goes
    in as one transaction on every backend and API, in order, with its row as exported."""
    api, count = mem, 12_000
    src = memstore.connect("memory://")
    src.save_chat("huge", user_id="u1", title="long", created_at=at(0), updated_at=at(1))
    for start in range(0, count, 10_000):
        src.save_messages("huge", [
            {"role": "user", "content": f"m{i}", "timestamp": at(2 + i / 1000)}
            for i in range(start, min(count, start + 10_000))], user_id=f"u{start % 3}")
    buf = io.BytesIO()
    transfer.export(src, buf)
    api.init_schema()
    records = transfer.read_records(io.BytesIO(buf.getvalue()))
    if isinstance(api, memstore.Memory):
        transfer.import_records(api, list(records))
    else:
        api.call(transfer.aimport_records(api.amem, list(records)))
    got = api.get_messages("huge", limit=None)
    assert [m.content for m in got] == [f"m{i}" for i in range(count)]
    assert api.get_chat("huge") == src.get_chat("huge")


def test_a_killed_copy_process_finishes_when_run_again(tmp_path: Path) -> None:
    src = sqlite_url(tmp_path / "big.db")
    with memstore.connect(src) as mem:
        mem.init_schema()
        for i in range(300):
            mem.save_messages(f"chat{i:04}", [
                {"role": "user", "content": f"q{i}-{k}", "timestamp": at(i + k / 1000)}
                for k in range(20)], user_id=f"u{i % 7}")
    dst = sqlite_url(tmp_path / "dst.db")
    proc = subprocess.Popen([sys.executable, "-m", "memstore", "copy", src, dst],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    proc.stdout.readline()  # the first progress line: the copy is under way
    proc.kill()
    proc.wait(timeout=30)
    with memstore.connect(dst) as mem:
        done = len(mem.chat_ids(limit=10000))
    assert done < 300
    again = subprocess.run([sys.executable, "-m", "memstore", "copy", src, dst],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "copied 300 chats, 6000 messages" in again.stdout
    with memstore.connect(src) as a, memstore.connect(dst) as b:
        assert snapshot(b) == snapshot(a)


# -- the command line -------------------------------------------------------------------

@pytest.mark.parametrize("command", ["export", "import", "copy"])
def test_help_is_plain_text(capsys: pytest.CaptureFixture[str], command: str,
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = main(capsys, command, "--help")
    assert code == 0 and out.startswith(f"usage: memstore {command}")
    assert not re.search(r"``|:\w+:`|`_", out), out


def test_export_to_stdout_and_import_from_stdin(tmp_path: Path) -> None:
    src = source(tmp_path)
    out = subprocess.run([sys.executable, "-m", "memstore", "export", src],
                         capture_output=True, timeout=60)
    assert out.returncode == 0 and out.stdout.startswith(b'{"format":"memstore"')
    dst = sqlite_url(tmp_path / "dst.db")
    imp = subprocess.run([sys.executable, "-m", "memstore", "import", dst, "-"],
                         input=out.stdout, capture_output=True, timeout=60)
    assert imp.returncode == 0, imp.stderr
    with memstore.connect(src) as a, memstore.connect(dst) as b:
        assert snapshot(b) == snapshot(a)


def test_a_missing_source_file_is_reported(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.db"
    for argv in (["export", sqlite_url(missing)],
                 ["copy", sqlite_url(missing), sqlite_url(tmp_path / "d.db")]):
        code, out, err = main(capsys, *argv)
        assert code == 1 and out == "" and "no SQLite database at" in err
    assert not missing.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_otherwise() -> None:
    import tqdm  # the test extra installs it (memstore-sql[progress])

    assert tqdm.__version__
    stats = transfer.Stats(total_chats=4)
    tty, plain = _Terminal(), io.StringIO()
    bar, lines = transfer.ProgressDisplay(tty), transfer.ProgressDisplay(plain, every=0)
    for n in range(1, 5):
        stats.chats, stats.messages = n, 10 * n
        bar(stats)
        lines(stats)
    bar.close()
    lines.close()
    assert "4/4" in tty.getvalue() and "100%" in tty.getvalue()
    assert plain.getvalue().splitlines()[-1].startswith(
        "copied 4/4 chats, 40 messages, 0 working memories, ")


def test_chat_working_memory_without_row_or_messages_goes_and_comes_back(
        backend: Backend) -> None:
    """A chat-scope working memory whose chat has no row and no messages (the TS
    package's deleteChat leaves it behind) is exported as a chat group of no row and no
    messages, and imported as just that working memory: no chat row appears."""
    clock = transfer._Clock()
    mem = backend.open(clock)
    try:
        populate(mem)
        _with_clock(mem, at(80), lambda: mem.update_working_memory(
            scope="chat", chat_id="b-left", user_id="u5", content="# left behind"))
        data = export_bytes_of(mem)
    finally:
        mem.close()
    group = [r for r in records(data) if r.get("chat_id") == "b-left"]
    assert group == [
        {"type": "chat", "chat_id": "b-left", "row": False, "user_id": None, "title": None,
         "created_at": None, "updated_at": None, "message_count": None, "messages": 0,
         "partial": False},
        {"type": "working_memory", "scope": "chat", "chat_id": "b-left", "user_id": "u5",
         "content": "# left behind", "updated_at": "2026-03-01T12:01:20.000Z"}]
    mem = backend.open(clock)  # empty again
    try:
        transfer.import_records(mem, transfer.read_records(io.BytesIO(data)), clock=clock)
        wm = mem.get_working_memory(scope="chat", chat_id="b-left")
        assert wm is not None and (wm.user_id, wm.content, wm.updated_at) \
            == ("u5", "# left behind", at(80))
        assert mem.get_chat("b-left") is None and mem.get_messages("b-left") == []
        assert without_ids(export_bytes_of(mem)) == without_ids(data)
        one = records(export_bytes_of(mem, chat_id="b-left"))
        assert [r.get("type") for r in one] == [None, "chat", "working_memory", "end"]
    finally:
        mem.close()
