"""Crash safety on the Turso server: sqld is SIGKILLed while a batch is being written, then
restarted on the same data and port.

A throwaway sqld (``.ci/turso-server.sh`` in a temporary directory) is used, so the kill never
disturbs the server the other tests use. The batch is one libsql-client ``batch``, which sqld
runs as one transaction: after the restart it must be wholly present or wholly absent, the
interrupted call must raise ``BackendError`` (not a raw client error, not a hang), and the
same ``Memory`` (over HTTP) must work again.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import memstore
from tests import throwaway

BATCH = 9_000  # messages of 2,000 characters: ~18 MB, seconds of work for sqld
# The sqld this test restarted as its own child: stopped and reaped by the fixture (the
# script's stop would wait on the zombie).
_restarted: list[subprocess.Popen[bytes]] = []


@pytest.fixture
def sqld() -> Iterator[dict[str, str]]:
    state = Path(tempfile.mkdtemp(prefix="memstore-crash-sqld-")) / "turso"
    env = throwaway.start("turso-server.sh", state)
    env["STATE"] = str(state)
    try:
        yield env
    finally:
        for daemon in _restarted:
            daemon.terminate()
            daemon.wait(timeout=60)
        _restarted.clear()
        throwaway.stop("turso-server.sh", state)
        shutil.rmtree(state.parent, ignore_errors=True)


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(f"{url}/health", timeout=1).close()
        return True
    except OSError:
        return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def test_sqld_killed_mid_batch(sqld: dict[str, str]) -> None:
    base = sqld["MEMSTORE_TEST_TURSO_URL"]
    pid_file = Path(sqld["MEMSTORE_TEST_TURSO_PIDFILE"])
    mem = memstore.connect(f"{base}?authToken={sqld['MEMSTORE_TEST_TURSO_TOKEN']}")
    mem.init_schema()
    mem.save_message("crash", "user", "before")
    pid = int(pid_file.read_text())
    command = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
    wal = Path(sqld["STATE"]) / "db" / "dbs" / "default" / "data-wal"
    wal_before = _size(wal)
    outcome: list[BaseException | None] = []

    def write() -> None:
        try:
            mem.save_messages("crash", [{"role": "user", "content": "y" * 2000}] * BATCH)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    # sqld is inside the transaction once its pages spill to the WAL (the batch is far
    # larger than SQLite's page cache).
    throwaway.wait(lambda: _size(wal) > wal_before + 2_000_000 or not writer.is_alive(),
          "the batch to reach sqld's WAL")
    assert writer.is_alive(), "the batch finished before the kill; make BATCH larger"
    os.killpg(pid, signal.SIGKILL)  # sqld leads its own process group (setsid)
    writer.join(timeout=120)
    assert not writer.is_alive(), "the interrupted call hung"
    assert len(outcome) == 1 and isinstance(outcome[0], memstore.BackendError), outcome
    assert str(outcome[0]).startswith("turso: ")

    # Same binary, data and port; setsid so that the fixture's stop finds its group.
    restarted = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL, start_new_session=True)
    _restarted.append(restarted)
    pid_file.write_text(str(restarted.pid))
    throwaway.wait(lambda: _answers(base), "sqld to answer again", seconds=120)

    got = mem.get_messages("crash", limit=10_000)
    assert len(got) in (1, 1 + BATCH), f"partial batch: {len(got)} messages"
    print(f"after the kill: {outcome[0]}; {len(got)} messages stored")
    chat = mem.get_chat("crash")
    assert chat is not None and chat.message_count == len(got)
    mem.save_message("crash", "user", "after")
    assert mem.get_messages("crash", limit=1)[0].content == "after"
    mem.close()
