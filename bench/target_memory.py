"""memory://: the in-process store, loaded and timed through the public API only. It has
no driver, so there is no raw floor: the table shows memstore's own time."""

from __future__ import annotations

from typing import Any

import memstore

from . import ops
from .data import Tally, batches


def build(n: int) -> ops.Target:
    mem = memstore.connect("memory://")
    per_chat: dict[str, list[dict[str, Any]]] = {}
    users: dict[str, str] = {}
    for batch in batches(n, 10_000, Tally()):
        for r in batch:
            users[r.chat_id] = r.user_id
            per_chat.setdefault(r.chat_id, []).append(
                {"role": r.role, "content": r.content, "timestamp": r.timestamp})
    for chat_id, items in per_chat.items():
        for i in range(0, len(items), 10_000):  # the API's batch limit
            mem.save_messages(chat_id, items[i:i + 10_000], user_id=users[chat_id])
        mem.save_chat(chat_id, title=f"Chat {chat_id}", updated_at=items[-1]["timestamp"])
    return ops.Target(mem, None, ops.seed_with_memstore(mem), "in process", close=mem.close)
