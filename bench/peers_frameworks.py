"""`python -m bench.peers_frameworks` (run by `make bench-peers` after bench.peers): memstore's
framework integrations against the stores those frameworks ship, through the interface a
user of the framework calls, on the same backend and the same data.

Per interface and backend, one table (medians of interleaved rounds, bench/timing.py):

- OpenAI Agents ``Session``: ``MemstoreSession`` vs ``SQLiteSession`` and
  ``SQLAlchemySession`` (aiosqlite on SQLite, asyncpg on PostgreSQL).
- LangChain ``BaseChatMessageHistory``: ``MemstoreChatMessageHistory`` vs
  ``SQLChatMessageHistory`` (langchain-community, SQLite) and langchain-postgres
  ``PostgresChatMessageHistory``.
- LlamaIndex ``BaseChatStore``: ``MemstoreChatStore`` vs ``SQLiteChatStore``
  (llama-index-storage-chat-store-sqlite) and ``PostgresChatStore``
  (llama-index-storage-chat-store-postgres).
- LlamaIndex ``AsyncDBChatStore`` (the store of its ``Memory``): ``MemstoreAsyncDBChatStore``
  vs llama-index-core's ``SQLAlchemyChatStore`` (aiosqlite / asyncpg).

Data: every store's tables hold the bench's --rows messages over 200 chats (bench/data.py),
bulk-loaded in that store's own row format; the timed chats are written through the
interface itself before timing: a read chat of 200 messages (contents from bench/data.py),
and a pop chat of 200. Operations: save 1 message; save a turn (user + assistant; one call
where the interface takes a list, else two); the last 20 (where the interface has a limit:
memstore's history ``limit=20``, the peers' ``messages[-20:]``; the AsyncDBChatStore's
``count_messages`` + ``get_messages(offset=count-20, limit=20)``); read all 200; pop (the
Agents ``pop_item``, LlamaIndex ``delete_last_message``; a message is added back, untimed,
before each); clear (a chat of 200 re-seeded, untimed, before each).

Each store runs at its own default durability, said in its label. On SQLite memstore's
default is WAL + synchronous NORMAL (no fsync per commit) while the peers' is FULL, so a
second memstore column, ``?synchronous=full``, gives the like-for-like write figure.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import random
import sqlite3
import sys
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import memstore

from . import data, ops, peers, target_postgres, target_sqlite, timing
from .__main__ import header
from .data import Tally, batches

READ_SIZE, LAST_N = 200, 20
SCHEMA = f"memstore_fw_{target_postgres.SCHEMA.rsplit('_', 1)[-1]}"
ROLES = ("read", "save", "pop", "clear")
MS_NORMAL = "memstore (SQLite, WAL, synchronous NORMAL: its default)"
MS_FULL = "memstore (SQLite, WAL, synchronous FULL)"
MS_PG = "memstore (PostgreSQL, autocommit)"


def contents() -> list[str]:
    rnd = random.Random(11)
    return [data.content(rnd) for _ in range(READ_SIZE)]


# -- sides: one store behind one interface, with its chats ------------------------------------


@dataclass
class Side:
    """One store's calls for each operation (None: the interface has no such call), and
    the untimed set-up of pop and clear. Sync or async as its interface is."""

    label: str
    fill: Callable[[], Any]  # writes the read and pop chats (untimed)
    calls: dict[str, Callable[[], Any] | None]
    setups: dict[str, Callable[[], Any]] = field(default_factory=dict)


def chat_ids(tag: str) -> dict[str, str]:
    """The chats of one side: the memstore sides of a backend share one database, so each
    interface's sides prefix their tags with the interface's."""
    return {r: f"fw-{tag}-{r}" for r in ROLES}


def agents_side(label: str, tag: str, make: Callable[[str], Any]) -> Side:
    """Any ``agents.memory.Session``: MemstoreSession, SQLiteSession, SQLAlchemySession."""
    s = {r: make(c) for r, c in chat_ids(f"ag-{tag}").items()}
    user = {"role": "user", "content": ops.CONTENT}
    answer = {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
              "content": [{"type": "output_text", "text": ops.CONTENT, "annotations": []}]}
    items = [{"role": "user", "content": c} if i % 2 == 0 else
             {**answer, "content": [{"type": "output_text", "text": c, "annotations": []}]}
             for i, c in enumerate(contents())]

    async def fill() -> None:
        await s["read"].add_items(items)
        await s["pop"].add_items(items)

    return Side(label, fill, {
        "save 1 message": lambda: s["save"].add_items([user]),
        "save a turn (user + assistant)": lambda: s["save"].add_items([user, answer]),
        f"last {LAST_N}": lambda: s["read"].get_items(limit=LAST_N),
        f"read all {READ_SIZE}": lambda: s["read"].get_items(),
        "pop (pop_item)": lambda: s["pop"].pop_item(),
        "clear (clear_session)": lambda: s["clear"].clear_session(),
    }, {"pop (pop_item)": lambda: s["pop"].add_items([answer]),
        "clear (clear_session)": lambda: s["clear"].add_items(items)})


def langchain_side(label: str, tag: str, make: Callable[[str, int | None], Any],
                   native_limit: bool) -> Side:
    """A ``BaseChatMessageHistory``; ``make(chat_id, limit)``. The peers have no limit:
    their last N is ``messages[-N:]``."""
    from langchain_core.messages import AIMessage, HumanMessage

    ids = chat_ids(f"lc-{tag}")
    h = {r: make(c, None) for r, c in ids.items()}
    window = make(ids["read"], LAST_N) if native_limit else None
    user, answer = HumanMessage(content=ops.CONTENT), AIMessage(content=ops.CONTENT)
    msgs = [HumanMessage(content=c) if i % 2 == 0 else AIMessage(content=c)
            for i, c in enumerate(contents())]

    def fill() -> None:
        h["read"].add_messages(msgs)

    return Side(label, fill, {
        "save 1 message": lambda: h["save"].add_message(user),
        "save a turn (user + assistant)": lambda: h["save"].add_messages([user, answer]),
        f"last {LAST_N}": ((lambda: window.messages) if window is not None
                           else (lambda: h["read"].messages[-LAST_N:])),
        f"read all {READ_SIZE}": lambda: h["read"].messages,
        "clear": lambda: h["clear"].clear(),
    }, {"clear": lambda: h["clear"].add_messages(msgs)})


def llama_messages() -> tuple[Any, Any, list[Any]]:
    from llama_index.core.base.llms.types import ChatMessage

    user = ChatMessage(role="user", content=ops.CONTENT)
    answer = ChatMessage(role="assistant", content=ops.CONTENT)
    msgs = [ChatMessage(role="user" if i % 2 == 0 else "assistant", content=c)
            for i, c in enumerate(contents())]
    return user, answer, msgs


def llama_side(label: str, tag: str, store: Any) -> Side:
    """A ``BaseChatStore`` (sync methods). It has no batch append: a turn is two
    ``add_message`` calls; no limit: no last-N row."""
    ids = chat_ids(f"li-{tag}")
    user, answer, msgs = llama_messages()

    def fill() -> None:
        store.set_messages(ids["read"], msgs)
        store.set_messages(ids["pop"], msgs)

    def turn() -> None:
        store.add_message(ids["save"], user)
        store.add_message(ids["save"], answer)

    return Side(label, fill, {
        "save 1 message": lambda: store.add_message(ids["save"], user),
        "save a turn (two add_message)": turn,
        f"read all {READ_SIZE}": lambda: store.get_messages(ids["read"]),
        "pop (delete_last_message)": lambda: store.delete_last_message(ids["pop"]),
        "clear (delete_messages)": lambda: store.delete_messages(ids["clear"]),
    }, {"pop (delete_last_message)": lambda: store.add_message(ids["pop"], answer),
        "clear (delete_messages)": lambda: store.set_messages(ids["clear"], msgs)})


def asyncdb_side(label: str, tag: str, store: Any) -> Side:
    """An ``AsyncDBChatStore``: no pop; the last N as ``Memory`` would page: count, then
    the window at offset count - N."""
    ids = chat_ids(f"adb-{tag}")
    user, answer, msgs = llama_messages()

    async def fill() -> None:
        await store.add_messages(ids["read"], msgs)

    async def last() -> Any:
        n = await store.count_messages(ids["read"])
        return await store.get_messages(ids["read"], limit=LAST_N, offset=max(0, n - LAST_N))

    return Side(label, fill, {
        "save 1 message": lambda: store.add_message(ids["save"], user),
        "save a turn (user + assistant)": lambda: store.add_messages(ids["save"],
                                                                     [user, answer]),
        f"last {LAST_N} (count + offset window)": last,
        f"read all {READ_SIZE}": lambda: store.get_messages(ids["read"]),
        "clear (delete_messages)": lambda: store.delete_messages(ids["clear"]),
    }, {"clear (delete_messages)": lambda: store.add_messages(ids["clear"], msgs)})


def check(side: Side, name: str, got: Any) -> None:
    """Each side's reads return what they should (untimed, once before timing)."""
    want = READ_SIZE if name.startswith("read all") else LAST_N
    if not isinstance(got, list) or len(got) != want:
        raise SystemExit(f"{side.label}: {name} gave {len(got) if isinstance(got, list) else got!r}"
                         f", not {want} messages")


def reads(side: Side) -> list[str]:
    return [k for k, fn in side.calls.items() if fn is not None and k.startswith(("read", "last"))]


def as_ops(sides: list[Side]) -> list[timing.Op]:
    """The first side is memstore (its samples are filed under "memstore"); the others
    are timing's peers, by label."""
    mine, others = sides[0], sides[1:]
    out = []
    for name, fn in mine.calls.items():
        op = timing.Op(name, fn, None, calls=10 if name.startswith(("pop", "clear")) else 50)
        op.peers = {s.label: s.calls.get(name) for s in others}
        op.setups = {s.label: s.setups[name] for s in others if name in s.setups}
        if name in mine.setups:
            op.setups["memstore"] = mine.setups[name]
        out.append(op)
    return out


def ratio_table(title: str, labels: list[str], results: dict[str, timing.Samples]
                ) -> list[str]:
    """op | memstore median | each other side's median (its median ÷ memstore's)."""
    lines = [f"### {title}", "", "| op | " + " | ".join(
        f"{label} median µs" + ("" if i == 0 else " (× memstore)")
        for i, label in enumerate(labels)) + " |", "|---|" + "---:|" * len(labels)]
    for op, s in results.items():
        mine = timing.summary(s.get("memstore", []))
        cells = [op, f"{mine['median_us']:.1f}" if mine else "-"]
        for label in labels[1:]:
            theirs = timing.summary(s.get(label, []))
            if not theirs or not mine:
                cells.append("-")
                continue
            ratio = theirs["median_us"] / mine["median_us"]
            cell = f"{theirs['median_us']:.1f} ({ratio:.2f}×)"
            cells.append(f"**{cell}**" if ratio < 1 else cell)
        lines.append("| " + " | ".join(cells) + " |")
    return [*lines, "", "× = that side's median ÷ memstore's; **bold**: faster than memstore."]


# -- bulk loads: the background rows in each store's own format -------------------------------


def agents_rows(n: int) -> tuple[list[tuple[str, str]], list[str]]:
    """(session_id, message_data) of the background rows, and the chat ids. The contents
    come from a pool of 1,000, so each distinct row text is encoded (and held) once."""
    tally = Tally()
    encode = functools.cache(lambda role, content: json.dumps({"role": role,
                                                               "content": content}))
    rows = [(r.chat_id, encode(r.role, r.content)) for b in batches(n, 10_000, tally)
            for r in b]
    return rows, list(tally.chats)


def llama_json() -> Callable[[str, str], str]:
    """A message as the LlamaIndex stores keep it (json of ``model_dump(mode="json")``)."""
    from llama_index.core.base.llms.types import ChatMessage

    shapes = {r: ChatMessage(role=r, content="").model_dump(mode="json")
              for r in ("user", "assistant")}

    @functools.cache
    def encode(role: str, content: str) -> str:
        shape = shapes[role]
        return json.dumps({**shape, "blocks": [{**shape["blocks"][0], "text": content}]})

    return encode


def load_sqlite(path: Path, sql: str, rows: list[tuple[Any, ...]],
                more: tuple[str, list[tuple[Any, ...]]] | None = None) -> None:
    with sqlite3.connect(path) as conn:
        if more is not None:
            conn.executemany(*more)
        conn.executemany(sql, rows)
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
    conn.close()


def load_pg(url: str, copy_sql: str, rows: list[tuple[Any, ...]], table: str,
            first: tuple[str, list[tuple[Any, ...]]] | None = None) -> None:
    import psycopg

    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            if first is not None:
                cur.executemany(*first)
            with cur.copy(copy_sql) as copy:
                for row in rows:
                    copy.write_row(row)
        conn.commit()
        conn.autocommit = True
        conn.execute(f"VACUUM (ANALYZE) {table}")


def sa_url(driver: str) -> tuple[str, dict[str, Any]]:
    """The server's URL for SQLAlchemy with ``driver``, and the connect_args that put its
    connections in the bench schema."""
    u = urlsplit(target_postgres.servers.postgres_url())
    url = urlunsplit((f"postgresql+{driver}", u.netloc, u.path, "", ""))
    if driver == "asyncpg":
        return url, {"server_settings": {"search_path": SCHEMA}}
    return url, {"options": f"-c search_path={SCHEMA}"}


# -- the groups ---------------------------------------------------------------------------


@dataclass
class Env:
    n: int
    sqlite_path: Path
    pg_url: str
    closers: list[Callable[[], Any]] = field(default_factory=list)
    aclosers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)


def sqlite_url(env: Env, full: bool) -> str:
    return f"sqlite:///{env.sqlite_path}" + ("?synchronous=full" if full else "")


def sync_groups(env: Env) -> list[tuple[str, list[Side]]]:
    from langchain_community.chat_message_histories import SQLChatMessageHistory
    from langchain_postgres import PostgresChatMessageHistory
    from llama_index.storage.chat_store.postgres import PostgresChatStore
    from llama_index.storage.chat_store.sqlite import SQLiteChatStore
    from sqlalchemy import create_engine
    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlalchemy.orm import sessionmaker

    from memstore.integrations.langchain import MemstoreChatMessageHistory
    from memstore.integrations.llama_index import MemstoreChatStore

    scratch, n = target_sqlite.SCRATCH, env.n
    mem = {full: memstore.connect(sqlite_url(env, full)) for full in (False, True)}
    pg = memstore.connect(env.pg_url)
    env.closers += [m.close for m in (*mem.values(), pg)]

    # LangChain
    lc = peers.LangChainSqlite(scratch / "fw-langchain.db", n)
    env.closers.append(lc.engine.dispose)
    lcpg = peers.LangChainPostgres(env.pg_url, n)
    env.closers.append(lcpg.conn.close)

    def ms_history(m: memstore.Memory) -> Callable[[str, int | None], Any]:
        return lambda c, limit: MemstoreChatMessageHistory(m, c, limit=limit)

    groups = [
        ("LangChain BaseChatMessageHistory, SQLite", [
            langchain_side(MS_NORMAL, "ms", ms_history(mem[False]), True),
            langchain_side(MS_FULL, "msfull", ms_history(mem[True]), True),
            langchain_side(f"{peers.LC} (SQLite, journal DELETE, synchronous FULL)", "lc",
                           lambda c, _: SQLChatMessageHistory(c, connection=lc.engine), False),
        ]),
        ("LangChain BaseChatMessageHistory, PostgreSQL", [
            langchain_side(MS_PG, "ms", ms_history(pg), True),
            langchain_side(f"{peers.LCPG} (psycopg, a commit per write)", "lcpg",
                           lambda c, _: PostgresChatMessageHistory(
                               lcpg.TABLE, str(uuid.uuid5(uuid.NAMESPACE_URL, c)),
                               sync_connection=lcpg.conn), False),
        ]),
    ]

    # LlamaIndex BaseChatStore
    encode = llama_json()
    path = scratch / "fw-llama.db"
    sqlite_store = SQLiteChatStore.from_params(database=str(path))
    load_sqlite(path, "INSERT INTO data_chatstore (key, value) VALUES (?, ?)",
                [(r.chat_id, encode(r.role, r.content))
                 for b in batches(n, 10_000, Tally()) for r in b])
    url, args = sa_url("psycopg")
    aurl, aargs = sa_url("asyncpg")
    engine = create_engine(url, connect_args=args)
    aengine = create_async_engine(aurl, connect_args=aargs)
    env.closers += [engine.dispose, sqlite_store._session.kw["bind"].dispose]
    pg_store = PostgresChatStore(sessionmaker(engine), sessionmaker(aengine),
                                 table_name="chatstore", schema_name=SCHEMA)
    per_chat: dict[str, list[str]] = {}
    for b in batches(n, 10_000, Tally()):
        for r in b:
            per_chat.setdefault(r.chat_id, []).append(encode(r.role, r.content))
    load_pg(env.pg_url, "COPY chatstore (key, value) FROM STDIN",
            list(per_chat.items()), "chatstore")
    groups += [
        ("LlamaIndex BaseChatStore, SQLite", [
            llama_side(MS_NORMAL, "ms", MemstoreChatStore(mem[False])),
            llama_side(MS_FULL, "msfull", MemstoreChatStore(mem[True])),
            llama_side("SQLiteChatStore (SQLAlchemy pysqlite, journal DELETE, synchronous "
                       "FULL)", "li", sqlite_store),
        ]),
        ("LlamaIndex BaseChatStore, PostgreSQL", [
            llama_side(MS_PG, "ms", MemstoreChatStore(pg)),
            llama_side("PostgresChatStore (SQLAlchemy psycopg, a commit per write; one "
                       "json[] row per chat)", "lipg", pg_store),
        ]),
    ]
    return groups


async def async_groups(env: Env) -> list[tuple[str, list[Side]]]:
    from agents import SQLiteSession
    from agents.extensions.memory.sqlalchemy_session import SQLAlchemySession
    from llama_index.core.storage.chat_store.sql import SQLAlchemyChatStore
    from sqlalchemy.ext.asyncio import create_async_engine

    from memstore.integrations.llama_index import MemstoreAsyncDBChatStore
    from memstore.integrations.openai_agents import MemstoreSession

    scratch, n = target_sqlite.SCRATCH, env.n
    amem = {full: await memstore.connect_async(sqlite_url(env, full)) for full in (False, True)}
    apg = await memstore.connect_async(env.pg_url)
    env.aclosers += [m.aclose for m in (*amem.values(), apg)]

    # OpenAI Agents
    rows, chats = agents_rows(n)
    loader = peers.AgentsSqlite(scratch / "fw-agents.db", n)  # loads the background rows
    agents_path = loader.path
    loader.close()
    sa_path = scratch / "fw-agents-sa.db"
    sa_engine = create_async_engine(f"sqlite+aiosqlite:///{sa_path}")
    aurl, aargs = sa_url("asyncpg")
    sa_pg_engine = create_async_engine(aurl, connect_args=aargs)
    env.aclosers += [sa_engine.dispose, sa_pg_engine.dispose]
    for engine in (sa_engine, sa_pg_engine):  # creates the tables
        await SQLAlchemySession("fw-init", engine=engine, create_tables=True).get_items()
    sessions_sql = "INSERT INTO agent_sessions (session_id) VALUES (?)"
    load_sqlite(sa_path, "INSERT INTO agent_messages (session_id, message_data) VALUES (?, ?)",
                rows, (sessions_sql, [(c,) for c in chats]))
    load_pg(env.pg_url, "COPY agent_messages (session_id, message_data) FROM STDIN", rows,
            "agent_messages", (sessions_sql.replace("?", "%s"), [(c,) for c in chats]))
    sqlite_sessions: list[Any] = []

    def sqlite_session(c: str) -> Any:
        sqlite_sessions.append(SQLiteSession(c, agents_path))
        return sqlite_sessions[-1]

    env.closers.append(lambda: [s.close() for s in sqlite_sessions])
    groups = [
        ("OpenAI Agents Session, SQLite", [
            agents_side(MS_NORMAL, "ms", lambda c: MemstoreSession(c, amem[False])),
            agents_side(MS_FULL, "msfull", lambda c: MemstoreSession(c, amem[True])),
            agents_side(f"{peers.AGENTS} (WAL, synchronous FULL)", "sq", sqlite_session),
            agents_side("SQLAlchemySession (aiosqlite, WAL, synchronous FULL)", "sa",
                        lambda c: SQLAlchemySession(c, engine=sa_engine)),
        ]),
        ("OpenAI Agents Session, PostgreSQL", [
            agents_side(MS_PG, "ms", lambda c: MemstoreSession(c, apg)),
            agents_side("SQLAlchemySession (asyncpg, a transaction per call)", "sa",
                        lambda c: SQLAlchemySession(c, engine=sa_pg_engine)),
        ]),
    ]

    # LlamaIndex AsyncDBChatStore
    encode = llama_json()
    li_rows = [(r.chat_id, i, r.role, "active", encode(r.role, r.content))
               for i, r in enumerate(r for b in batches(n, 10_000, Tally()) for r in b)]
    li_path = scratch / "fw-llama-sql.db"
    li_engine = create_async_engine(f"sqlite+aiosqlite:///{li_path}")
    li_pg_engine = create_async_engine(aurl, connect_args=aargs)
    env.aclosers += [li_engine.dispose, li_pg_engine.dispose]
    stores = []
    for engine in (li_engine, li_pg_engine):
        store = SQLAlchemyChatStore(table_name="llama_messages", async_engine=engine)
        await store.get_messages("fw-init")  # creates the table
        stores.append(store)
    cols = "llama_messages (key, timestamp, role, status, data)"
    load_sqlite(li_path, f"INSERT INTO {cols} VALUES (?, ?, ?, ?, ?)", li_rows)
    load_pg(env.pg_url, f"COPY {cols} FROM STDIN", li_rows, "llama_messages")
    groups += [
        ("LlamaIndex AsyncDBChatStore, SQLite", [
            asyncdb_side(MS_NORMAL, "ms", MemstoreAsyncDBChatStore(amem[False])),
            asyncdb_side(MS_FULL, "msfull", MemstoreAsyncDBChatStore(amem[True])),
            asyncdb_side("SQLAlchemyChatStore (llama-index-core; aiosqlite, journal DELETE, "
                         "synchronous FULL)", "li", stores[0]),
        ]),
        ("LlamaIndex AsyncDBChatStore, PostgreSQL", [
            asyncdb_side(MS_PG, "ms", MemstoreAsyncDBChatStore(apg)),
            asyncdb_side("SQLAlchemyChatStore (llama-index-core; asyncpg, a transaction per "
                         "call)", "lipg", stores[1]),
        ]),
    ]
    return groups


def report(title: str, sides: list[Side], results: dict[str, timing.Samples],
           out: dict[str, Any]) -> None:
    print()
    print("\n".join(ratio_table(title, [s.label for s in sides], results)), flush=True)
    out["groups"][title] = {
        "sides": [s.label for s in sides],
        "ops": {op: {side: timing.summary(v) for side, v in s.items()}
                for op, s in results.items()}}


async def run_async(env: Env, rounds: int, only: str, out: dict[str, Any]) -> None:
    try:
        for title, sides in await async_groups(env):
            if only and only not in title:
                continue
            for s in sides:
                await s.fill()
                for name in reads(s):
                    check(s, name, await s.calls[name]())  # type: ignore[misc]
            report(title, sides, await timing.arun(as_ops(sides), rounds), out)
    finally:
        for aclose in reversed(env.aclosers):
            await aclose()


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.peers_frameworks")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="", help="run the groups whose title contains this")
    p.add_argument("--json", default="bench/peers-frameworks-results.json")
    args = p.parse_args()
    print("\n".join(header(args, "python -m bench.peers_frameworks")))
    names = ("openai-agents", "SQLAlchemy", "aiosqlite", "asyncpg", "langchain-core",
             "langchain-community", "langchain-postgres", "llama-index-core",
             "llama-index-storage-chat-store-sqlite", "llama-index-storage-chat-store-postgres")
    print("- peers: " + ", ".join(f"{k} {version(k)}" for k in names))
    print(f"- timed chats: {READ_SIZE} messages written through each interface, in a table "
          f"of {args.rows} background rows over {data.CHATS} chats per store", flush=True)
    out: dict[str, Any] = {"argv": sys.argv[1:], "rows": args.rows, "groups": {}}
    undo = ops.Undo()
    try:
        pg_url, _conn, info = target_postgres.loaded_schema(args.rows, SCHEMA, undo)
        print(f"- PostgreSQL: {info['server']}, {info['durability']}; {info['driver']}")
        env = Env(args.rows, target_sqlite.copy_of(args.rows, "frameworks"), pg_url)
        undo.add(target_sqlite.remove, env.sqlite_path)
        try:
            for title, sides in sync_groups(env):
                if args.only and args.only not in title:
                    continue
                for s in sides:
                    s.fill()
                    for name in reads(s):
                        check(s, name, s.calls[name]())  # type: ignore[misc]
                report(title, sides, timing.run(as_ops(sides), args.rounds), out)
        finally:
            for close in reversed(env.closers):
                close()
            env.closers.clear()
        try:
            asyncio.run(run_async(env, args.rounds, args.only, out))
        finally:
            for close in reversed(env.closers):
                close()
    finally:
        undo.close()
    with open(args.json, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
