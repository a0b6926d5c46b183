"""`python -m bench.overhead` (`make bench-overhead`): memstore's own Python work per call
on SQLite, and where it goes.

The table bench (`python -m bench`) gives ratios against the raw driver; on an embedded
database those ratios are mostly the machine's noise plus memstore's Python. This probe
takes the I/O out: both sides run on one in-memory SQLite connection (the raw side is
bench/target_sqlite.py's ``Raw``, the floor of the table bench), interleaved, and the
fastest round of each side is kept (the least disturbed by the shared machine). What is
left, memstore minus raw, is the Python memstore runs: validation, the plan, the runner,
building the returned objects. Beside it: the budget of issue 20 (5 µs a call plus 1 µs a
returned object); where the difference goes, by parts timed on their own (the input checks,
the statements' parameters, the returned objects; the rest is the plan, the runner and the
call); the Python function calls per call (exact, from cProfile) and, with ``--profile``,
the functions that take the time.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import memstore
from memstore import validate as v
from memstore.adapters.sqlbase import SqlDialect
from memstore.models import message_from_row, working_memory_from_row

from . import ops
from .target_sqlite import Raw, load

PER_CALL_US, PER_ROW_US = 5.0, 1.0


@dataclass
class Probe:
    name: str
    mem: Callable[[], object]
    raw: Callable[[], object]
    rows: int  # objects memstore returns (the per-row part of the budget)
    calls: int = 200
    # Parts of memstore's work timed on their own (what the rest of the difference is:
    # the plan, the runner, the transaction rule, the call itself).
    checks: Callable[[], object] | None = None  # validating the inputs
    statements: Callable[[], object] | None = None  # binding: the statements' parameters
    objects: Callable[[], object] | None = None  # the returned Message/Chat/... objects


def finish(plan: Any) -> Any:
    """A plan that yields nothing more (a sub-plan such as insert_stmts), run to its end."""
    try:
        next(plan)
    except StopIteration as done:
        return done.value
    raise RuntimeError("the plan wanted a statement run")


def probes(mem: memstore.Memory, raw: Raw) -> list[Probe]:
    batch = [{"role": "user", "content": ops.CONTENT, "timestamp": ops.NOW}] * 100
    mem.update_working_memory(scope="user", user_id=ops.WM_USER, content=ops.CONTENT)
    dialect = mem._dialect
    assert isinstance(dialect, SqlDialect)
    news = mem._batch(batch, "messages")
    one = news[:1]
    ids = list(range(1, 101))
    conn = raw.conn
    rows_of = {chat: conn.execute(dialect.sql["last_messages"],
                                  {"chat_id": chat, "limit": 50}).fetchall()
               for chat in (ops.TYPICAL, ops.SMALL)}
    chats = conn.execute(dialect.sql["list_chats_of_user"],
                         {"user_id": ops.LIST_USER, "limit": 20}).fetchall()
    wm = conn.execute(dialect.sql["get_working_memory"],
                      {"id": f"user:{ops.WM_USER}"}).fetchall()

    def message_objects(n: int) -> Callable[[], object]:
        return lambda: [message_from_row(i, ops.SAVE_CHAT, ops.SAVE_USER, m.role, m.content,
                                         m.timestamp) for i, m in zip(ids[:n], news, strict=False)]

    return [
        Probe("save 1 message", lambda: mem.save_message(
            ops.SAVE_CHAT, "user", ops.CONTENT, user_id=ops.SAVE_USER, timestamp=ops.NOW),
            lambda: raw.save(1), 1,
            checks=lambda: (v.ident("chat_id", ops.SAVE_CHAT),
                            v.optional_ident("user_id", ops.SAVE_USER), v.role("role", "user"),
                            v.content("content", ops.CONTENT), v.instant("timestamp", ops.NOW)),
            statements=lambda: finish(dialect.insert_stmts(ops.SAVE_CHAT, ops.SAVE_USER, one)),
            objects=message_objects(1)),
        Probe("save 100 messages", lambda: mem.save_messages(
            ops.SAVE_CHAT, batch, user_id=ops.SAVE_USER), lambda: raw.save(100), 100, 20,
            checks=lambda: mem._batch(batch, "messages"),
            statements=lambda: finish(dialect.insert_stmts(ops.SAVE_CHAT, ops.SAVE_USER, news)),
            objects=message_objects(100)),
        Probe("last 50, typical chat", lambda: mem.get_messages(ops.TYPICAL, limit=50),
              lambda: raw.last(ops.TYPICAL), 50,
              objects=lambda: dialect.messages_from_rows(rows_of[ops.TYPICAL])),
        Probe("last 50, 10-message chat", lambda: mem.get_messages(ops.SMALL, limit=50),
              lambda: raw.last(ops.SMALL), 10,
              objects=lambda: dialect.messages_from_rows(rows_of[ops.SMALL])),
        Probe("working-memory upsert", lambda: mem.update_working_memory(
            scope="user", user_id=ops.WM_USER, content=ops.CONTENT), raw.wm_upsert, 0,
            checks=lambda: (v.scope("scope", "user"), v.optional_ident("user_id", ops.WM_USER),
                            v.content("content", ops.CONTENT))),
        Probe("working-memory read", lambda: mem.get_working_memory(
            scope="user", user_id=ops.WM_USER), raw.wm_read, 1,
            objects=lambda: working_memory_from_row(*wm[0][:4], dialect.decode_time(wm[0][4]))),
        Probe("list a user's chats", lambda: mem.get_chats(user_id=ops.LIST_USER, limit=20),
              raw.list_chats, 20, objects=lambda: [dialect.chat_from_row(r) for r in chats]),
    ]


def fastest(fn: Callable[[], object], calls: int) -> float:
    t = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - t) / calls


def python_calls(fn: Callable[[], object], calls: int) -> tuple[float, pstats.Stats]:
    prof = cProfile.Profile()
    prof.enable()
    for _ in range(calls):
        fn()
    prof.disable()
    stats = pstats.Stats(prof)
    return stats.total_calls / calls, stats  # type: ignore[attr-defined]


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench.overhead")
    p.add_argument("--rows", type=int, default=20_000)
    p.add_argument("--rounds", type=int, default=31)
    p.add_argument("--profile", action="store_true", help="the top functions of each op")
    args = p.parse_args()

    conn = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    mem = memstore.connect(conn)
    mem.init_schema()
    load(conn, args.rows)
    raw = Raw(conn)
    print(f"# memstore's Python per call, SQLite in memory ({args.rows} rows, "
          f"{args.rounds} interleaved rounds, fastest round of each side; "
          f"sqlite {sqlite3.sqlite_version})\n")
    print("| op | raw µs | memstore µs | memstore − raw µs | budget µs | of which: checks "
          "| statements | objects | the rest (plan, runner, call) | Python calls |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    over = 0
    for probe in probes(mem, raw):
        best = {"mem": float("inf"), "raw": float("inf")}
        for r in range(args.rounds):
            order = (("mem", probe.mem), ("raw", probe.raw))
            for side, fn in order if r % 2 else order[::-1]:
                best[side] = min(best[side], fastest(fn, probe.calls))
        extra = (best["mem"] - best["raw"]) * 1e6
        parts = [min(fastest(fn, probe.calls) for _ in range(args.rounds)) * 1e6
                 if fn is not None else 0.0
                 for fn in (probe.checks, probe.statements, probe.objects)]
        budget = PER_CALL_US + PER_ROW_US * probe.rows
        over += extra > budget
        calls, stats = python_calls(probe.mem, probe.calls)
        shown = " | ".join(f"{p:.1f}" if p else "-" for p in parts)
        print(f"| {probe.name} | {best['raw'] * 1e6:.1f} | {best['mem'] * 1e6:.1f} | "
              f"{extra:.1f} | {budget:.0f} | {shown} | {extra - sum(parts):.1f} | "
              f"{calls:.0f} |", flush=True)
        if args.profile:
            stats.sort_stats("tottime").print_stats(8)
    mem.close()
    conn.close()
    print(f"\n{over} op(s) over budget")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
