"""The backends the tests run on, and how each opens a fresh, empty store.

Server backends read their URL from the environment (``make services`` prints it). With
``CI=true`` a backend whose server is missing fails the run; locally it is skipped with a
message that says how to start it.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import os
import shutil
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore.store import Clock

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_env(var: str, backend: str, target: str = "make services") -> str:
    """The server URL in ``var``, or fail (CI) / skip (locally) saying how to get one:
    ``target`` is the make target that starts those servers."""
    url = os.environ.get(var)
    if url:
        return url
    message = (f"{backend}: ${var} is not set; start the test servers with "
               f"`{target}` and export what it prints")
    if IN_CI:
        pytest.fail(f"CI=true and {message}", pytrace=False)
    pytest.skip(message)


_scratch = Path(tempfile.mkdtemp(prefix="memstore-tests-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)  # gone after the run
_counter = itertools.count()


def _sqlite(clock: Clock | None, **opts: Any) -> memstore.Memory:
    path = _scratch / f"t{next(_counter)}.db"
    mem = memstore.connect(f"sqlite:///{path}", clock=clock, **opts)
    mem.init_schema()
    return mem


def _memory(clock: Clock | None, **opts: Any) -> memstore.Memory:
    return memstore.connect("memory://", clock=clock, **opts)


async def _sqlite_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    path = _scratch / f"t{next(_counter)}.db"
    mem = await memstore.connect_async(f"sqlite:///{path}", clock=clock, **opts)
    await mem.init_schema()
    return mem


async def _memory_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    return await memstore.connect_async("memory://", clock=clock, **opts)


@dataclass(frozen=True)
class Backend:
    name: str
    # A fresh store with empty tables; keyword arguments go to memstore.connect.
    open: Callable[..., memstore.Memory]
    # The same, through AsyncMemory (awaited on the caller's event loop).
    open_async: Callable[..., Awaitable[memstore.AsyncMemory]] | None = None


BACKENDS: dict[str, Backend] = {
    "memory": Backend("memory", _memory, _memory_async),
    "sqlite": Backend("sqlite", _sqlite, _sqlite_async),
}

# Each further backend lives in tests/backend_<name>.py and defines ``BACKEND``; it must
# open lazily (require_env inside its open function) so collection never needs a server.
for _name in ("postgres", "mysql", "turso", "libsql"):
    try:
        _module = importlib.import_module(f"tests.backend_{_name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"tests.backend_{_name}":
            raise
        continue
    BACKENDS[_name] = _module.BACKEND
