"""Reliability on every backend: concurrent writers and readers, hostile input, crashes.

The ``mem`` tests share one ``Memory`` between threads, the documented way (README,
"Threads"); the ``parallel`` tests give every thread its own connection to the same tables,
so the database itself sees the calls at the same time (processes, for the ``libsql``
driver). Loops are bounded and nothing sleeps to make an assertion true.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import memstore
from memstore import Memory
from tests.backend_libsql import require_libsql
from tests.backends import require_env
from tests.checks import query
from tests.model import Expected, check_content, check_id

WRITERS = 8
PER_WRITER = 1000  # messages
UPSERTS = 200  # working-memory updates per writer
HANG = 300  # seconds for all threads of a test together; still running then means hung


def run_threads(n: int, work: Callable[[int], None]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(n)

    def body(i: int) -> None:
        try:
            start.wait()
            work(i)
        except BaseException as exc:  # collected and asserted on by the caller
            errors.append(exc)

    # daemon: a thread stuck in a driver call does not keep the test run from exiting
    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + HANG
    for t in threads:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    assert not any(t.is_alive() for t in threads), "a writer hung"
    return errors


def messages_outcome(mem: Memory, writers: int, per_writer: int) -> tuple[int, int, int]:
    """After writer ``w`` saved "w{w}-{i}" (i < per_writer) to chat "shared" as user
    "u{w}": (messages stored, writers whose messages are out of order, message_count)."""
    got = mem.get_messages("shared", limit=10_000)
    disordered = sum([m.content for m in got if m.user_id == f"u{w}"]
                     != [f"w{w}-{i}" for i in range(per_writer)] for w in range(writers))
    chat = mem.get_chat("shared")
    return len(got), disordered, chat.message_count if chat else -1


def working_memory_outcome(mem: Memory, writers: int, per_writer: int) -> tuple[bool, int]:
    """After writer ``w`` wrote "w{w}-{i}" to the user scope of "racer": (the content is
    one of the written values, rows with that key)."""
    wm = mem.get_working_memory(scope="user", user_id="racer")
    written = {f"w{w}-{i}" for w in range(writers) for i in range(per_writer)}
    return (wm is not None and wm.content in written,
            count_working_memory_rows(mem, "user:racer"))


Outcome = Callable[..., Any]


@pytest.fixture
def outcome(record_property: Callable[[str, object], None]) -> Outcome:
    """Records what a test saw (``pytest --junitxml`` keeps it, for the issue's table of
    counts) and hands it back to be asserted on: ``outcome(result, expected)``."""

    def record(result: tuple[Any, ...], expected: int | None = None) -> tuple[Any, ...]:
        errors, *counts = result
        record_property("errors", len(errors))
        record_property("counts", repr(tuple(counts)))
        if expected is not None:
            record_property("stored", f"{counts[0]}/{expected}")
        return result

    return record


def write_messages(mems: list[Memory], per_writer: int = PER_WRITER) -> tuple[
        list[BaseException], int, int, int]:
    """Writer ``w`` saves ``per_writer`` messages to one chat through ``mems[w]``:
    (errors, *messages_outcome)."""

    def write(w: int) -> None:
        for i in range(per_writer):
            mems[w].save_message("shared", "user", f"w{w}-{i}", user_id=f"u{w}")

    errors = run_threads(len(mems), write)
    return (errors, *messages_outcome(mems[0], len(mems), per_writer))


def upsert_one_key(mems: list[Memory]) -> tuple[list[BaseException], bool, int]:
    """Writer ``w`` updates one working-memory key UPSERTS times through ``mems[w]``:
    (errors, *working_memory_outcome)."""

    def write(w: int) -> None:
        for i in range(UPSERTS):
            mems[w].update_working_memory(scope="user", user_id="racer", chat_id=f"c{w}",
                                          content=f"w{w}-{i}")

    errors = run_threads(len(mems), write)
    return (errors, *working_memory_outcome(mems[0], len(mems), UPSERTS))


def test_8_writers_x_1000_messages_to_one_chat(mem: Memory, outcome: Outcome) -> None:
    total = WRITERS * PER_WRITER
    assert outcome(write_messages([mem] * WRITERS), total) == ([], total, 0, total)


def test_8_writers_x_200_working_memory_upserts_on_one_key(
        mem: Memory, outcome: Outcome) -> None:
    assert outcome(upsert_one_key([mem] * WRITERS)) == ([], True, 1)


def count_working_memory_rows(mem: Any, wm_id: str) -> int:
    if mem.dialect == "memory":
        inner = mem if isinstance(mem, Memory) else mem.amem
        return sum(1 for key in inner._dialect._wm if key == wm_id)
    # wm_id is a constant of this test, not user input; each driver has its own
    # parameter style, so it is written into the statement.
    tables = (mem if isinstance(mem, Memory) else mem.amem)._dialect.tables
    return int(query(mem, f"SELECT COUNT(*) FROM {tables['working_memory']} "
                          f"WHERE id = '{wm_id}'")[0][0])


BATCHES = 150  # of 10 messages


def read_while_batches_are_written(writer: Memory, reader: Memory) -> tuple[
        list[BaseException], int, int]:
    """One thread saves BATCHES batches of 10 through ``writer`` while another reads the
    chat through ``reader`` until it is done; a read must hold whole batches, in order.
    Returns (errors, messages stored, reads made)."""
    done = threading.Event()
    seen: list[int] = []

    def work(i: int) -> None:
        if i == 0:
            try:
                for b in range(BATCHES):
                    writer.save_messages("c", [{"role": "user", "content": f"{b}-{k}"}
                                               for k in range(10)])
            finally:
                done.set()
        else:
            while not done.is_set():
                got = reader.get_messages("c", limit=10_000)
                seen.append(len(got))
                assert len(got) % 10 == 0, f"partial batch: {len(got)} messages"
                contents = [m.content for m in got]
                assert contents == [f"{b}-{k}" for b in range(len(got) // 10)
                                    for k in range(10)]

    errors = run_threads(2, work)
    return errors, len(reader.get_messages("c", limit=10_000)), len(seen)


def test_a_reader_never_sees_a_partial_batch(mem: Memory, outcome: Outcome) -> None:
    errors, stored, reads = outcome(read_while_batches_are_written(mem, mem), BATCHES * 10)
    assert (errors, stored) == ([], BATCHES * 10)
    assert reads, "the reader never ran"


# -- parallel paths: every writer on its own connection ---------------------------
#
# A shared Memory runs one call at a time on one connection, so the tests above cannot
# catch a race in the SQL itself (an upsert written as select-then-insert, a count read
# then written). Here each writer has its own connection to the same tables (a pool hands
# every call its own), so the database sees the calls in parallel. Every target works in
# tables of its own (a file, schema, database or table names) and removes them afterwards.

_numbers = itertools.count()


@dataclass
class Target:
    open: Callable[[], Memory]  # a Memory, with a connection of its own, on the tables
    writers: int = WRITERS
    messages: int = PER_WRITER  # per writer


def _opener(mems: list[Memory], make: Callable[[], Memory]) -> Callable[[], Memory]:
    """``make``, keeping what it opened in ``mems`` to be closed at the end."""
    def open_() -> Memory:
        mems.append(make())
        return mems[-1]
    return open_


def _close(mems: list[Memory]) -> None:
    for m in mems:
        m.close()


@contextmanager
def sqlite_file(tmp: Path) -> Iterator[Target]:
    """A Memory per writer from the URL of one SQLite file: its own sqlite3 connection."""
    url = f"sqlite:///{tmp / 'parallel.db'}"
    mems = [memstore.connect(url)]
    mems[0].init_schema()
    try:
        yield Target(_opener(mems, lambda: memstore.connect(url)))
    finally:
        _close(mems)


@contextmanager
def postgres_schema(pooled: bool) -> Iterator[Target]:
    """A schema of its own; a Memory per writer from the URL, or (``pooled``) one Memory
    on a psycopg_pool.ConnectionPool of WRITERS connections, shared by every writer."""
    import psycopg
    from psycopg import sql
    from psycopg_pool import ConnectionPool

    from tests import backend_postgres

    schema = f"{backend_postgres.SCHEMA}_par{next(_numbers)}"
    admin = psycopg.connect(backend_postgres.server_url(), autocommit=True)
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = backend_postgres.schema_url(schema)
    mems = [memstore.connect(url)]
    pool = None
    try:
        mems[0].init_schema()
        if pooled:
            pool = ConnectionPool(url, min_size=WRITERS, max_size=WRITERS, open=True)
            pool.wait()
            shared = memstore.connect(pool)
            mems.append(shared)
            yield Target(lambda: shared)
        else:
            yield Target(_opener(mems, lambda: memstore.connect(url)))
    finally:
        _close(mems)
        if pool is not None:
            pool.close()
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


@contextmanager
def mysql_database() -> Iterator[Target]:
    """A database of its own; a Memory per writer from the URL."""
    from tests import backend_mysql

    name = f"{backend_mysql.DATABASE}_par{next(_numbers)}"
    backend_mysql.create_database(name)
    url = backend_mysql.database_url(name)
    mems = [memstore.connect(url)]
    try:
        mems[0].init_schema()
        yield Target(_opener(mems, lambda: memstore.connect(url)))
    finally:
        _close(mems)
        backend_mysql.drop_database(name)


# sqld 0.24.32 (the test server) stops committing writes, for good and at 100% CPU, after
# some thousand batches from 4 or 8 concurrent clients (http and ws alike; reproduced on
# fresh servers, with and without memstore's busy retry); 2 clients run clean. So the
# network target has 2 writers, each with the same counts as the others.
SQLD_WRITERS = 2


@contextmanager
def sqld_tables() -> Iterator[Target]:
    """Tables named for this run on the test sqld; a libsql-client Memory per writer
    (its own HTTP connection), with the token in the URL."""
    base = require_env("MEMSTORE_TEST_TURSO_URL", "turso server")
    url = f"{base}?authToken={os.environ.get('MEMSTORE_TEST_TURSO_TOKEN', '')}"
    tag = f"p{os.getpid()}_{next(_numbers)}"
    tables = {"working_memory": f"wm_{tag}", "messages": f"msg_{tag}", "chats": f"chat_{tag}"}
    mems = [memstore.connect(url, tables=tables)]
    drop = [f"DROP TABLE IF EXISTS {t}" for t in tables.values()]
    adapter: Any = mems[0].adapter
    try:
        adapter.client.batch(drop)
        mems[0].init_schema()
        yield Target(_opener(mems, lambda: memstore.connect(url, tables=tables)),
                     writers=SQLD_WRITERS)
    finally:
        adapter.client.batch(drop)
        _close(mems)


@contextmanager
def libsql_client_file(tmp: Path) -> Iterator[Target]:
    """A libsql-client Memory per writer on one ``file:`` URL: its local executor opens a
    connection per call, with no busy wait, and memstore waits out its SQLITE_BUSY (as it
    does sqld's). The file is in WAL mode, set once as its owner would: with a rollback
    journal every commit waits for two disk flushes."""
    with closing(sqlite3.connect(tmp / "parallel.db")) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    url = f"file:{tmp / 'parallel.db'}"
    mems = [memstore.connect(url)]
    mems[0].init_schema()
    try:
        # ~150 writes/s here: each call opens the file, and closing it checkpoints
        yield Target(_opener(mems, lambda: memstore.connect(url)), messages=250)
    finally:
        _close(mems)


PARALLEL: dict[str, Callable[[Path], AbstractContextManager[Target]]] = {
    "sqlite": sqlite_file,
    "turso-file": libsql_client_file,
    "postgres-url": lambda _: postgres_schema(pooled=False),
    "postgres-pool": lambda _: postgres_schema(pooled=True),
    "mysql": lambda _: mysql_database(),
    "turso-http": lambda _: sqld_tables(),
}


@pytest.fixture(params=sorted(PARALLEL))
def parallel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Target]:
    with PARALLEL[request.param](tmp_path) as target:
        yield target


def test_parallel_writers_messages_to_one_chat(parallel: Target, outcome: Outcome) -> None:
    total = parallel.writers * parallel.messages
    mems = [parallel.open() for _ in range(parallel.writers)]
    assert outcome(write_messages(mems, parallel.messages), total) == ([], total, 0, total)


def test_parallel_writers_working_memory_upserts_on_one_key(
        parallel: Target, outcome: Outcome) -> None:
    mems = [parallel.open() for _ in range(parallel.writers)]
    assert outcome(upsert_one_key(mems)) == ([], True, 1)


def test_parallel_reader_never_sees_a_partial_batch(
        parallel: Target, outcome: Outcome) -> None:
    errors, stored, reads = outcome(
        read_while_batches_are_written(parallel.open(), parallel.open()), BATCHES * 10)
    assert (errors, stored) == ([], BATCHES * 10)
    assert reads, "the reader never ran"


def test_parallel_poppers_get_each_message_exactly_once(
        parallel: Target, outcome: Outcome) -> None:
    """N workers (a connection each) pop one chat of N x messages until it is empty:
    every message comes back to exactly one of them (the Agents SDK's issue #4205)."""
    total = parallel.writers * parallel.messages
    mems = [parallel.open() for _ in range(parallel.writers)]
    for start in range(0, total, 1000):
        mems[0].save_messages("shared", [{"role": "user", "content": f"m{i}"}
                                         for i in range(start, min(start + 1000, total))])
    popped: list[list[str]] = [[] for _ in mems]

    def pop(w: int) -> None:
        while (m := mems[w].pop_message("shared")) is not None:
            popped[w].append(m.content)

    errors = run_threads(len(mems), pop)
    everything = [c for got in popped for c in got]
    chat = mems[0].get_chat("shared")
    result = (errors, len(everything), len(set(everything)),
              mems[0].count_messages("shared"), chat.message_count if chat else -1)
    assert outcome(result, total) == ([], total, total, 0, 0)
    # each worker got its messages newest first
    order = {f"m{i}": i for i in range(total)}
    assert all([order[c] for c in got] == sorted((order[c] for c in got), reverse=True)
               for got in popped)


def test_parallel_replace_against_a_reader_shows_whole_lists(
        parallel: Target, outcome: Outcome) -> None:
    """replace_messages swaps a 20-message list while a reader (its own connection)
    reads the chat: every read is one whole list, never a mix or an empty chat."""
    writer, reader = parallel.open(), parallel.open()
    size, rounds = 20, 100
    writer.replace_messages("shared", [{"role": "user", "content": f"r0:{i}"}
                                       for i in range(size)])
    reads: list[int] = []
    done = threading.Event()

    def work(i: int) -> None:
        if i == 0:
            try:
                for r in range(1, rounds + 1):
                    writer.replace_messages("shared", [{"role": "user", "content": f"r{r}:{k}"}
                                                       for k in range(size)])
            finally:
                done.set()
            return
        while not done.is_set():
            got = [m.content for m in reader.get_messages("shared", limit=None)]
            head = got[0].split(":")[0] if got else "none"
            assert got == [f"{head}:{k}" for k in range(size)], got
            reads.append(1)

    errors = run_threads(2, work)
    final = writer.get_messages("shared", limit=None)
    chat = writer.get_chat("shared")
    result = (errors, len(final), chat.message_count if chat else -1)
    assert outcome(result, size) == ([], size, size)
    assert [m.content for m in final] == [f"r{rounds}:{k}" for k in range(size)]
    assert reads, "the reader never ran"


# The `libsql` driver holds the GIL while it waits for another connection's lock (0.1.11),
# so threads with a connection each cannot write in parallel: the lock holder never gets
# to commit, and every waiter fails after its busy timeout. Its parallel writers are
# processes, each with its own connection to the file, as an application would run them.
# They use the settings memstore gives its own SQLite connections (memstore leaves a
# connection you pass in as it is): WAL, and synchronous=NORMAL, so a commit does not wait
# for a disk flush. With libsql's defaults (rollback journal, FULL) 8 writers on a busy
# machine wait out their 5 s busy timeout and fail (6 of 8 here, 1 of 8 with WAL alone).

LIBSQL_WRITER = r"""
import sys, libsql, memstore
path, op, w, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
conn = libsql.connect(path)
conn.execute("PRAGMA synchronous=NORMAL")  # per connection; WAL is set on the file
mem = memstore.connect(conn)
sys.stdin.readline()  # every writer starts at once
for i in range(n):
    if op == "messages":
        mem.save_message("shared", "user", f"w{w}-{i}", user_id=f"u{w}")
    else:
        mem.update_working_memory(scope="user", user_id="racer", chat_id=f"c{w}",
                                  content=f"w{w}-{i}")
"""


def run_libsql_writers(path: Path, op: str, per_writer: int) -> list[str]:
    """WRITERS processes run LIBSQL_WRITER on ``path``; the stderr tails of those that
    failed."""
    children = [subprocess.Popen(
        [sys.executable, "-c", LIBSQL_WRITER, str(path), op, str(w), str(per_writer)],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for w in range(WRITERS)]
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()  # communicate() closes it
    deadline = time.monotonic() + HANG
    errors = []
    for child in children:
        try:
            _, err = child.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            _, err = child.communicate()
            err += "hung"
        if child.returncode != 0:
            errors.append(err.strip().splitlines()[-1] if err.strip() else "no message")
    return errors


@pytest.fixture
def libsql_file(tmp_path: Path) -> Iterator[tuple[Path, Memory]]:
    libsql = require_libsql()
    path = tmp_path / "parallel.db"
    conn = libsql.connect(str(path))
    conn.execute("PRAGMA journal_mode=WAL")
    mem = memstore.connect(conn)
    mem.init_schema()
    yield path, mem
    mem.close()


def test_libsql_8_writer_processes_x_1000_messages_to_one_chat(
        libsql_file: tuple[Path, Memory], outcome: Outcome) -> None:
    path, mem = libsql_file
    total = WRITERS * PER_WRITER
    errors = run_libsql_writers(path, "messages", PER_WRITER)
    result = (errors, *messages_outcome(mem, WRITERS, PER_WRITER))
    assert outcome(result, total) == ([], total, 0, total)


def test_libsql_8_writer_processes_x_200_working_memory_upserts(
        libsql_file: tuple[Path, Memory], outcome: Outcome) -> None:
    path, mem = libsql_file
    errors = run_libsql_writers(path, "working_memory", UPSERTS)
    assert outcome((errors, *working_memory_outcome(mem, WRITERS, UPSERTS))) == ([], True, 1)


def test_libsql_threads_block_each_other(tmp_path: Path) -> None:
    """Why the libsql writers above are processes. If this fails, libsql now releases
    the GIL while it waits: give it a thread target in PARALLEL, and update the README."""
    libsql = require_libsql()
    holder = libsql.connect(str(tmp_path / "gil.db"), isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    waiter = libsql.connect(str(tmp_path / "gil.db"), timeout=0.5, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    ticks = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            ticks[0] += 1

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        before = ticks[0]
        time.sleep(0.1)  # what the other thread does in 0.1 s with the GIL free
        free, before = ticks[0] - before, ticks[0]
        with pytest.raises(ValueError, match="database is locked"):
            waiter.execute("BEGIN IMMEDIATE")  # waits its 0.5 s busy timeout
        waiting = ticks[0] - before
    finally:
        stop.set()
        spinner.join()
        holder.execute("ROLLBACK")
    # with the GIL released the spinner would do ~5x `free`; held, a slice at most
    assert waiting < free / 2, (free, waiting)


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
    url = f"sqlite:///{tmp_path / 'crash.db'}"
    memstore.connect(url).init_schema()
    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", CHILD, url], stdout=subprocess.PIPE,
                                 text=True)
        assert child.stdout is not None
        assert child.stdout.readline() != ""  # a batch committed
        started = time.monotonic()
        assert child.stdout.readline() != ""  # and another: how long one takes
        # Killed a quarter, half, three quarters into the next batch. (Right after a line,
        # a child that does not get the CPU in time would be killed between batches.)
        time.sleep((time.monotonic() - started) * (round_ + 1) / 4)
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
