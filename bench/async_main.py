"""One backend's async rows, run by `python -m bench` after its sync rows, in one event
loop per backend (``asyncio.run``): AsyncMemory against the raw async floor (and the
measured alternatives), then on SQLite and PostgreSQL the 100,000-message chat's keyset
pages, and on PostgreSQL many tasks on one pool. See bench/async_ops.py."""

from __future__ import annotations

import argparse
import time
from typing import Any

from . import timing
from .async_ops import (
    FIRST_PAGE,
    HUGE_SIZE,
    LAST_PAGE,
    PAGE,
    AsyncTarget,
    ops_of,
    page_ops,
)
from .async_targets import builder
from .report import table

POOL_TASKS, POOL_SIZE = 32, 8
WHOLE_ROUNDS = 3  # a whole-chat read takes ~0.5 s a side: 3 rounds of 3 calls each
NOTE = (f"(Whole chat: {HUGE_SIZE // PAGE} keyset pages of {PAGE:,} and a last empty one, "
        "memstore and raw alike. memstore's last page is get_messages(limit=1000, "
        "before_id=...), which first looks the anchor message up: one query more.)")


def summaries(results: dict[str, timing.Samples]) -> dict[str, Any]:
    return {op: {side: timing.summary(v) for side, v in s.items()}
            for op, s in results.items()}


def page_flatness(results: dict[str, timing.Samples]) -> tuple[str, dict[str, float]]:
    ratios = {}
    for side in ("raw", "memstore"):
        first = timing.summary(results[FIRST_PAGE].get(side, []))
        last = timing.summary(results[LAST_PAGE].get(side, []))
        if first and last:
            ratios[side] = last["median_us"] / first["median_us"]
    text = ("keyset page flatness, last page ÷ first page "
            f"({PAGE:,} rows each, {HUGE_SIZE:,}-message chat; the issue asks ≤ 1.2): "
            + "; ".join(f"{side} {r:.2f}" for side, r in ratios.items()))
    return text, ratios


async def run(backend: str, args: argparse.Namespace) -> dict[str, Any]:
    name = f"{backend} (async)"
    t = time.perf_counter()
    target: AsyncTarget = await builder(backend)(args.rows)
    loaded = time.perf_counter() - t
    out: dict[str, Any] = {"where": target.where, "info": target.info, "load_s": loaded}
    try:
        print(f"\n{name}: data ready in {loaded:.1f} s ({target.where})")
        for k, v in target.info.items():
            print(f"- {k}: {v}")
        alternatives = list(target.alternatives)
        t = time.perf_counter()
        results = await timing.arun(await ops_of(target), args.rounds)
        print(f"- timed in {time.perf_counter() - t:.1f} s\n")
        print("\n".join(table(name, results, alternatives)), flush=True)
        out["ops"] = summaries(results)

        if target.huge_anchor is not None:
            anchor_id = target.huge_anchor[1]
            t = time.perf_counter()
            whole, *paged = page_ops(target, anchor_id)
            # The pages on their own: interleaved with the whole-chat read, they caught its
            # garbage (100,000 messages) and the ratio drifted by ±0.3 from run to run.
            pages = {**await timing.arun([whole], min(args.rounds, WHOLE_ROUNDS)),
                     **await timing.arun(paged, args.rounds)}
            print(f"\n- {HUGE_SIZE:,}-message chat timed in {time.perf_counter() - t:.1f} s\n")
            text, ratios = page_flatness(pages)
            lines = table(f"{name}: a {HUGE_SIZE:,}-message chat, keyset pages of {PAGE:,}",
                          pages, alternatives, flat=False)
            print("\n".join([*lines, "", text, "", NOTE]), flush=True)
            out["pages"] = {"ops": summaries(pages), "last_over_first": ratios}

        if backend == "postgres":
            from .async_postgres import PG_SCHEMA, pool_throughput
            from .target_postgres import schema_url

            got = await pool_throughput(schema_url(PG_SCHEMA), POOL_TASKS, POOL_SIZE,
                                                    args.concurrent_seconds)
            print("\n".join(concurrent_table(name, got, args.concurrent_seconds)), flush=True)
            out["concurrent"] = {"tasks": POOL_TASKS, "pool": POOL_SIZE,
                                 "seconds_per_side": args.concurrent_seconds,
                                 "calls_per_s": got}
    finally:
        await target.stack.aclose()
    return out


def concurrent_table(name: str, got: dict[str, dict[str, float]], seconds: float) -> list[str]:
    lines = ["", f"### {name}: {POOL_TASKS} tasks, one AsyncConnectionPool of {POOL_SIZE}", "",
             f"Calls per second over {seconds:g} s per side (3 slices, order rotated); "
             "memstore = connect_async(pool), raw = the same pool running the same "
             "statement; each task saves into a chat of its own.", "",
             "| op | raw calls/s | memstore calls/s | memstore ÷ raw |",
             "|---|---:|---:|---:|"]
    for op, sides in got.items():
        raw, mine = sides["raw"], sides["memstore"]
        lines.append(f"| {op} | {raw:,.0f} | {mine:,.0f} | {mine / raw:.2f} |")
    return lines
