"""AsyncMemory: the same API as Memory, and what asyncio services need of it on every
backend (many tasks, readers during writes, cancellation, several event loops).

The behaviour of each operation is proven by the shared tests and the Hypothesis state
machine, which run through both APIs (tests/conftest.py ``api``); this file holds what
only an async caller can do."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import Any

import pytest

import memstore
from memstore import AsyncMemory, Memory
from tests.backends import Backend

SYNC_ONLY = {"close", "__enter__", "__exit__"}
ASYNC_ONLY = {"aclose", "__aenter__", "__aexit__"}


def public(cls: type) -> dict[str, Any]:
    return {name: getattr(cls, name) for name in dir(cls)
            if (not name.startswith("_") or name in SYNC_ONLY | ASYNC_ONLY)
            and callable(getattr(cls, name)) and name not in dir(object)}


def test_same_public_methods_with_the_same_signatures() -> None:
    sync, aio = public(Memory), public(AsyncMemory)
    assert set(sync) - SYNC_ONLY == set(aio) - ASYNC_ONLY
    for name in set(sync) - SYNC_ONLY:
        assert inspect.signature(sync[name]) == inspect.signature(aio[name]), name
        assert inspect.iscoroutinefunction(aio[name]), name
        assert not inspect.iscoroutinefunction(sync[name]), name
    assert inspect.signature(memstore.connect).parameters == \
        inspect.signature(memstore.connect_async).parameters
    for name in ASYNC_ONLY:
        assert inspect.iscoroutinefunction(aio[name]), name
    # the properties too
    assert {n for n in dir(Memory) if isinstance(getattr(Memory, n), property)} == \
        {n for n in dir(AsyncMemory) if isinstance(getattr(AsyncMemory, n), property)}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_many_tasks_append_to_one_chat(backend: Backend) -> None:
    """100 tasks x 100 save_message on one chat: all stored, each task's order kept."""
    tasks, each = 100, 100

    async def main() -> None:
        assert backend.open_async is not None
        mem = await backend.open_async(None)
        errors: list[BaseException] = []

        async def writer(t: int) -> None:
            for i in range(each):
                try:
                    await mem.save_message("c", "user", f"{t}:{i}")
                except Exception as exc:  # counted, not raised: the figure is the point
                    errors.append(exc)

        try:
            await asyncio.gather(*(writer(t) for t in range(tasks)))
            stored = await mem.get_messages("c", limit=10_000)
            chat = await mem.get_chat("c")
        finally:
            await mem.aclose()
        assert errors == []
        assert len(stored) == tasks * each
        assert chat is not None and chat.message_count == tasks * each
        seen: dict[int, list[int]] = {}
        for m in sorted(stored, key=lambda m: m.id):
            t, i = map(int, m.content.split(":"))
            seen.setdefault(t, []).append(i)
        assert all(order == list(range(each)) for order in seen.values())
        assert len(seen) == tasks

    run(main())


def test_a_reader_never_sees_part_of_a_batch(backend: Backend) -> None:
    batches, size = 60, 10

    async def main() -> None:
        assert backend.open_async is not None
        mem = await backend.open_async(None)
        seen: list[int] = []
        writing = True

        async def writer() -> None:
            nonlocal writing
            try:
                for b in range(batches):
                    await mem.save_messages("c", [{"role": "user", "content": f"{b}:{i}"}
                                                  for i in range(size)])
                    await asyncio.sleep(0)  # memory:// never waits: let the reader in
            finally:
                writing = False

        async def reader() -> None:
            while writing:
                got = await mem.get_messages("c", limit=10_000)
                seen.append(len(got))
                contents = [m.content for m in got]
                for start in range(0, len(contents), size):
                    b = contents[start].split(":")[0]
                    assert contents[start:start + size] == [f"{b}:{i}" for i in range(size)]
                await asyncio.sleep(0)

        try:
            await asyncio.gather(writer(), reader())
        finally:
            await mem.aclose()
        assert all(n % size == 0 for n in seen)
        assert seen, "the reader never ran"

    run(main())


def test_cancelled_batch_is_whole_or_absent_and_the_next_call_works(backend: Backend) -> None:
    n = 5_000

    async def main() -> None:
        assert backend.open_async is not None
        mem = await backend.open_async(None)
        try:
            outcomes = []
            # None: cancelled before it starts; then at points inside the write
            for delay in (None, 0.0, 0.001, 0.005, 0.02):
                chat = f"cancel-{delay}"
                task = asyncio.create_task(mem.save_messages(
                    chat, [{"role": "user", "content": f"m{i}"} for i in range(n)]))
                if delay is not None:
                    await asyncio.sleep(delay)
                task.cancel()
                try:
                    await task
                    outcomes.append("done")
                except asyncio.CancelledError:
                    outcomes.append("cancelled")
                stored = await mem.get_messages(chat, limit=10_000)
                assert len(stored) in (0, n), (delay, len(stored))
                chat_row = await mem.get_chat(chat)
                assert (chat_row.message_count if chat_row else 0) == len(stored)
                # the connection is usable afterwards
                m = await mem.save_message(chat, "user", "after")
                assert (await mem.get_messages(chat, limit=1))[0].id == m.id
            assert "cancelled" in outcomes
        finally:
            await mem.aclose()

    run(main())


def test_one_async_memory_from_two_threads_each_with_its_own_loop(backend: Backend) -> None:
    """The OpenAI Agents SDK's own session tests do this. Where the driver binds its
    connection to one event loop (libsql-client's aiohttp session), the second loop gets
    a clear MemstoreError instead."""
    assert backend.open_async is not None
    mem = run(backend.open_async(None))
    results: dict[int, Any] = {}

    def worker(k: int) -> None:
        async def main() -> list[int]:
            ids = []
            for i in range(20):
                ids.append((await mem.save_message("c", "user", f"{k}:{i}")).id)
            return ids

        try:
            results[k] = asyncio.run(main())
        except BaseException as exc:
            results[k] = exc

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        failures = [r for r in results.values() if isinstance(r, BaseException)]
        if backend.name == "turso":
            for exc in failures:
                assert isinstance(exc, memstore.MemstoreError), repr(exc)
                assert "event loop" in str(exc)
        else:
            assert failures == []
            stored = run(mem.get_messages("c", limit=1000))
            assert len(stored) == 40
    finally:
        run(mem.aclose())


def test_calls_after_aclose_raise_closed_error(backend: Backend) -> None:
    async def main() -> None:
        assert backend.open_async is not None
        mem = await backend.open_async(None)
        await mem.save_message("c", "user", "x")
        await mem.aclose()
        await mem.aclose()  # twice is fine
        with pytest.raises(memstore.ClosedError, match="closed"):
            await mem.get_messages("c")
        with pytest.raises(memstore.ClosedError):
            await mem.save_message("c", "user", "y")

    run(main())


def test_calls_after_close_raise_closed_error(backend: Backend) -> None:
    mem = backend.open(None)
    mem.save_message("c", "user", "x")
    mem.close()
    mem.close()
    with pytest.raises(memstore.ClosedError, match="closed"):
        mem.get_messages("c")
    with pytest.raises(memstore.ClosedError):
        mem.save_message("c", "user", "y")
    with pytest.raises(memstore.ClosedError):
        mem.init_schema()


def test_closed_error_names_the_closed_object_and_how_to_open_another(
        backend: Backend) -> None:
    mem = backend.open(None)
    mem.close()
    with pytest.raises(memstore.ClosedError) as info:
        mem.count_messages("c")
    assert str(info.value) == "this Memory is closed; open a new one with memstore.connect()"

    async def main() -> None:
        assert backend.open_async is not None
        amem = await backend.open_async(None)
        await amem.aclose()
        with pytest.raises(memstore.ClosedError) as info:
            await amem.count_messages("c")
        assert str(info.value) == ("this AsyncMemory is closed; open a new one with "
                                   "memstore.connect_async()")

    run(main())


@pytest.mark.parametrize("kind", ["postgres", "mysql"])
def test_a_call_that_finds_the_connection_closed_raises_closed_error(kind: str) -> None:
    # What a call that waited for the connection while close() ran meets: the adapter's own
    # closed check, which must be a ClosedError naming the Memory (was a BackendError on
    # PostgreSQL), not a driver error nor a reconnect.
    import importlib

    server_url = importlib.import_module(f"tests.backend_{kind}").server_url
    mem = memstore.connect(server_url())  # memstore's own connection; no SQL runs here
    try:
        mem.adapter.close()
        with pytest.raises(memstore.ClosedError) as info:
            mem.count_messages("c")
        assert str(info.value) == ("this Memory is closed; open a new one with "
                                   "memstore.connect()")
    finally:
        mem.close()


@pytest.mark.parametrize("kind", ["sqlite", "mysql"])
def test_an_async_memory_never_closed_is_closed_when_collected(kind: str,
                                                                tmp_path: Any) -> None:
    # Issue 26, finding 15: a thread, file descriptors and (MySQL) a server connection
    # stayed per unclosed AsyncMemory until the process exited, without a warning.
    import gc
    import warnings

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'a.db'}"
    else:
        from tests.backend_mysql import server_url
        url = server_url()
    name = f"memstore-{kind}"

    def threads() -> int:
        return sum(t.name == name and t.is_alive() for t in threading.enumerate())

    before = threads()

    async def leak() -> Any:
        mem = await memstore.connect_async(url)
        await mem.doctor()
        conn = mem.adapter.sync.conn if kind == "mysql" else None
        return conn  # the AsyncMemory itself is dropped here, never closed

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        conn = asyncio.run(leak())
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "AsyncMemory was never closed"
               in str(w.message) for w in seen), [str(w.message) for w in seen]
    for _ in range(200):
        if threads() == before:
            break
        threading.Event().wait(0.01)
    assert threads() == before
    if conn is not None:
        assert not conn.open  # the server connection is closed too
