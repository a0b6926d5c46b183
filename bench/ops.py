"""The timed operations: the same public-API calls on every backend, next to the raw
driver doing the same SQL work by hand (each target's ``Raw``).

The raw side is the floor: the fewest driver calls that give the same result with the same
atomicity. A single statement runs as it is (autocommit); an operation of several
statements runs them in the transaction the backend's adapter uses (SQLite: BEGIN
IMMEDIATE ... COMMIT, which is what makes its busy timeout apply; MySQL: START TRANSACTION
... COMMIT; libsql-client: one batch). Rows are fetched as the driver returns them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

import memstore

from .timing import Op

CONTENT = "benchmark message " * 30  # 540 characters
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # whole seconds: exact everywhere
SAVE_CHAT, SAVE_USER = "chat-3", "u"  # saves append here
TYPICAL, BIG, SMALL = "chat-7", "big", "small"
LIST_USER = "user-3"
WM_USER = "bench"
DOOMED, DOOMED_SIZE = "doomed", 1000


def now() -> datetime:
    """The current instant to the millisecond, as memstore stamps a working-memory write.
    The raw side stamps its upsert the same way: an upsert that rewrites identical values
    is no write at all on SQLite/libSQL and InnoDB (nothing to commit, no sync)."""
    t = datetime.now(timezone.utc)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


class Raw(Protocol):
    """The raw driver's side of each operation (seed_doomed is untimed set-up)."""

    def round_trip(self) -> object: ...
    def save(self, n: int) -> object: ...
    def last(self, chat_id: str) -> object: ...
    def wm_upsert(self) -> object: ...
    def wm_read(self) -> object: ...
    def list_chats(self) -> object: ...
    def seed_doomed(self) -> object: ...
    def delete(self) -> object: ...


@dataclass
class Target:
    """A backend with the data loaded: memstore on it, the raw side (None: no floor),
    and how to put the doomed chat back before each delete."""

    mem: memstore.Memory
    raw: Raw | None
    seed: Callable[[], object]
    where: str
    info: dict[str, str] = field(default_factory=dict)  # server version, durability
    close: Callable[[], object] = lambda: None  # closes mem, the raw side, scratch data


class Undo:
    """What a build opened, closed in reverse order: at once if the build fails (so no
    client thread keeps the process alive), else later by Target.close."""

    def __init__(self) -> None:
        self.steps: list[Callable[[], object]] = []

    def add(self, fn: Callable[..., object], *args: object) -> None:
        self.steps.append(lambda: fn(*args))

    def close(self) -> None:
        while self.steps:
            self.steps.pop()()

    def __enter__(self) -> Undo:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is not None:
            self.close()


def seed_with_memstore(mem: memstore.Memory) -> Callable[[], object]:
    batch = [{"role": "user", "content": CONTENT, "timestamp": NOW}] * DOOMED_SIZE
    return lambda: mem.save_messages(DOOMED, batch, user_id=SAVE_USER)


def ops(t: Target) -> list[Op]:
    mem, raw = t.mem, t.raw
    batch = [{"role": "user", "content": CONTENT, "timestamp": NOW}] * 100
    mem.update_working_memory(scope="user", user_id=WM_USER, content=CONTENT)

    def r(fn: Callable[[Raw], object]) -> Callable[[], object] | None:
        return None if raw is None else (lambda: fn(raw))

    return [
        Op("round trip (SELECT 1)", None, r(lambda x: x.round_trip())),
        Op("save 1 message", lambda: mem.save_message(
            SAVE_CHAT, "user", CONTENT, user_id=SAVE_USER, timestamp=NOW),
           r(lambda x: x.save(1))),
        Op("save 100 messages", lambda: mem.save_messages(SAVE_CHAT, batch, user_id=SAVE_USER),
           r(lambda x: x.save(100)), calls=10),
        Op("last 50, typical chat", lambda: mem.get_messages(TYPICAL, limit=50),
           r(lambda x: x.last(TYPICAL))),
        Op("last 50, 10,000-message chat", lambda: mem.get_messages(BIG, limit=50),
           r(lambda x: x.last(BIG))),
        Op("last 50, 10-message chat", lambda: mem.get_messages(SMALL, limit=50),
           r(lambda x: x.last(SMALL))),
        Op("working-memory upsert", lambda: mem.update_working_memory(
            scope="user", user_id=WM_USER, content=CONTENT), r(lambda x: x.wm_upsert())),
        Op("working-memory read", lambda: mem.get_working_memory(scope="user", user_id=WM_USER),
           r(lambda x: x.wm_read())),
        Op("list a user's chats", lambda: mem.get_chats(user_id=LIST_USER, limit=20),
           r(lambda x: x.list_chats())),
        Op("delete a chat of 1,000 messages", lambda: mem.delete_chat(DOOMED),
           r(lambda x: x.delete()), calls=3, setup=t.seed),
    ]
