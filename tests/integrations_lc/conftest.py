"""Fixtures of the LangChain and LlamaIndex integration tests: a fresh store per test on
SQLite, PostgreSQL and MariaDB (tests/backends.py; with CI=true a missing server fails).

The async tests run their body with ``asyncio.run`` (``run_async``) instead of
pytest-asyncio, which is not a dependency of memstore's tests; the ported upstream test
bodies are unchanged inside."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest

import memstore
from tests.backends import BACKENDS, Backend

T = TypeVar("T")

# SQLite, PostgreSQL and MariaDB/MySQL; "memory" (the in-process store) only where named.
DATABASES = ["sqlite", "postgres", "mysql"]


@pytest.fixture(params=DATABASES)
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
def memory(backend: Backend) -> Iterator[memstore.Memory]:
    mem = backend.open(None)
    try:
        yield mem
    finally:
        mem.close()


def run_async(backend: Backend, body: Callable[[memstore.AsyncMemory], Awaitable[T]]) -> T:
    """``body(amem)`` on a fresh AsyncMemory of ``backend``, on an event loop of its own."""
    assert backend.open_async is not None
    open_async = backend.open_async

    async def main() -> T:
        amem = await open_async(None)
        try:
            return await body(amem)
        finally:
            await amem.aclose()

    return asyncio.run(main())
