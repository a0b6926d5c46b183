"""Turso through libsql-client on a ``file:`` URL: the client's own local executor (its
real batch/execute code, no network), a fresh database file per open. The network paths
(http/ws against a real sqld) are in tests/test_turso.py."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import memstore
from memstore.store import Clock
from tests.backends import Backend

_scratch = Path(tempfile.mkdtemp(prefix="memstore-turso-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)  # gone after the run
_counter = itertools.count()


def _open(clock: Clock | None, **opts: Any) -> memstore.Memory:
    mem = memstore.connect(f"file:{_scratch}/t{next(_counter)}.db", clock=clock, **opts)
    mem.init_schema()
    return mem


async def _open_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    # The native async path: libsql-client's async Client awaited on the caller's loop.
    mem = await memstore.connect_async(f"file:{_scratch}/t{next(_counter)}.db", clock=clock, **opts)
    await mem.init_schema()
    return mem


BACKEND = Backend("turso", _open, _open_async)
