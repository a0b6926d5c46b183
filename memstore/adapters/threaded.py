"""The async runner for drivers with no async API of their own (sqlite3, PyMySQL): the
blocking runner on one thread of its own, a unit at a time.

Measured against the alternatives (README, "Async"): aiosqlite is itself a thread per
connection that forwards every cursor call, so it pays the same hop per statement instead of
per unit; the async MySQL drivers (aiomysql, asyncmy) would be a second MySQL protocol
implementation to keep in step with PyMySQL's behaviour. One thread per ``AsyncMemory``
also keeps a connection on the thread that uses it, and never blocks the event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..plan import Unit
from .base import Runner


class ThreadedRunner:
    """Runs a blocking runner's units on a dedicated thread, from any event loop."""

    def __init__(self, sync: Runner, *, name: str) -> None:
        self.sync = sync
        # One worker: the units of one connection run in order, one at a time, and the
        # thread is not shared with asyncio's default executor (to_thread) of the app.
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def execute(self, unit: Unit) -> list[Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self.sync.execute, unit)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self.sync.close)
        self._thread.shutdown(wait=False)

    def close(self) -> None:
        self._thread.submit(self.sync.close).result()
        self._thread.shutdown(wait=True)

    def __getattr__(self, name: str) -> Any:
        # The blocking runner's own attributes (its connection, for tools and tests).
        return getattr(self.sync, name)
