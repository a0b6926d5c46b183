"""`python -m bench`: memstore against the raw driver, per backend. See README, Benchmarks."""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from datetime import datetime, timezone

from . import timing

BACKENDS = ("sqlite",)


def table(name: str, results: dict[str, timing.Samples]) -> list[str]:
    lines = [f"### {name}", "", "| op | raw median µs | memstore median µs | ratio | "
             "memstore p10-p90 µs |", "|---|---:|---:|---:|---|"]
    for op, s in results.items():
        raw, mine = timing.summary(s.raw), timing.summary(s.memstore)
        ratio = f"{mine['median_us'] / raw['median_us']:.2f}" if raw and mine else "-"
        spread = f"{mine['p10_us']:.0f}-{mine['p90_us']:.0f}" if mine else "-"
        lines.append(f"| {op} | {raw['median_us']:.1f} | " if raw else f"| {op} | - | ")
        lines[-1] += (f"{mine['median_us']:.1f} | {ratio} | {spread} |" if mine
                      else f"- | {ratio} | {spread} |")
    return lines


def main() -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--rows", type=int, default=200_000)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--backends", default=",".join(BACKENDS))
    p.add_argument("--json", default="bench/results.json")
    args = p.parse_args()

    import memstore
    print(f"# memstore bench {datetime.now(timezone.utc).isoformat(timespec='seconds')}")
    print(f"command: python -m bench {' '.join(sys.argv[1:])}")
    print(f"python {platform.python_version()}, memstore {memstore.__version__}, "
          f"{platform.machine()}, {platform.node()}")
    out: dict[str, object] = {"argv": sys.argv[1:], "rows": args.rows}
    for backend in args.backends.split(","):
        if backend == "sqlite":
            import sqlite3

            from . import target_sqlite as target
            print(f"sqlite {sqlite3.sqlite_version}")
        else:
            raise SystemExit(f"unknown backend {backend!r}; have {', '.join(BACKENDS)}")
        t = time.perf_counter()
        mem, raw, where = target.build(args.rows)
        print(f"\n{backend}: loaded {args.rows} rows in {time.perf_counter() - t:.1f} s ({where})")
        results = timing.run(target.ops(mem, raw), args.rounds)
        print("\n".join(table(backend, results)))
        out[backend] = {op: {"raw": timing.summary(s.raw), "memstore": timing.summary(s.memstore)}
                        for op, s in results.items()}
        mem.close()
    with open(args.json, "w") as f:
        json.dump(out, f, indent=2)
    print(f"\nJSON: {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
