"""``AsyncMemory`` behind ``Memory``'s blocking interface, for tests written against
``Memory`` (the Hypothesis state machine, the shared API tests): every call is awaited on
one event loop that runs on a thread of its own, so the async runners run for real
(native async drivers, cancellation shields, the dedicated threads) and the test code and
its assertions stay exactly the same for both APIs."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import memstore
from memstore.store import Clock

T = TypeVar("T")


class LoopThread:
    """An event loop running on its own daemon thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True,
                                        name="tests-async-bridge")
        self._thread.start()

    def call(self, awaitable: Awaitable[T]) -> T:
        async def wrapped() -> T:
            return await awaitable

        return asyncio.run_coroutine_threadsafe(wrapped(), self.loop).result()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join()
        self.loop.close()


class BlockingAsyncMemory:
    """Every public method of ``Memory``, forwarded to an ``AsyncMemory`` and awaited."""

    def __init__(self, amem: memstore.AsyncMemory, loop: LoopThread) -> None:
        self.amem = amem
        self._loop = loop
        self.dialect = amem.dialect
        self.adapter = amem.adapter

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.amem, name)
        if not callable(method) or name.startswith("_"):
            return method

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.call(method(*args, **kwargs))

        return call

    def call(self, awaitable: Awaitable[T]) -> T:
        """Await anything on this object's loop (tests that reach past the API)."""
        return self._loop.call(awaitable)

    def close(self) -> None:
        try:
            self._loop.call(self.amem.aclose())
        finally:
            self._loop.stop()

    def __enter__(self) -> BlockingAsyncMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_blocking(
    open_async: Callable[..., Awaitable[memstore.AsyncMemory]] | None,
    clock: Clock | None, **opts: Any,
) -> BlockingAsyncMemory:
    if open_async is None:
        raise AssertionError("this backend has no open_async in tests/backend_<name>.py")
    loop = LoopThread()
    try:
        amem = loop.call(open_async(clock, **opts))
    except BaseException:
        loop.stop()
        raise
    return BlockingAsyncMemory(amem, loop)
