"""`python -m bench.recall` (`make bench-recall`, part of `make bench`): search on every
backend at two table sizes, and recall@5 of the three modes on a labelled set.

Per backend and size: a table of N messages in which one user (the searched one) has
10,000 messages over 50 chats and the rest belong to 1,000 other users. The first search
catches the side tables up with that user's 10,000 rows (timed once, "catch-up"); then
keyword searches (rare words, common words, short words, two-word queries) and exact
semantic searches over the user's 384-dimension vectors are timed (p50 / p90 of several
rounds). Flatness: p50 at N ÷ p50 at N / 10. save_message is timed on the same tables:
recall adds no statement to it (indexing runs before a search, never on the write path).
Budgets (docs/budget.md): a read of the newest 1,250 tokens of a 10,000-message chat
against ``get_messages(limit=50)``, the same 50 messages.

The loads go through the raw drivers (executemany), into a schema / database / file of
this run, never the tests' tables.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import math
import os
import random
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import memstore

from . import servers

USER = "u-target"
TARGET_MESSAGES = 10_000
DIM = 384
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
WORDS = [f"w{n:04d}" for n in range(5000)]  # a vocabulary: w0000 common ... w4999 rare
QUERIES = ["w0001", "w0002 w0003", "w4321", "w2500", "w0", "w00", "w1234 w0005", "w49"]
SET = Path(__file__).with_name("recall_set.json")


def embed(texts: list[str]) -> list[list[float]]:
    """A deterministic 384-dimension embedder (word-hash buckets): the plumbing's cost,
    not a model's."""
    out = []
    for text in texts:
        v = [0.0] * DIM
        for w in text.lower().split():
            h = hashlib.blake2b(w.strip(".,?!").encode(), digest_size=4).digest()
            v[int.from_bytes(h[:2], "little") % DIM] += 1.0
            v[int.from_bytes(h[2:], "little") % DIM] += 0.5
        out.append(v)
    return out


def rows(n: int, seed: int = 7) -> Iterator[tuple[str, str, str, str, datetime]]:
    """n messages (chat, user, role, text, instant): the target user's 10,000 spread
    through the table, the rest other users'."""
    rnd = random.Random(seed)
    every = max(1, n // TARGET_MESSAGES)
    # Zipf-like (w0000 most common), cumulated once: choices() would redo it per call
    cum = list(itertools.accumulate(1 / (k + 1) for k in range(len(WORDS))))
    for i in range(n):
        mine = i % every == 0 and i // every < TARGET_MESSAGES
        user = USER if mine else f"u{rnd.randrange(1000)}"
        chat = f"{user}-c{rnd.randrange(50)}"
        text = " ".join(rnd.choices(WORDS, cum_weights=cum, k=12))
        yield chat, user, "user" if i % 2 else "assistant", text, T0 + timedelta(seconds=i)


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def timed(call: Callable[[], Any], rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


# -- loading, per backend ------------------------------------------------------------------

@contextlib.contextmanager
def sqlite_target(n: int, driver: str) -> Iterator[memstore.Memory]:
    folder = Path(tempfile.mkdtemp(prefix="memstore-bench-recall-"))
    path = folder / "recall.db"
    memstore.connect(f"sqlite:///{path}").init_schema()
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, content, "
                     "timestamp) VALUES (?, ?, ?, ?, ?)",
                     ((c, u, r, t, at.timestamp()) for c, u, r, t, at in rows(n)))
    conn.execute("COMMIT")
    conn.close()
    if driver == "sqlite":
        mem = memstore.connect(f"sqlite:///{path}", embedder=embed, embedder_name="bench-384")
    elif driver == "libsql":
        import libsql

        mem = memstore.connect(libsql.connect(str(path)), embedder=embed,
                               embedder_name="bench-384")
    else:  # turso-file: libsql-client's local executor
        mem = memstore.connect(f"file:{path}", embedder=embed, embedder_name="bench-384")
    try:
        yield mem
    finally:
        mem.close()
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()


@contextlib.contextmanager
def postgres_target(n: int) -> Iterator[memstore.Memory]:
    import psycopg
    from psycopg import sql

    base = servers.postgres_url()
    schema = f"bench_recall_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(base, autocommit=True)
    admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    url = f"{base}{'&' if '?' in base else '?'}options={quote(f'-c search_path={schema}')}"
    try:
        memstore.connect(url).init_schema()
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            with cur.copy("COPY conversation_messages (chat_id, user_id, role, content, "
                          "timestamp) FROM STDIN") as copy:
                for c, u, r, t, at in rows(n):
                    copy.write_row((c, u, r, t, at.replace(tzinfo=None)))
            cur.execute("ANALYZE")
        mem = memstore.connect(url, embedder=embed, embedder_name="bench-384")
        try:
            yield mem
        finally:
            mem.close()
    finally:
        admin.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        admin.close()


@contextlib.contextmanager
def mysql_target(n: int) -> Iterator[memstore.Memory]:
    import pymysql

    base = servers.mysql_url()
    u = urlsplit(base)
    database = f"memstore_recall_{uuid.uuid4().hex[:8]}"  # the test user may create memstore_%

    def raw(db: str | None) -> Any:
        return pymysql.connect(host=u.hostname, port=u.port or 3306, user=u.username,
                               password=u.password or "", database=db, charset="utf8mb4")

    admin = raw(None)
    admin.cursor().execute(f"CREATE DATABASE {database} CHARACTER SET utf8mb4")
    url = base.rsplit("/", 1)[0] + f"/{database}"
    try:
        memstore.connect(url).init_schema()
        conn = raw(database)
        cur = conn.cursor()
        cur.execute("SET time_zone = '+00:00'")
        batch: list[tuple[Any, ...]] = []
        for c, us, r, t, at in rows(n):
            batch.append((c, us, r, t, at.replace(tzinfo=None)))
            if len(batch) == 5000:
                cur.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, "
                                "content, timestamp) VALUES (%s, %s, %s, %s, %s)", batch)
                batch = []
        if batch:
            cur.executemany("INSERT INTO conversation_messages (chat_id, user_id, role, "
                            "content, timestamp) VALUES (%s, %s, %s, %s, %s)", batch)
        conn.commit()
        cur.execute("ANALYZE TABLE conversation_messages")
        conn.close()
        mem = memstore.connect(url, embedder=embed, embedder_name="bench-384")
        try:
            yield mem
        finally:
            mem.close()
    finally:
        admin.cursor().execute(f"DROP DATABASE IF EXISTS {database}")
        admin.close()


TARGETS: dict[str, Callable[[int], Any]] = {
    "sqlite": lambda n: sqlite_target(n, "sqlite"),
    "libsql": lambda n: sqlite_target(n, "libsql"),
    "turso-file": lambda n: sqlite_target(n, "turso-file"),
    "postgres": postgres_target,
    "mysql": mysql_target,
}


def measure(mem: memstore.Memory, rounds: int) -> dict[str, float]:
    out: dict[str, float] = {}
    start = time.perf_counter()
    mem.search_messages("w0001", user_id=USER)  # catches up the user's 10,000 rows
    out["catch-up ms"] = (time.perf_counter() - start) * 1000
    keyword: list[float] = []
    for query in QUERIES:
        keyword += timed(lambda q=query: mem.search_messages(q, user_id=USER), rounds)
    out["keyword p50 ms"], out["keyword p90 ms"] = p(keyword, 0.5), p(keyword, 0.9)
    start = time.perf_counter()
    mem.search_messages("w0001", user_id=USER, mode="semantic")  # embeds 10,000 rows
    out["embed 10k ms"] = (time.perf_counter() - start) * 1000
    semantic = timed(lambda: mem.search_messages("w0001 w0002", user_id=USER,
                                                 mode="semantic"), max(3, rounds // 3))
    out["semantic p50 ms"] = p(semantic, 0.5)
    saves = timed(lambda: mem.save_message("bench-save", "user", "w0001 w0002 w0003",
                                           user_id="u-saver"), rounds * 3)
    out["save_message p50 ms"] = p(saves, 0.5)
    # a budgeted read of a 10,000-message chat against limit=50 (turns of 2 messages of
    # ~25 tokens each: 1,250 tokens is the newest 50 messages)
    for start in range(0, 10_000, 1000):
        mem.save_messages("long", [
            {"role": "user" if k % 2 == 0 else "assistant",
             "content": f"message {start + k} " + "w0001 " * 15,
             "timestamp": T0 + timedelta(seconds=start + k)} for k in range(1000)])
    mem.get_messages("long", max_tokens=1250, limit=None)  # counts the rows it reaches
    plain = timed(lambda: mem.get_messages("long", limit=50), rounds * 3)
    budget = timed(lambda: mem.get_messages("long", max_tokens=1250, limit=None), rounds * 3)
    out["limit=50 p50 ms"] = p(plain, 0.5)
    out["budget p50 ms"] = p(budget, 0.5)
    return out


# -- recall@5 on the labelled set ------------------------------------------------------------

def recall_at_5() -> dict[str, float]:
    data = json.loads(SET.read_text(encoding="utf-8"))
    found = {"keyword": 0, "semantic": 0, "hybrid": 0}
    with memstore.connect("memory://", embedder=embed, embedder_name="bench-384") as mem:
        for conv in data["conversations"]:
            for k, (role, text) in enumerate(conv["messages"]):
                mem.save_message(conv["chat"], role, text, user_id="labelled",
                                 timestamp=T0 + timedelta(minutes=k))
        for q in data["questions"]:
            for mode in found:
                query = q["keywords"] if mode == "keyword" else q["question"]
                hits = mem.search_messages(query, user_id="labelled", mode=mode, limit=5)
                found[mode] += any(h.message.content == q["answer"] for h in hits)
    return {mode: count / len(data["questions"]) for mode, count in found.items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.recall")
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="the larger table size (the smaller is a tenth)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--backends", default=",".join(TARGETS))
    args = parser.parse_args()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"# memstore recall bench {datetime.now(timezone.utc).isoformat(timespec='seconds')}"
          f"\n\n- command: `python -m bench.recall --rows {args.rows} --rounds {args.rounds} "
          f"--backends {args.backends}`\n- {os.cpu_count()} CPUs, load average {load}; one "
          f"user with {TARGET_MESSAGES:,} messages, {DIM}-dimension vectors\n")
    keys = ["catch-up ms", "keyword p50 ms", "keyword p90 ms", "embed 10k ms",
            "semantic p50 ms", "save_message p50 ms", "limit=50 p50 ms", "budget p50 ms"]
    print("| backend | rows | " + " | ".join(keys) + " |")
    print("|---|---:|" + "---:|" * len(keys))
    flat: dict[str, list[float]] = {}
    ratios: dict[str, float] = {}
    for name in args.backends.split(","):
        for n in (args.rows // 10, args.rows):
            with TARGETS[name](n) as mem:
                got = measure(mem, args.rounds)
            flat.setdefault(name, []).append(got["keyword p50 ms"])
            ratios[f"{name}@{n:,}"] = got["budget p50 ms"] / got["limit=50 p50 ms"]
            print(f"| {name} | {n:,} | " + " | ".join(f"{got[k]:.2f}" for k in keys) + " |",
                  flush=True)
    print("\nbudget ÷ limit=50 (target ≤ 1.2): " + ", ".join(
        f"{name} {r:.2f}" for name, r in ratios.items()))
    print("keyword p50 at N ÷ at N/10 (flat is ~1.0): " + ", ".join(
        f"{name} {v[1] / v[0]:.2f}" for name, v in flat.items() if v[0]))
    scores = recall_at_5()
    print(f"\nrecall@5 on bench/recall_set.json ({SET.stat().st_size:,} bytes): " + ", ".join(
        f"{mode} {value:.2f}" for mode, value in scores.items()) + " (semantic and hybrid "
        "with the word-hash test embedder, not a model: they show the plumbing ranks)")
    return 0 if all(math.isfinite(v) for v in scores.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
