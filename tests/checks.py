"""Checks that several dialects' tests make the same way."""

from __future__ import annotations

from typing import Any

import pytest

import memstore
from memstore.plan import Plan, Stmt, Unit


def failing_batch_leaves_nothing(mem: memstore.Memory) -> None:
    """On a database that refuses the content 'boom' (a trigger the caller set up): a batch
    whose last message is 'boom' raises BackendError and writes nothing, not even the chat
    row, and the same Memory then works."""
    with pytest.raises(memstore.BackendError, match="boom refused"):
        mem.save_messages("c", [{"role": "user", "content": str(i)} for i in range(5)]
                          + [{"role": "user", "content": "boom"}])
    assert mem.get_messages("c") == [] and mem.get_chat("c") is None
    mem.save_message("c", "user", "works again")
    assert len(mem.get_messages("c")) == 1


def _read(sql: str) -> Plan[list[Any]]:
    (rows,) = yield Unit("read", (Stmt(sql, {}, "rows"),))
    return list(rows)


def query(mem: Any, sql: str) -> list[Any]:
    """The rows of one read statement run through ``mem``'s own runner and transaction
    rule, on any SQL backend, for a ``Memory`` or an ``AsyncMemory`` behind
    tests/async_bridge.py. Test SQL only: ``sql`` takes no parameters."""
    if isinstance(mem, memstore.Memory):
        return mem._run(_read(sql))
    return mem.call(aquery(mem.amem, sql))  # a BlockingAsyncMemory


async def aquery(amem: memstore.AsyncMemory, sql: str) -> list[Any]:
    """:func:`query` awaited on an ``AsyncMemory``."""
    return await amem._run(_read(sql))
