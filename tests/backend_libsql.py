"""The ``libsql`` driver (DB-API style, embedded replicas) on a local file, passed to
``memstore.connect`` as a connection; a fresh database file per open."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore.store import Clock
from tests.backends import IN_CI, Backend

_scratch = Path(tempfile.mkdtemp(prefix="memstore-libsql-"))
atexit.register(shutil.rmtree, _scratch, ignore_errors=True)  # gone after the run
_counter = itertools.count()


def require_libsql() -> Any:
    """The driver module, or fail (CI) / skip (locally): it is in the test extra."""
    try:
        import libsql
    except ImportError:
        message = "libsql: the `libsql` package is not installed (pip install libsql)"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    return libsql


def _open(clock: Clock | None, **opts: Any) -> memstore.Memory:
    libsql = require_libsql()
    conn = libsql.connect(str(_scratch / f"t{next(_counter)}.db"))
    mem = memstore.connect(conn, clock=clock, **opts)
    mem.init_schema()
    return mem


async def _open_async(clock: Clock | None, **opts: Any) -> memstore.AsyncMemory:
    libsql = require_libsql()
    conn = libsql.connect(str(_scratch / f"t{next(_counter)}.db"))
    mem = await memstore.connect_async(conn, clock=clock, **opts)
    await mem.init_schema()
    return mem


BACKEND = Backend("libsql", _open, _open_async)
