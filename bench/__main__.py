"""`python -m bench`: memstore against the raw driver, per backend, sync and then async
(bench/async_main.py). See README, Benchmarks."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version

from . import async_main, async_targets, ops, timing
from .report import table

# Backend -> (module, builder). Imported only when asked for, so a missing driver stops
# only its own backend.
BACKENDS: dict[str, tuple[str, str, tuple[object, ...]]] = {
    "sqlite": ("target_sqlite", "build", ()),
    "libsql": ("target_libsql", "build", ()),
    "turso-file": ("target_turso", "build_file", ()),
    "turso-http": ("target_turso", "build_network", ("http",)),
    "turso-ws": ("target_turso", "build_network", ("ws",)),
    "postgres": ("target_postgres", "build", ()),
    "mysql": ("target_mysql", "build", ()),
    "memory": ("target_memory", "build", ()),
}


def header(args: argparse.Namespace, prog: str = "python -m bench") -> list[str]:
    import memstore

    drivers = []
    for package in ("psycopg", "psycopg-binary", "psycopg-pool", "PyMySQL", "libsql-client",
                    "libsql", "aiohttp", "aiosqlite", "aiomysql"):
        try:
            drivers.append(f"{package} {version(package)}")
        except Exception:
            drivers.append(f"{package} (not installed)")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [f"# memstore bench {datetime.now(timezone.utc).isoformat(timespec='seconds')}", "",
            f"- command: `{prog} {' '.join(sys.argv[1:])}`",
            f"- python {platform.python_version()}, memstore {memstore.__version__}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, load average {load} at start",
            f"- drivers: {', '.join(drivers)}",
            f"- {args.rows} rows, {args.rounds} rounds; raw = the driver doing the same SQL "
            "work by hand (bench/ops.py says exactly what)"]


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--backends", default=",".join(BACKENDS),
                   help=f"comma-separated, from: {', '.join(BACKENDS)}")
    p.add_argument("--json", default="bench/results.json")
    p.add_argument("--no-async", action="store_true",
                   help="skip the async rows (AsyncMemory against the raw async floor)")
    p.add_argument("--concurrent-seconds", type=float, default=3.0,
                   help="seconds per side of each op of the PostgreSQL concurrency row")
    args = p.parse_args()
    chosen = args.backends.split(",")
    if unknown := [b for b in chosen if b not in BACKENDS]:
        raise SystemExit(f"unknown backend {unknown[0]!r}; have {', '.join(BACKENDS)}")

    print("\n".join(header(args)), flush=True)
    out: dict[str, object] = {"argv": sys.argv[1:], "rows": args.rows, "rounds": args.rounds,
                              "python": platform.python_version(), "backends": {}}
    for backend in chosen:
        module, builder, extra = BACKENDS[backend]
        build: Callable[..., ops.Target] = getattr(
            importlib.import_module(f"bench.{module}"), builder)
        t = time.perf_counter()
        target = build(args.rows, *extra)
        loaded = time.perf_counter() - t
        print(f"\n{backend}: data ready in {loaded:.1f} s ({target.where})")
        for k, v in target.info.items():
            print(f"- {k}: {v}")
        t = time.perf_counter()
        try:
            results = timing.run(ops.ops(target), args.rounds)
        finally:
            target.close()
        print(f"- timed in {time.perf_counter() - t:.1f} s\n")
        print("\n".join(table(backend, results)), flush=True)
        out["backends"][backend] = {  # type: ignore[index]
            "where": target.where, "info": target.info, "load_s": loaded,
            "ops": {op: {side: timing.summary(v) for side, v in s.items()}
                    for op, s in results.items()}}
        if not args.no_async and backend in async_targets.BUILDERS:
            out["backends"][f"{backend} (async)"] = asyncio.run(  # type: ignore[index]
                async_main.run(backend, args))
    with open(args.json, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
