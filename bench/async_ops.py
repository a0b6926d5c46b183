"""The async rows: the operations of bench/ops.py through ``AsyncMemory``, next to the raw
async floor doing the same SQL work, each call awaited in one running event loop.

The floor is the way memstore itself reaches the database in asyncio, done by hand:

- PostgreSQL and libsql-client: the driver's own async API (psycopg ``AsyncConnection``,
  libsql_client's async ``Client``), the same statements as the sync floor.
- SQLite and MySQL: memstore runs its blocking driver on a dedicated thread, one hop per
  unit (memstore/adapters/threaded.py). The floor is the sync floor (bench/target_sqlite.py,
  bench/target_mysql.py) on a dedicated thread of its own, one ``loop.run_in_executor``
  hop per operation.

Alternatives (extra columns, labelled): the same SQL through aiosqlite and aiomysql, the
async drivers memstore did not choose; they are there to check that choice with figures.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

import memstore

from . import ops
from .data import T0
from .timing import Op

HUGE, HUGE_SIZE, PAGE = "huge", 100_000, 1000  # the keyset-page check (issue: flat pages)
PAGES = HUGE_SIZE // PAGE


class AsyncRaw(Protocol):
    """ops.Raw with awaitable methods; ``all_messages`` reads a chat in keyset pages of
    PAGE rows as memstore's get_messages(limit=None) does, ``first_page`` / ``last_page``
    run last_messages / messages_before (limit PAGE) on the HUGE chat."""

    async def round_trip(self) -> object: ...
    async def save(self, n: int) -> object: ...
    async def last(self, chat_id: str) -> object: ...
    async def wm_upsert(self) -> object: ...
    async def wm_read(self) -> object: ...
    async def list_chats(self) -> object: ...
    async def seed_doomed(self) -> object: ...
    async def delete(self) -> object: ...


@dataclass
class AsyncTarget:
    """A backend with the data loaded: AsyncMemory on it, the raw async floor (None: no
    floor), the measured alternatives by label, and an AsyncExitStack that closes it all."""

    mem: memstore.AsyncMemory
    raw: AsyncRaw | None
    where: str
    stack: AsyncExitStack
    info: dict[str, str] = field(default_factory=dict)
    alternatives: dict[str, AsyncRaw] = field(default_factory=dict)
    # The 100,000-message chat's page anchor (the oldest PAGE rows' boundary), when loaded.
    huge_anchor: tuple[Any, int] | None = None

    async def seed(self) -> object:
        if self.raw is not None:
            return await self.raw.seed_doomed()
        batch = [{"role": "user", "content": ops.CONTENT, "timestamp": ops.NOW}] \
            * ops.DOOMED_SIZE
        return await self.mem.save_messages(ops.DOOMED, batch, user_id=ops.SAVE_USER)


def huge_rows() -> Iterable[tuple[str, str, str, str, Any]]:
    """(chat_id, user_id, role, content, timestamp) of the HUGE chat, oldest first; every
    two messages share a timestamp, so pages also break ties by id."""
    for i in range(HUGE_SIZE):
        yield (HUGE, "user-huge", "user" if i % 2 else "assistant", ops.CONTENT,
               T0 + timedelta(milliseconds=(i // 2) * 10))


async def ops_of(t: AsyncTarget) -> list[Op]:
    """bench/ops.py's list, awaited: same names, same calls, same set-up."""
    mem, raw = t.mem, t.raw
    batch = [{"role": "user", "content": ops.CONTENT, "timestamp": ops.NOW}] * 100
    await mem.update_working_memory(scope="user", user_id=ops.WM_USER, content=ops.CONTENT)

    def r(fn: Callable[[AsyncRaw], Awaitable[object]]) -> Callable[[], object] | None:
        return None if raw is None else (lambda: fn(raw))

    def alt(fn: Callable[[Any], Awaitable[object]]) -> dict[str, Callable[[], object] | None]:
        return {label: (lambda a=a: fn(a)) for label, a in t.alternatives.items()}

    return [
        Op("round trip (SELECT 1)", None, r(lambda x: x.round_trip()),
           peers=alt(lambda x: x.round_trip())),
        Op("save 1 message", lambda: mem.save_message(
            ops.SAVE_CHAT, "user", ops.CONTENT, user_id=ops.SAVE_USER, timestamp=ops.NOW),
           r(lambda x: x.save(1)), peers=alt(lambda x: x.save(1))),
        Op("save 100 messages", lambda: mem.save_messages(
            ops.SAVE_CHAT, batch, user_id=ops.SAVE_USER),
           r(lambda x: x.save(100)), calls=10, peers=alt(lambda x: x.save(100))),
        Op("last 50, typical chat", lambda: mem.get_messages(ops.TYPICAL, limit=50),
           r(lambda x: x.last(ops.TYPICAL)), peers=alt(lambda x: x.last(ops.TYPICAL))),
        Op("last 50, 10,000-message chat", lambda: mem.get_messages(ops.BIG, limit=50),
           r(lambda x: x.last(ops.BIG)), peers=alt(lambda x: x.last(ops.BIG))),
        Op("last 50, 10-message chat", lambda: mem.get_messages(ops.SMALL, limit=50),
           r(lambda x: x.last(ops.SMALL)), peers=alt(lambda x: x.last(ops.SMALL))),
        Op("working-memory upsert", lambda: mem.update_working_memory(
            scope="user", user_id=ops.WM_USER, content=ops.CONTENT),
           r(lambda x: x.wm_upsert()), peers=alt(lambda x: x.wm_upsert())),
        Op("working-memory read", lambda: mem.get_working_memory(
            scope="user", user_id=ops.WM_USER),
           r(lambda x: x.wm_read()), peers=alt(lambda x: x.wm_read())),
        Op("list a user's chats", lambda: mem.get_chats(user_id=ops.LIST_USER, limit=20),
           r(lambda x: x.list_chats()), peers=alt(lambda x: x.list_chats())),
        Op("delete a chat of 1,000 messages", lambda: mem.delete_chat(ops.DOOMED),
           r(lambda x: x.delete()), calls=3, setup=t.seed, peers=alt(lambda x: x.delete())),
    ]


FIRST_PAGE = f"keyset page 1 of {PAGES} (newest {PAGE:,}: last_messages)"
LAST_PAGE = f"keyset page {PAGES} of {PAGES} (oldest {PAGE:,}: messages_before)"
WHOLE = f"whole {HUGE_SIZE:,}-message chat, get_messages(limit=None)"


def page_ops(t: AsyncTarget, anchor_id: int) -> list[Op]:
    """The 100,000-message chat: the whole chat read in keyset pages, and the first and the
    last page alone (memstore: get_messages(limit=PAGE), and with before_id = the oldest
    PAGE rows' boundary, which also looks that message's position up)."""
    mem, raw = t.mem, t.raw
    assert raw is not None
    pages: Any = raw
    return [
        Op(WHOLE, lambda: mem.get_messages(HUGE, limit=None), lambda: pages.all_messages(HUGE),
           calls=3, peers={label: (lambda a=a: a.all_messages(HUGE))
                           for label, a in t.alternatives.items()}),
        Op(FIRST_PAGE, lambda: mem.get_messages(HUGE, limit=PAGE), pages.first_page),
        Op(LAST_PAGE, lambda: mem.get_messages(HUGE, limit=PAGE, before_id=anchor_id),
           pages.last_page),
    ]


class OnThread:
    """A blocking floor (bench/target_*.Raw) on a dedicated thread: each operation is one
    ``loop.run_in_executor`` hop, as memstore's ThreadedRunner makes one hop per unit."""

    def __init__(self, thread: ThreadPoolExecutor, sync: Any) -> None:
        self.thread = thread
        self.sync = sync

    @classmethod
    async def open(cls, stack: AsyncExitStack, name: str,
                   make: Callable[[], Any]) -> OnThread:
        """``make()`` (opening the blocking connection) runs on the new thread itself."""
        thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        stack.callback(thread.shutdown, wait=True)
        sync = await asyncio.get_running_loop().run_in_executor(thread, make)
        return cls(thread, sync)

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.thread, fn, *args)

    async def round_trip(self) -> object:
        return await self._call(self.sync.round_trip)

    async def save(self, n: int) -> object:
        return await self._call(self.sync.save, n)

    async def last(self, chat_id: str) -> object:
        return await self._call(self.sync.last, chat_id)

    async def wm_upsert(self) -> object:
        return await self._call(self.sync.wm_upsert)

    async def wm_read(self) -> object:
        return await self._call(self.sync.wm_read)

    async def list_chats(self) -> object:
        return await self._call(self.sync.list_chats)

    async def seed_doomed(self) -> object:
        return await self._call(self.sync.seed_doomed)

    async def delete(self) -> object:
        return await self._call(self.sync.delete)

    async def all_messages(self, chat_id: str) -> object:
        return await self._call(self.sync.all_messages, chat_id)

    async def first_page(self) -> object:
        return await self._call(self.sync.first_page)

    async def last_page(self) -> object:
        return await self._call(self.sync.last_page)


class OnQueueThread(OnThread):
    """OnThread with aiosqlite's hand-off instead of ``run_in_executor``: a plain thread
    reading (call, future) pairs from a SimpleQueue and resolving the future with
    ``call_soon_threadsafe``. Still one hop per operation; measured to tell the cost of the
    hand-off apart from the number of hops."""

    jobs: queue.SimpleQueue[Any]

    @classmethod
    async def open_queue(cls, stack: AsyncExitStack, name: str,
                         make: Callable[[], Any]) -> OnQueueThread:
        jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()

        def work() -> None:
            while (job := jobs.get()) is not None:
                loop, future, fn, args = job
                try:
                    result = fn(*args)
                except BaseException as exc:
                    loop.call_soon_threadsafe(_settle, future, None, exc)
                else:
                    loop.call_soon_threadsafe(_settle, future, result, None)

        thread = threading.Thread(target=work, name=name, daemon=True)
        thread.start()
        stack.callback(thread.join)
        stack.callback(jobs.put, None)
        floor = cls.__new__(cls)
        floor.jobs = jobs
        floor.sync = await floor._call(make)
        return floor

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.jobs.put((loop, future, fn, args))
        return await future


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


# -- many tasks on one pool ---------------------------------------------------------------


async def throughput(make: Callable[[int], Callable[[], Awaitable[object]]], tasks: int,
                     seconds: float) -> tuple[int, float]:
    """``tasks`` tasks, task i calling ``make(i)()`` back to back for ``seconds``: the
    calls completed and the time they took (until the last task's last call ended)."""
    deadline = time.perf_counter() + seconds
    done = 0

    async def worker(i: int) -> None:
        nonlocal done
        call = make(i)
        while time.perf_counter() < deadline:
            await call()
            done += 1

    t = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(tasks)))
    return done, time.perf_counter() - t


async def concurrent(sides: dict[str, dict[str, Callable[[int], Callable[[], Awaitable[object]]]]],
                     tasks: int, seconds: float, rounds: int = 3) -> dict[str, dict[str, float]]:
    """Calls per second by op and side: each side runs ``seconds`` in all, in ``rounds``
    slices with the side order rotated (a warm-up slice of 0.2 s each first)."""
    out: dict[str, dict[str, float]] = {}
    for op, by_side in sides.items():
        labels = list(by_side)
        for label in labels:
            await throughput(by_side[label], tasks, 0.2)
        calls = dict.fromkeys(labels, 0)
        took = dict.fromkeys(labels, 0.0)
        for r in range(rounds):
            for label in labels[r % len(labels):] + labels[:r % len(labels)]:
                n, s = await throughput(by_side[label], tasks, seconds / rounds)
                calls[label] += n
                took[label] += s
        out[op] = {label: calls[label] / took[label] for label in labels}
    return out
