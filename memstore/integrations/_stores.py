"""The ``Memory`` / ``AsyncMemory`` pair behind an integration object whose framework
interface has both sync and async methods (LangChain's chat history, LlamaIndex's chat
store): sync calls go to a ``Memory``, async ones to an ``AsyncMemory``, each native."""

from __future__ import annotations

import threading

import memstore

from ..errors import ClosedError, MemstoreError, ValidationError
from ..store import AsyncMemory, Memory


class Stores:
    """The ``Memory`` (sync calls) and ``AsyncMemory`` (async calls) of an integration
    object; from a URL each is opened on first use, owned, and closed by ``close``.

    Once ``close`` or ``aclose`` ran, every call of the object raises ``ClosedError``
    (nothing is opened again from the URL, and memory objects passed in are left open)."""

    def __init__(self, memory: Memory | AsyncMemory | str, amemory: AsyncMemory | None,
                 owner: str) -> None:
        self._owner = owner
        self._url: str | None = None
        self._sync: Memory | None = None
        self._async: AsyncMemory | None = amemory
        self._owned: list[Memory | AsyncMemory] = []
        self._lock = threading.Lock()
        self._closed = False
        if isinstance(memory, str):
            if amemory is not None:
                raise ValidationError("amemory", "give a URL or memory objects, not both")
            self._url = memory
        elif isinstance(memory, Memory):
            self._sync = memory
        elif isinstance(memory, AsyncMemory):
            if amemory is not None:
                raise ValidationError("amemory", "memory is already an AsyncMemory")
            self._async = memory
        else:
            raise ValidationError("memory", "must be a memstore.Memory, a memstore.AsyncMemory "
                                  f"or a URL; got {type(memory).__name__}")

    def _check_open(self) -> None:
        if self._closed:
            raise ClosedError(self._owner, f"create a new {self._owner}")

    def sync(self) -> Memory:
        self._check_open()
        if self._sync is not None:
            return self._sync
        if self._url is None:
            raise MemstoreError(
                f"{self._owner} was given an AsyncMemory only, so it has no Memory for this "
                "sync call: use the async methods, or pass a memstore.Memory (or a URL)")
        with self._lock:
            self._check_open()
            if self._sync is None:
                mem = memstore.connect(self._url)
                try:
                    mem.init_schema()
                except BaseException:
                    mem.close()
                    raise
                self._owned.append(mem)
                self._sync = mem
            return self._sync

    async def async_(self) -> AsyncMemory:
        self._check_open()
        if self._async is not None:
            return self._async
        if self._url is None:
            raise MemstoreError(
                f"{self._owner} was given a Memory only, so it has no AsyncMemory for this "
                "async call: use the sync methods, or pass amemory=AsyncMemory (or a URL)")
        mem = await memstore.connect_async(self._url)
        try:
            await mem.init_schema()
        except BaseException:
            await mem.aclose()
            raise
        with self._lock:
            if self._async is None and not self._closed:
                self._owned.append(mem)
                self._async = mem
                return mem
        await mem.aclose()  # another task opened one meanwhile, or close() ran
        self._check_open()
        assert self._async is not None
        return self._async

    def close(self) -> None:
        """Close the object: later calls raise ``ClosedError``. Closes the ``Memory`` it
        opened from its URL; an ``AsyncMemory`` it opened needs ``aclose`` (which also
        works after ``close``). Objects passed in are never closed."""
        self._closed = True
        for mem in list(self._owned):
            if isinstance(mem, Memory):
                mem.close()
                self._owned.remove(mem)
                self._sync = None

    async def aclose(self) -> None:
        """Close the object and every store it opened from its URL."""
        self._closed = True
        for mem in list(self._owned):
            if isinstance(mem, AsyncMemory):
                await mem.aclose()
                self._async = None
            else:
                mem.close()
                self._sync = None
            self._owned.remove(mem)
