"""The async runner for drivers with no async API of their own (sqlite3, PyMySQL, libsql):
the blocking runner on one thread of its own, a unit at a time.

Measured (README, "Async"; ``make bench``): one hop to a thread per unit of statements
beats aiosqlite's hop per cursor call on writes of several statements (save 100 messages:
aiosqlite 1.7x memstore's time), and the hop itself is cheapest as aiosqlite makes it: a
queue to a plain thread and ``call_soon_threadsafe`` back, about 30-45 us a call less than
``loop.run_in_executor`` (whose concurrent.futures machinery costs that). For MySQL the
async drivers (aiomysql) were no faster than PyMySQL on such a thread, and would be a second
protocol implementation to keep in step with the one memstore's MySQL handling relies on.
One thread per ``AsyncMemory`` also keeps a connection on the thread that uses it, and
never blocks the event loop; it works from any event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any

from ..plan import Unit
from .base import Runner

_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]",
             threading.Event] | None
_CLOSE: Any = ("close",)  # the job close_unawaited queues


class ThreadedRunner:
    """Runs a blocking runner's units on a dedicated thread, from any event loop."""

    # A task cancelled while its unit runs on the thread waits for the unit's outcome
    # here (see _call), so plan.arun needs no shield task.
    settles_cancelled_units = True

    def __init__(self, sync: Runner, *, name: str) -> None:
        self.sync = sync
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        # daemon: a process that never closes its AsyncMemory still exits
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if job is _CLOSE:
                with contextlib.suppress(Exception):  # nobody is there to hear of it
                    self.sync.close()
                return
            call, loop, future, over = job
            try:
                result, error = call(), None
            except BaseException as exc:  # handed to the awaiting task, whatever it is
                result, error = None, exc
            over.set()
            # RuntimeError: the loop closed meanwhile, nobody is waiting for this outcome
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, future, result, error)

    async def _call(self, call: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        over = threading.Event()
        self._jobs.put((call, loop, future, over))
        try:
            return await future
        except asyncio.CancelledError:
            # The unit goes on on the thread: its outcome first, then the cancellation
            # (a write is then committed or rolled back whole). Rare: a poll is enough.
            while not over.is_set():
                await asyncio.sleep(0.001)
            raise

    async def execute(self, unit: Unit) -> list[Any]:
        return await self._call(lambda: self.sync.execute(unit))  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        try:
            await self._call(self.sync.close)
        finally:
            self._jobs.put(None)

    def close_unawaited(self) -> None:
        """Close without an event loop (an AsyncMemory's finalizer): the blocking runner
        closes on its thread, after any unit queued before, and the thread ends."""
        self._jobs.put(_CLOSE)

    def __getattr__(self, name: str) -> Any:
        # The blocking runner's own attributes (its connection, for tools and tests).
        return getattr(self.sync, name)


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
