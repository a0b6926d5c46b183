"""`python -m bench`: memstore against the raw driver, per backend. See README, Benchmarks."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from importlib.metadata import version

from . import ops, timing

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
FLAT = ("last 50, 10,000-message chat", "last 50, 10-message chat", "last 50, typical chat")


def table(name: str, results: dict[str, timing.Samples]) -> list[str]:
    lines = [f"### {name}", "",
             "| op | raw median µs | memstore median µs | ratio | memstore − raw µs "
             "| raw p10–p90 µs | memstore p10–p90 µs |",
             "|---|---:|---:|---:|---:|---|---|"]
    for op, s in results.items():
        raw, mine = timing.summary(s.get("raw", [])), timing.summary(s.get("memstore", []))
        cells = [op, f"{raw['median_us']:.1f}" if raw else "-",
                 f"{mine['median_us']:.1f}" if mine else "-",
                 f"{mine['median_us'] / raw['median_us']:.2f}" if raw and mine else "-",
                 f"{mine['median_us'] - raw['median_us']:.1f}" if raw and mine else "-",
                 f"{raw['p10_us']:.0f}–{raw['p90_us']:.0f}" if raw else "-",
                 f"{mine['p10_us']:.0f}–{mine['p90_us']:.0f}" if mine else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", flatness(results)]
    return lines


def flatness(results: dict[str, timing.Samples]) -> str:
    """The issue's flatness figure (10,000-message chat / 10-message chat), and the one with
    the same 50 rows returned (10,000-message chat / typical chat), for memstore and raw."""
    out = []
    for side in ("memstore", "raw"):
        big, small, typical = (timing.summary(results.get(k, {}).get(side, []))
                               for k in FLAT)
        if big and small and typical:
            out.append(f"{side} {big['median_us'] / small['median_us']:.2f} / "
                       f"{big['median_us'] / typical['median_us']:.2f}")
    return ("last 50 flatness, 10,000-message chat ÷ 10-message chat (50 rows vs 10) / "
            "÷ typical chat (50 rows each): " + "; ".join(out)) if out else ""


def header(args: argparse.Namespace, prog: str = "python -m bench") -> list[str]:
    import memstore

    drivers = []
    for package in ("psycopg", "psycopg-binary", "PyMySQL", "libsql-client", "libsql",
                    "aiohttp"):
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
    with open(args.json, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
