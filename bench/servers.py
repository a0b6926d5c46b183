"""Where the server backends run: the servers the tests use when their URLs are set
(``$MEMSTORE_TEST_POSTGRES_URL``, ``$MEMSTORE_TEST_MYSQL_URL``, ``$MEMSTORE_TEST_TURSO_URL``
and ``_TOKEN``), else servers started here exactly as the tests' CI starts them
(``.ci/services.sh``, ``.ci/turso-server.sh``), in a directory of this run, stopped and
deleted at exit. The bench's data goes into a schema / database / tables of its own either
way (see each target), so it never touches the tests' tables.
"""

from __future__ import annotations

import atexit
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_started: set[str] = set()


def _start(script: str, name: str) -> None:
    state = Path(f"/tmp/memstore-bench-{os.getpid()}-{name}")
    print(f"(starting {name} servers with .ci/{script} in {state})", file=sys.stderr)
    out = subprocess.run(["bash", str(ROOT / ".ci" / script), "start", str(state)],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    for line in out.splitlines():  # only `export NAME=value` lines
        if line.startswith("export ") and "=" in line:
            key, value = line[len("export "):].split("=", 1)
            os.environ[key] = shlex.split(value)[0] if value else ""

    def stop() -> None:
        subprocess.run(["bash", str(ROOT / ".ci" / script), "stop", str(state)],
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(state, ignore_errors=True)

    atexit.register(stop)
    _started.add(name)


def env(var: str, script: str, name: str) -> str:
    if not os.environ.get(var):
        _start(script, name)
    return os.environ[var]


def postgres_url() -> str:
    return env("MEMSTORE_TEST_POSTGRES_URL", "services.sh", "services")


def mysql_url() -> str:
    return env("MEMSTORE_TEST_MYSQL_URL", "services.sh", "services")


def turso() -> tuple[str, str, bool]:
    """sqld's http URL, its token, and whether this run started it (then it is ours)."""
    url = env("MEMSTORE_TEST_TURSO_URL", "turso-server.sh", "turso")
    return url, os.environ["MEMSTORE_TEST_TURSO_TOKEN"], "turso" in _started
