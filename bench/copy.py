"""`python -m bench.copy`: `memstore copy` SQLite -> PostgreSQL at growing sizes; messages
per second and the copying process's peak memory (its max RSS), to show that memory stays
flat as the database grows (issue "Moving memory between databases").

Each size is a fresh SQLite file of chats of ``--per-chat`` messages (content ~200 bytes,
several users), copied by the real command line in a child process into a fresh PostgreSQL
schema (``$MEMSTORE_TEST_POSTGRES_URL``); the destination is then counted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg

import memstore

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def make_source(path: Path, messages: int, per_chat: int) -> None:
    with memstore.connect(f"sqlite:///{path}") as mem:
        mem.init_schema()
        body = "x" * 180
        for c in range(messages // per_chat):
            mem.save_messages(f"chat{c:07}", [
                {"role": "user" if k % 2 == 0 else "assistant",
                 "content": f"{c}-{k} {body}",
                 "timestamp": T0 + timedelta(seconds=c, milliseconds=k)}
                for k in range(per_chat)], user_id=f"u{c % 97}")
            if c % 10 == 0:
                mem.update_working_memory(scope="chat", chat_id=f"chat{c:07}", content="# n")


def copy_once(src: Path, pg_url: str) -> tuple[float, int, int]:
    schema = f"copybench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f"CREATE SCHEMA {schema}")
    dst = f"{pg_url}{'&' if '?' in pg_url else '?'}options=-c%20search_path%3D{schema}"
    try:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-m", "memstore", "copy",
                                  f"sqlite:///{src}", dst], stdout=subprocess.DEVNULL)
        # this child's own resource usage (RUSAGE_CHILDREN would be the max of all so far)
        _, status, usage = os.wait4(child.pid, 0)
        child.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - start
        if child.returncode != 0:
            raise SystemExit(f"memstore copy exited with {child.returncode}")
        peak_kib = usage.ru_maxrss  # KiB on Linux
        with psycopg.connect(pg_url, autocommit=True) as admin:
            (rows,) = admin.execute(
                f"SELECT count(*) FROM {schema}.conversation_messages").fetchone()
        return seconds, peak_kib, int(rows)
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--sizes", default="100000,1000000")
    p.add_argument("--per-chat", type=int, default=1000)
    args = p.parse_args()
    pg_url = os.environ["MEMSTORE_TEST_POSTGRES_URL"]
    print("| messages | chats | seconds | messages/s | peak RSS of `memstore copy` |")
    print("|---:|---:|---:|---:|---:|")
    for size in [int(s) for s in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "src.db"
            make_source(src, size, args.per_chat)
            seconds, peak_kib, rows = copy_once(src, pg_url)
            assert rows == size, (rows, size)
            print(f"| {size:,} | {size // args.per_chat:,} | {seconds:.1f} | "
                  f"{size / seconds:,.0f} | {peak_kib / 1024:.0f} MiB |", flush=True)


if __name__ == "__main__":
    main()
