"""SQLite: memstore on a file with its own journal settings, and sqlite3 doing the same SQL."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import memstore
from memstore import sqlfiles
from memstore.adapters.sqlite import encode_seconds

from .data import Row, rows
from .timing import Op

CONTENT = "benchmark message " * 30  # 540 characters


def build(n: int) -> tuple[memstore.Memory, sqlite3.Connection, str]:
    path = Path(tempfile.mkdtemp(prefix="memstore-bench-")) / "bench.db"
    mem = memstore.connect(f"sqlite:///{path}")
    mem.init_schema()
    raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    load(raw, rows(n))
    return mem, raw, str(path)


def load(raw: sqlite3.Connection, data: object) -> None:
    counts: dict[str, tuple[str, float, float, int]] = {}
    raw.execute("BEGIN")
    batch: list[tuple[str, str, str, str, float]] = []
    for r in data:  # type: ignore[attr-defined]
        assert isinstance(r, Row)
        ts = encode_seconds(r.timestamp)
        batch.append((r.chat_id, r.user_id, r.role, r.content, ts))
        u, first, _, k = counts.get(r.chat_id, (r.user_id, ts, ts, 0))
        counts[r.chat_id] = (u, first, ts, k + 1)
        if len(batch) == 10_000:
            raw.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, content,"
                            " timestamp) VALUES (?, ?, ?, ?, ?)", batch)
            batch.clear()
    raw.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, content,"
                    " timestamp) VALUES (?, ?, ?, ?, ?)", batch)
    raw.executemany("INSERT INTO chat_sessions VALUES (?, ?, ?, ?, ?, ?)",
                    [(c, u, f"Chat {c}", a, b, k) for c, (u, a, b, k) in counts.items()])
    raw.execute("COMMIT")
    raw.execute("ANALYZE")


def ops(mem: memstore.Memory, raw: sqlite3.Connection) -> list[Op]:
    sql = sqlfiles.load("sqlite", sqlfiles.DEFAULT_TABLES, file="queries")
    now = memstore.MIN_INSTANT.__class__.now(memstore.MIN_INSTANT.tzinfo)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    ts = encode_seconds(now)

    def raw_save(n: int) -> None:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        for _ in range(n):
            cur.execute(sql["insert_message"], {"chat_id": "chat-3", "user_id": "u",
                        "role": "user", "content": CONTENT, "timestamp": ts})
        cur.execute(sql["touch_chat_for_messages"], {"chat_id": "chat-3", "user_id": "u",
                    "created_at": ts, "updated_at": ts, "message_count": n})
        cur.execute("COMMIT")

    def raw_last(chat_id: str) -> list[object]:
        got = raw.execute(sql["last_messages"], {"chat_id": chat_id, "limit": 50}).fetchall()
        return got[::-1]

    def raw_wm_upsert() -> None:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(sql["upsert_working_memory"], {"id": "user:bench", "scope": "user",
                    "chat_id": None, "user_id": "bench", "content": CONTENT, "updated_at": ts})
        cur.execute("COMMIT")

    def seed_doomed() -> None:
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, content,"
                        " timestamp) VALUES ('doomed', 'u', 'user', ?, ?)",
                        [(CONTENT, ts)] * 1000)
        raw.execute("INSERT OR REPLACE INTO chat_sessions VALUES ('doomed', 'u', 't', ?, ?, 1000)",
                    (ts, ts))
        raw.execute("COMMIT")

    def raw_delete() -> None:
        cur = raw.cursor()
        cur.execute("BEGIN IMMEDIATE")
        cur.execute(sql["delete_chat_messages"], {"chat_id": "doomed"})
        cur.execute(sql["delete_chat_row"], {"chat_id": "doomed"})
        cur.execute(sql["delete_working_memory"], {"id": "chat:doomed"})
        cur.execute("COMMIT")

    batch = [{"role": "user", "content": CONTENT, "timestamp": now}] * 100
    mem.update_working_memory(scope="user", user_id="bench", content=CONTENT)
    return [
        Op("round trip (SELECT 1)", None, lambda: raw.execute("SELECT 1").fetchall()),
        Op("save 1 message", lambda: mem.save_message("chat-3", "user", CONTENT, user_id="u",
                                                      timestamp=now), lambda: raw_save(1)),
        Op("save 100 messages", lambda: mem.save_messages("chat-3", batch, user_id="u"),
           lambda: raw_save(100), calls=10),
        Op("last 50, typical chat", lambda: mem.get_messages("chat-7", limit=50),
           lambda: raw_last("chat-7")),
        Op("last 50, 10,000-message chat", lambda: mem.get_messages("big", limit=50),
           lambda: raw_last("big")),
        Op("last 50, 10-message chat", lambda: mem.get_messages("small", limit=50),
           lambda: raw_last("small")),
        Op("working-memory upsert", lambda: mem.update_working_memory(
            scope="user", user_id="bench", content=CONTENT), raw_wm_upsert),
        Op("working-memory read", lambda: mem.get_working_memory(scope="user", user_id="bench"),
           lambda: raw.execute(sql["get_working_memory"], {"id": "user:bench"}).fetchone()),
        Op("list a user's chats", lambda: mem.get_chats(user_id="user-3", limit=20),
           lambda: raw.execute(sql["list_chats_of_user"],
                               {"user_id": "user-3", "limit": 20}).fetchall()),
        Op("delete a chat of 1,000 messages", lambda: mem.delete_chat("doomed"), raw_delete,
           calls=3, setup=seed_doomed),
    ]
