"""Crash safety on the server backends: the server is SIGKILLed while a batch is being
written, then restarted; and servers that are not there, or hang, at connect time.

Each run starts its own throwaway servers (``.ci/services.sh`` in a temporary directory), so
killing them never disturbs the servers the other tests use. The batch must be wholly present
or wholly absent, the interrupted call must raise ``BackendError`` (not a raw driver error,
not a hang), and the same ``Memory`` must work again once the server is back; so must a
Memory that sat idle through the crash (from the URL, or on a psycopg_pool pool) by its
second call. Connecting to a closed port fails at once, to a silent one after the timeout.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import memstore
from tests import throwaway

BATCH = 3000
# Servers this test restarted as its own children, stopped and reaped at the end.
_restarted: list[subprocess.Popen[bytes]] = []


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, str]]:
    state = Path(tempfile.mkdtemp(prefix="memstore-crash-")) / "services"
    state.parent.chmod(0o755)  # the servers run as their own system users
    env = throwaway.start("services.sh", state)
    try:
        yield env
    finally:
        for daemon in _restarted:
            daemon.terminate()  # SIGTERM: a clean shutdown of mariadbd
        for daemon in _restarted:
            daemon.wait(timeout=120)  # reaped, or services.sh would wait on a zombie
        _restarted.clear()
        throwaway.stop("services.sh", state)
        shutil.rmtree(state.parent, ignore_errors=True)


def _pid(path: str) -> int:
    return int(Path(path).read_text().split()[0])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a killed child of another process may linger as a zombie until reaped
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _kill_and_restart_postgres(env: dict[str, str]) -> None:
    # A crash of the whole server: the postmaster and every backend, all at once (killing
    # only the postmaster lets a running backend finish and commit its statement).
    pid = _pid(os.path.join(env["MEMSTORE_TEST_PG_DATA"], "postmaster.pid"))
    backends = _children(pid)
    for victim in [pid, *backends]:
        os.kill(victim, signal.SIGKILL)
    for victim in [pid, *backends]:
        throwaway.wait(lambda v=victim: not _alive(v), "postgres to die")  # type: ignore[misc]
    # its backends exit once the postmaster is gone; pg_ctl refuses to start until then
    cmd = [os.path.join(env["MEMSTORE_TEST_PG_BIN"], "pg_ctl"), "start", "-w",
           "-D", env["MEMSTORE_TEST_PG_DATA"], "-l", env["MEMSTORE_TEST_PG_LOG"]]
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", env["MEMSTORE_TEST_PG_OSUSER"], "--", *cmd]
    for _ in range(100):
        if subprocess.run(cmd, capture_output=True, timeout=120).returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError("postgres did not restart")


def _kill_and_restart_mysql(env: dict[str, str]) -> None:
    pid = _pid(env["MEMSTORE_TEST_MYSQL_PIDFILE"])
    os.kill(pid, signal.SIGKILL)
    throwaway.wait(lambda: not _alive(pid), "mariadbd to die")
    mariadbd = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
    log = open(env["MEMSTORE_TEST_MYSQL_LOG"], "ab")  # noqa: SIM115 - owned by the daemon
    _restarted.append(subprocess.Popen(
        [mariadbd, f"--defaults-file={env['MEMSTORE_TEST_MYSQL_CNF']}"],
        stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True))
    ping = [shutil.which("mariadb-admin") or "mysqladmin",
            f"--defaults-file={env['MEMSTORE_TEST_MYSQL_CNF']}", "--connect-timeout=2", "ping"]
    throwaway.wait(lambda: subprocess.run(ping, capture_output=True).returncode == 0,
                   "mariadbd to accept connections", seconds=120)


ACTIVE_INSERT = {
    "postgres": "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                "AND query ILIKE '%%INSERT INTO conversation_messages%%' "
                "AND pid <> pg_backend_pid()",
    "mysql": "SELECT count(*) FROM information_schema.processlist WHERE command = 'Query' "
             "AND info LIKE '%%INSERT INTO conversation_messages%%' "
             "AND id <> connection_id()",
}


def _works_again(mem: memstore.Memory, chat_id: str) -> BaseException | None:
    """A Memory that sat idle through the restart: its first call may fail with
    BackendError (its connection was lost with the server), the next one must work.
    Returns what the first call raised."""
    first: BaseException | None = None
    try:
        mem.get_chat(chat_id)
    except memstore.BackendError as exc:
        first = exc
    mem.save_message(chat_id, "user", "after")
    assert [m.content for m in mem.get_messages(chat_id)] == ["before", "after"]
    return first


@pytest.mark.parametrize("dialect", ["postgres", "mysql"])
def test_server_killed_mid_batch(servers: dict[str, str], dialect: str) -> None:
    url = servers["MEMSTORE_TEST_POSTGRES_URL" if dialect == "postgres"
                  else "MEMSTORE_TEST_MYSQL_URL"]
    mem = memstore.connect(url)
    mem.init_schema()
    mem.save_message("crash", "user", "before")
    watcher = memstore.connect(url)
    # Idle through the crash: another Memory from the URL, and on PostgreSQL one on a
    # psycopg_pool.ConnectionPool whose every connection is open when the server dies.
    idle = {"url": memstore.connect(url)}
    pool = None
    if dialect == "postgres":
        from psycopg_pool import ConnectionPool

        pool = ConnectionPool(url, min_size=4, max_size=4, open=True)
        pool.wait()
        idle["pool"] = memstore.connect(pool)
    for name, m in idle.items():
        m.save_message(f"idle-{name}", "user", "before")
    outcome: list[BaseException | None] = []
    big = "y" * 2000

    def write() -> None:
        try:
            mem.save_messages("crash", [{"role": "user", "content": big}] * BATCH)
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    writer = threading.Thread(target=write)
    writer.start()

    def insert_running() -> bool:
        with watcher.adapter.reading() as (_, cur):  # type: ignore[attr-defined]
            cur.execute(ACTIVE_INSERT[dialect])
            return bool(cur.fetchone()[0]) or not writer.is_alive()

    throwaway.wait(insert_running, "the batch insert to be running")
    assert writer.is_alive(), "the batch finished before the kill; make BATCH larger"
    (_kill_and_restart_postgres if dialect == "postgres" else _kill_and_restart_mysql)(servers)
    writer.join(timeout=120)
    assert not writer.is_alive(), "the interrupted call hung"
    assert len(outcome) == 1 and isinstance(outcome[0], memstore.BackendError), outcome
    # says which backend, and keeps the driver's error (what was lost) as its cause
    assert str(outcome[0]).startswith(f"{dialect}: ") and outcome[0].__cause__ is not None
    watcher.close()

    # The same Memory works again, and the batch is all or nothing.
    got = mem.get_messages("crash", limit=10_000)
    assert len(got) in (1, 1 + BATCH), f"partial batch: {len(got)} messages"
    chat = mem.get_chat("crash")
    assert chat is not None and chat.message_count == len(got)
    mem.save_message("crash", "user", "after")
    assert mem.get_messages("crash", limit=1)[0].content == "after"
    mem.delete_chat("crash")
    mem.close()

    # The idle Memories recover by the second call.
    for name, m in idle.items():
        _works_again(m, f"idle-{name}")
        m.close()
    if pool is not None:
        pool.close()


# -- unreachable servers: a BackendError within the connect timeouts, never a hang ----


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a hung server."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(16)
        yield int(s.getsockname()[1])


@pytest.mark.parametrize("url", ["postgresql://u:p@127.0.0.1:{port}/db",
                                 "mysql://u:p@127.0.0.1:{port}/db",
                                 "http://127.0.0.1:{port}", "ws://127.0.0.1:{port}"])
def test_closed_port_fails_at_once(closed_port: int, url: str) -> None:
    started = time.monotonic()
    with pytest.raises(memstore.BackendError):
        memstore.connect(url.format(port=closed_port))
    assert time.monotonic() - started < 5


def test_silent_postgres_fails_after_the_default_connect_timeout(
        silent_port: int, monkeypatch: pytest.MonkeyPatch) -> None:
    from memstore.adapters.postgres import CONNECT_TIMEOUT

    monkeypatch.delenv("PGCONNECT_TIMEOUT", raising=False)
    started = time.monotonic()
    with pytest.raises(memstore.BackendError, match="timeout"):
        memstore.connect(f"postgresql://u:p@127.0.0.1:{silent_port}/db")
    assert CONNECT_TIMEOUT <= time.monotonic() - started < CONNECT_TIMEOUT + 5


def test_silent_mysql_fails_after_its_read_timeout(silent_port: int) -> None:
    # connect_timeout covers the TCP connect only; the server's greeting is a read, so a
    # server that accepts and then hangs is given up on after read_timeout (60 s by default).
    started = time.monotonic()
    with pytest.raises(memstore.BackendError, match="timed out"):
        memstore.connect(f"mysql://u:p@127.0.0.1:{silent_port}/db?read_timeout=2")
    assert 2 <= time.monotonic() - started < 7


@pytest.mark.parametrize("scheme", ["http", "ws"])
def test_silent_sqld_fails_after_the_request_timeout(silent_port: int, scheme: str) -> None:
    # libsql-client waits on a hung server for ever over WebSocket (300 s over HTTP);
    # memstore's own client gives every request ?timeout= seconds (30 by default), and
    # its thread does not outlive the failed connect.
    threads = threading.active_count()
    started = time.monotonic()
    with pytest.raises(memstore.BackendError, match="no answer from the server within 2 s"):
        memstore.connect(f"{scheme}://127.0.0.1:{silent_port}?timeout=2")
    assert 2 <= time.monotonic() - started < 7
    assert threading.active_count() == threads


@pytest.mark.parametrize("value", ["0", "-1", "soon", "inf", "nan", ""])
def test_a_bad_request_timeout_is_refused(value: str) -> None:
    with pytest.raises(memstore.ValidationError, match="timeout must be a positive number"):
        memstore.connect(f"http://127.0.0.1:1?timeout={value}")
