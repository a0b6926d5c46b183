"""Reliability on every backend: concurrent writers and readers, hostile input.

Threads share one ``Memory``: the documented way (README, "Threads"). Loops are bounded and
nothing sleeps to make an assertion true.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memstore
from memstore import Memory
from tests.model import Expected, check_content, check_id

WRITERS = 8


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # collected and asserted on by the caller
            errors.append(exc)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def test_8_writers_x_1000_messages_to_one_chat(mem: Memory) -> None:
    per_writer = 1000

    def write(w: int) -> None:
        for i in range(per_writer):
            mem.save_message("shared", "user", f"w{w}-{i}", user_id=f"u{w}")

    errors = run_threads(WRITERS, write)
    assert errors == []
    got = mem.get_messages("shared", limit=10_000)
    assert len(got) == WRITERS * per_writer
    for w in range(WRITERS):
        mine = [m.content for m in got if m.user_id == f"u{w}"]
        assert mine == [f"w{w}-{i}" for i in range(per_writer)], f"writer {w} out of order"
    chat = mem.get_chat("shared")
    assert chat is not None and chat.message_count == WRITERS * per_writer


def test_8_writers_x_200_working_memory_upserts_on_one_key(mem: Memory) -> None:
    written = {f"w{w}-{i}" for w in range(WRITERS) for i in range(200)}

    def write(w: int) -> None:
        for i in range(200):
            mem.update_working_memory(scope="user", user_id="racer", chat_id=f"c{w}",
                                      content=f"w{w}-{i}")

    errors = run_threads(WRITERS, write)
    assert errors == []
    wm = mem.get_working_memory(scope="user", user_id="racer")
    assert wm is not None and wm.content in written
    assert count_working_memory_rows(mem, "user:racer") == 1


def count_working_memory_rows(mem: Memory, wm_id: str) -> int:
    adapter: Any = mem.adapter
    if mem.dialect == "memory":
        return sum(1 for key in adapter._wm if key == wm_id)
    with adapter.reading() as cur:
        # wm_id is a constant of this test, not user input; each driver has its own
        # parameter style, so it is written into the statement.
        cur.execute(f"SELECT COUNT(*) FROM {adapter.tables['working_memory']} "
                    f"WHERE id = '{wm_id}'")
        return int(cur.fetchone()[0])


def test_a_reader_never_sees_a_partial_batch(mem: Memory) -> None:
    batches = 150
    done = threading.Event()
    seen: list[int] = []

    def work(i: int) -> None:
        if i == 0:
            try:
                for b in range(batches):
                    mem.save_messages("c", [{"role": "user", "content": f"{b}-{k}"}
                                            for k in range(10)])
            finally:
                done.set()
        else:
            while not done.is_set():
                got = mem.get_messages("c", limit=10_000)
                seen.append(len(got))
                assert len(got) % 10 == 0, f"partial batch: {len(got)} messages"
                contents = [m.content for m in got]
                assert contents == [f"{b}-{k}" for b in range(len(got) // 10)
                                    for k in range(10)]

    errors = run_threads(2, work)
    assert errors == []
    assert len(mem.get_messages("c", limit=10_000)) == batches * 10
    assert seen, "the reader never ran"


# -- hostile input: round-trips byte-identical, or the same ValidationError everywhere --

any_text = st.text(alphabet=st.characters(), max_size=60)  # includes NUL and surrogates
hostile = st.one_of(any_text, st.sampled_from([
    "'; DROP TABLE conversation_messages; --", '"', "\\", "%", "_", "\\%", "e\u0301",
    "\u202e\u05d0\u05d1", "👩‍👩‍👧‍👦", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢", "\U0010ffff", "\ufeff", "\r\n", " ", "x" * 255,
    "x" * 256, ""]))


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(chat_id=hostile, user_id=hostile, content=hostile, title=hostile)
def test_hostile_text_round_trips_or_is_refused(
    mem: Memory, chat_id: str, user_id: str, content: str, title: str
) -> None:
    try:
        check_id("chat_id", chat_id)
        check_id("user_id", user_id)
        check_content("content", content)
        if len(title) > 500 or "\x00" in title or any(
                0xD800 <= ord(c) <= 0xDFFF for c in title):
            raise Expected("title")
    except Expected as exc:
        try:
            mem.save_message(chat_id, "user", content, user_id=user_id)
            mem.update_chat_title(chat_id, title)
        except memstore.ValidationError as got:
            assert got.field == exc.field
            return
        raise AssertionError(f"expected a ValidationError on {exc.field}") from None
    saved = mem.save_message(chat_id, "user", content, user_id=user_id)
    mem.update_chat_title(chat_id, title)
    mem.update_working_memory(scope="user", user_id=user_id, content=content)
    last = mem.get_messages(chat_id, user_id=user_id, limit=1)
    assert last == [saved]
    assert last[0].content.encode("utf-8") == content.encode("utf-8")
    chat = mem.get_chat(chat_id)
    assert chat is not None and chat.title == title
    assert chat_id in {c.chat_id for c in mem.get_chats(user_id=None, limit=10_000)}
    wm = mem.get_working_memory(scope="user", user_id=user_id)
    assert wm is not None and wm.content == content
    assert mem.delete_chat(chat_id)


# -- crash safety on SQLite: a writer killed mid-batch ------------------------------

CHILD = r"""
import sys, memstore
mem = memstore.connect(sys.argv[1])
batch = [{"role": "user", "content": "x" * 200} for _ in range(2000)]
for b in range(10_000):
    mem.save_messages("crash", batch)
    print(b, flush=True)
"""


def test_sqlite_writer_killed_mid_batch_leaves_whole_batches(tmp_path: Any) -> None:
    import signal
    import sqlite3
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'crash.db'}"
    memstore.connect(url).init_schema()
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout is not None
        for _ in range(round_ + 1):  # let it commit a batch or more, then kill it mid-way
            assert child.stdout.readline() != ""
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        with memstore.connect(url) as mem:
            total = len(mem.get_messages("crash", limit=10_000))
            conn = sqlite3.connect(tmp_path / "crash.db")
            count = conn.execute("SELECT COUNT(*) FROM conversation_messages").fetchone()[0]
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            conn.close()
            assert count % 2000 == 0, f"a partial batch survived: {count} rows"
            chat = mem.get_chat("crash")
            assert chat is not None and chat.message_count == count
            assert total == min(count, 10_000)
            mem.save_message("crash", "user", "still works")
            mem.delete_chat("crash")
