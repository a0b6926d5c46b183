"""The benchmark's data set: N messages over 200 chats, built deterministically.

One chat holds 10,000 messages ("big"), one holds 10 ("small"), the rest share the
remainder about equally; rows of different chats are interleaved in time; content is
200-2,000 characters, about 15% of it JSON.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

CHATS = 200
BIG, SMALL = 10_000, 10
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Row:
    chat_id: str
    user_id: str
    role: str
    content: str
    timestamp: datetime


def chat_sizes(rows: int) -> dict[str, int]:
    if rows < BIG + SMALL + CHATS:
        raise SystemExit(f"--rows must be at least {BIG + SMALL + CHATS}")
    rest = rows - BIG - SMALL
    sizes = {"big": BIG, "small": SMALL}
    for i in range(CHATS - 2):
        sizes[f"chat-{i}"] = rest // (CHATS - 2) + (1 if i < rest % (CHATS - 2) else 0)
    return sizes


def user_of(chat_id: str) -> str:
    return "user-big" if chat_id in ("big", "small") else f"user-{hash_int(chat_id) % 50}"


def hash_int(s: str) -> int:
    return sum(ord(c) * 31**i for i, c in enumerate(s[:16]))


def content(rnd: random.Random) -> str:
    size = rnd.randint(200, 2000)
    if rnd.random() < 0.15:
        text = "x" * max(0, size - 60)
        return json.dumps({"role": "assistant", "parts": [{"type": "text", "text": text}]})
    return "".join(rnd.choices("abcdefghij klmnopqrstuvwxyz.,é", k=size))


def rows(n: int, seed: int = 7) -> Iterator[Row]:
    """Messages in time order, chats interleaved: at each step a random chat that still has
    messages to write gets the next one. Contents come from a pool of 1,000 (generating a
    fresh one per row would dominate the run at a million rows)."""
    rnd = random.Random(seed)
    contents = [content(rnd) for _ in range(1000)]
    left = chat_sizes(n)
    pool = [c for c, k in left.items() for _ in range(k)]
    rnd.shuffle(pool)
    for i, chat_id in enumerate(pool):
        yield Row(chat_id, user_of(chat_id), "user" if i % 2 else "assistant",
                  contents[rnd.randrange(1000)],
                  T0 + timedelta(milliseconds=i * 10))


class Tally:
    """The chat_sessions rows of the loaded messages, counted while they stream past:
    user, first and last instant, and message count per chat."""

    def __init__(self) -> None:
        self.chats: dict[str, list[object]] = {}

    def add(self, r: Row) -> None:
        got = self.chats.get(r.chat_id)
        if got is None:
            self.chats[r.chat_id] = [r.user_id, r.timestamp, r.timestamp, 1]
        else:
            got[2] = r.timestamp
            got[3] += 1  # type: ignore[operator]

    def rows(self) -> list[tuple[str, str, str, datetime, datetime, int]]:
        """(chat_id, user_id, title, created_at, updated_at, message_count) per chat."""
        return [(c, u, f"Chat {c}", a, b, k)  # type: ignore[misc]
                for c, (u, a, b, k) in self.chats.items()]


def batches(n: int, size: int, tally: Tally) -> Iterator[list[Row]]:
    """rows(n) in lists of ``size``, counted into ``tally`` on the way."""
    batch: list[Row] = []
    for r in rows(n):
        tally.add(r)
        batch.append(r)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
