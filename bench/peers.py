"""`python -m bench.peers` (`make bench-peers`): the message operations through other
libraries' chat-history stores, next to memstore and the raw floor on the same backend.

Each peer gets the same messages, bulk-loaded into its own tables as it would have written
them, and runs at its own default durability (said in its label):

- LangChain ``SQLChatMessageHistory`` (langchain-community) on a SQLite file through
  SQLAlchemy's defaults: rollback journal, synchronous FULL; its table has no index on
  session_id. It has no "last N": the last 50 are ``messages[-50:]`` (it reads them all).
- openai-agents ``SQLiteSession`` on a SQLite file: WAL, synchronous FULL; async only
  (each call hops to a worker thread), run here on one event loop.
- langchain-postgres ``PostgresChatMessageHistory`` on the PostgreSQL server, in the bench's
  schema: one psycopg connection (not autocommit; it commits each write). No "last N":
  ``get_messages()[-50:]``.

These packages are not memstore dependencies: `make bench-peers` installs them from
bench/requirements-peers.txt into bench/.venv-peers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import sys
import uuid
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import ops, target_postgres, target_sqlite, timing
from .__main__ import header, table
from .data import Tally, batches

LC = "LangChain SQLChatMessageHistory"
AGENTS = "openai-agents SQLiteSession"
LCPG = "langchain-postgres PostgresChatMessageHistory"
CHATS = (ops.SAVE_CHAT, ops.TYPICAL, ops.BIG, ops.SMALL, ops.DOOMED)


def lc_json() -> Callable[[str, str], str]:
    """A message as LangChain stores it (json of message_to_dict), per role and content."""
    from langchain_core.messages import AIMessage, HumanMessage, message_to_dict

    shapes = {"user": message_to_dict(HumanMessage(content="")),
              "assistant": message_to_dict(AIMessage(content=""))}
    return lambda role, content: json.dumps(
        {**shapes[role], "data": {**shapes[role]["data"], "content": content}})


class Peer:
    """One library's side of each operation, keyed by chat id."""

    label: str

    def save(self, n: int) -> object: ...
    def last(self, chat_id: str) -> object: ...
    def delete(self) -> object: ...
    def seed_doomed(self) -> object: ...


class LangChainSqlite(Peer):
    label = f"{LC} (SQLite, journal DELETE, synchronous FULL)"

    def __init__(self, path: Path, n: int) -> None:
        from langchain_community.chat_message_histories import SQLChatMessageHistory
        from langchain_core.messages import HumanMessage
        from sqlalchemy import create_engine

        self.engine = create_engine(f"sqlite:///{path}")
        self.history = {c: SQLChatMessageHistory(c, connection=self.engine) for c in CHATS}
        self.message = HumanMessage(content=ops.CONTENT)
        self.encode = lc_json()
        with sqlite3.connect(path) as conn:
            for batch in batches(n, 10_000, Tally()):
                conn.executemany("INSERT INTO message_store (session_id, message) VALUES (?, ?)",
                                 [(r.chat_id, self.encode(r.role, r.content)) for r in batch])

    def save(self, n: int) -> object:
        if n == 1:
            return self.history[ops.SAVE_CHAT].add_message(self.message)
        return self.history[ops.SAVE_CHAT].add_messages([self.message] * n)

    def last(self, chat_id: str) -> object:
        return self.history[chat_id].messages[-50:]

    def delete(self) -> object:
        return self.history[ops.DOOMED].clear()

    def seed_doomed(self) -> object:
        with self.engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO message_store (session_id, message) VALUES (?, ?)",
                [(ops.DOOMED, self.encode("user", ops.CONTENT))] * ops.DOOMED_SIZE)
        return None


class AgentsSqlite(Peer):
    label = f"{AGENTS} (SQLite, WAL, synchronous FULL)"

    def __init__(self, path: Path, n: int) -> None:
        from agents import SQLiteSession

        self.loop = asyncio.new_event_loop()
        self.session = {c: SQLiteSession(c, path) for c in CHATS}
        self.path = path
        self.item = {"role": "user", "content": ops.CONTENT}
        with sqlite3.connect(path) as conn:
            tally = Tally()
            for batch in batches(n, 10_000, tally):
                conn.executemany(
                    "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                    [(r.chat_id, json.dumps({"role": r.role, "content": r.content}))
                     for r in batch])
            conn.executemany("INSERT INTO agent_sessions (session_id) VALUES (?)",
                             [(c,) for c in tally.chats])

    def save(self, n: int) -> object:
        return self.loop.run_until_complete(
            self.session[ops.SAVE_CHAT].add_items([self.item] * n))

    def last(self, chat_id: str) -> object:
        return self.loop.run_until_complete(self.session[chat_id].get_items(limit=50))

    def delete(self) -> object:
        return self.loop.run_until_complete(self.session[ops.DOOMED].clear_session())

    def seed_doomed(self) -> object:
        with sqlite3.connect(self.path) as conn:
            conn.execute("INSERT OR IGNORE INTO agent_sessions (session_id) VALUES (?)",
                         (ops.DOOMED,))
            conn.executemany(
                "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                [(ops.DOOMED, json.dumps(self.item))] * ops.DOOMED_SIZE)
        conn.close()
        return None

    def close(self) -> None:
        for s in self.session.values():
            s.close()
        self.loop.close()


class LangChainPostgres(Peer):
    label = f"{LCPG} (psycopg, a commit per write)"
    TABLE = "lc_message_store"

    def __init__(self, url: str, n: int) -> None:
        import psycopg
        from langchain_core.messages import HumanMessage
        from langchain_postgres import PostgresChatMessageHistory

        self.conn = psycopg.connect(url)
        PostgresChatMessageHistory.create_tables(self.conn, self.TABLE)
        self.ids = {c: str(uuid.uuid5(uuid.NAMESPACE_URL, c)) for c in CHATS}
        self.history = {c: PostgresChatMessageHistory(self.TABLE, self.ids[c],
                                                      sync_connection=self.conn)
                        for c in CHATS}
        self.message = HumanMessage(content=ops.CONTENT)
        self.encode = lc_json()
        copy_sql = f"COPY {self.TABLE} (session_id, message) FROM STDIN"
        with self.conn.cursor() as cur, cur.copy(copy_sql) as copy:
            for batch in batches(n, 10_000, Tally()):
                for r in batch:
                    copy.write_row((str(uuid.uuid5(uuid.NAMESPACE_URL, r.chat_id)),
                                    self.encode(r.role, r.content)))
        self.conn.commit()
        self.conn.autocommit = True
        self.conn.execute(f"VACUUM (ANALYZE) {self.TABLE}")
        self.conn.autocommit = False

    def save(self, n: int) -> object:
        return self.history[ops.SAVE_CHAT].add_messages([self.message] * n)

    def last(self, chat_id: str) -> object:
        return self.history[chat_id].get_messages()[-50:]

    def delete(self) -> object:
        return self.history[ops.DOOMED].clear()

    def seed_doomed(self) -> object:
        with self.conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {self.TABLE} (session_id, message) VALUES (%s, %s)",
                            [(self.ids[ops.DOOMED], self.encode("user", ops.CONTENT))]
                            * ops.DOOMED_SIZE)
        self.conn.commit()
        return None


def with_peers(target: ops.Target, peers: list[Peer]) -> list[timing.Op]:
    """The message operations of bench/ops.py, with each peer as one more side."""
    keep = {"save 1 message": lambda p: p.save(1), "save 100 messages": lambda p: p.save(100),
            "last 50, typical chat": lambda p: p.last(ops.TYPICAL),
            "last 50, 10,000-message chat": lambda p: p.last(ops.BIG),
            "last 50, 10-message chat": lambda p: p.last(ops.SMALL),
            "delete a chat of 1,000 messages": lambda p: p.delete()}
    out = []
    for op in ops.ops(target):
        if op.name in keep:
            fn = keep[op.name]
            op.peers = {p.label: (lambda p=p, fn=fn: fn(p)) for p in peers}  # type: ignore[misc]
            if op.setup is not None:
                op.setups = {p.label: p.seed_doomed for p in peers}
            out.append(op)
    return out


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--json", default="bench/peers-results.json")
    args = p.parse_args()
    print("\n".join(header(args, "python -m bench.peers")))
    print(f"- peers: langchain-community {version('langchain-community')}, langchain-core "
          f"{version('langchain-core')}, SQLAlchemy {version('SQLAlchemy')}, "
          f"langchain-postgres {version('langchain-postgres')}, openai-agents "
          f"{version('openai-agents')}", flush=True)
    out: dict[str, Any] = {"argv": sys.argv[1:], "rows": args.rows, "backends": {}}
    groups = (("sqlite", "memstore (SQLite, WAL, synchronous NORMAL)", sqlite_group),
              ("postgres", "memstore (PostgreSQL, autocommit)", postgres_group))
    for name, mine, build in groups:
        target, peers, close = build(args.rows)
        try:
            results = timing.run(with_peers(target, peers), args.rounds)
        finally:
            close()
        print()
        print("\n".join(peer_table(f"{name}: memstore, raw floor, peers", mine, results)),
              flush=True)
        out["backends"][name] = {op: {side: timing.summary(v) for side, v in s.items()}
                                 for op, s in results.items()}
    with open(args.json, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {args.json}")
    return 0


def sqlite_group(n: int) -> tuple[ops.Target, list[Peer], Callable[[], None]]:
    target = target_sqlite.build(n)
    lc = LangChainSqlite(target_sqlite.SCRATCH / "langchain.db", n)
    agents = AgentsSqlite(target_sqlite.SCRATCH / "agents.db", n)

    def close() -> None:
        agents.close()
        lc.engine.dispose()
        target.close()

    return target, [lc, agents], close


def postgres_group(n: int) -> tuple[ops.Target, list[Peer], Callable[[], None]]:
    target = target_postgres.build(n)
    try:
        lcpg = LangChainPostgres(target_postgres.schema_url(), n)
    except BaseException:
        target.close()
        raise

    def close() -> None:
        lcpg.conn.close()
        target.close()

    return target, [lcpg], close


def peer_table(title: str, mine_label: str, results: dict[str, timing.Samples]) -> list[str]:
    """memstore's table (raw floor, memstore), then each peer's median and its ratio to
    memstore's."""
    lines = table(title, results)
    labels = [k for k in next(iter(results.values())) if k not in ("raw", "memstore")]
    lines += ["", f"| op | {mine_label} median µs | " + " | ".join(
        f"{label} median µs (× memstore)" for label in labels) + " |",
        "|---|---:|" + "---:|" * len(labels)]
    for op, s in results.items():
        mine = timing.summary(s["memstore"])
        cells = [op, f"{mine['median_us']:.1f}" if mine else "-"]
        for label in labels:
            theirs = timing.summary(s.get(label, []))
            ratio = theirs["median_us"] / mine["median_us"] if theirs and mine else 0
            cells.append(f"{theirs['median_us']:.1f} ({ratio:.1f}×)"
                         if theirs and mine else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    sys.exit(main())
