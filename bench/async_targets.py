"""The async rows' backends (bench/async_<backend>.py, imported only when asked for, so a
missing driver stops only its own backend): AsyncMemory and the raw async floor on the
same data and tables as the sync rows (a copy of the SQLite file, a schema / database of
their own on the servers), plus the measured alternatives (aiosqlite, aiomysql) when
installed (``pip install -e '.[bench]'``). See bench/async_ops.py for what each floor is."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import memstore

from .async_ops import AsyncTarget
from .data import Tally, batches

# Backend -> (module, builder, extra arguments), as bench/__main__.py's BACKENDS.
BUILDERS: dict[str, tuple[str, str, tuple[object, ...]]] = {
    "sqlite": ("async_sqlite", "build", ()),
    "postgres": ("async_postgres", "build", ()),
    "mysql": ("async_mysql", "build", ()),
    "turso-file": ("async_turso", "build_file", ()),
    "turso-http": ("async_turso", "build_network", ("http",)),
    "turso-ws": ("async_turso", "build_network", ("ws",)),
    "memory": ("async_targets", "memory", ()),
}


def builder(backend: str) -> Callable[[int], Awaitable[AsyncTarget]]:
    module, name, extra = BUILDERS[backend]
    fn = getattr(importlib.import_module(f"bench.{module}"), name)
    return lambda n: fn(n, *extra)  # type: ignore[no-any-return]


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def missing(package: str) -> str:
    return f"{package} not installed (pip install -e '.[bench]'): no {package} column"


async def memory(n: int) -> AsyncTarget:
    """AsyncMemory on memory://, loaded through the async API (no floor)."""
    stack = AsyncExitStack()
    mem = await memstore.connect_async("memory://")
    stack.push_async_callback(mem.aclose)
    per_chat: dict[str, list[dict[str, Any]]] = {}
    users: dict[str, str] = {}
    for batch in batches(n, 10_000, Tally()):
        for r in batch:
            users[r.chat_id] = r.user_id
            per_chat.setdefault(r.chat_id, []).append(
                {"role": r.role, "content": r.content, "timestamp": r.timestamp})
    for chat_id, items in per_chat.items():
        for i in range(0, len(items), 10_000):
            await mem.save_messages(chat_id, items[i:i + 10_000], user_id=users[chat_id])
        await mem.save_chat(chat_id, title=f"Chat {chat_id}",
                            updated_at=items[-1]["timestamp"])
    return AsyncTarget(mem, None, "in process", stack)
