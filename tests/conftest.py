from __future__ import annotations

import signal
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from tests.async_bridge import open_blocking
from tests.backends import BACKENDS, Backend


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture(params=["sync", "async"])
def api(request: pytest.FixtureRequest) -> str:
    """Which API a shared test goes through: Memory, or AsyncMemory awaited on a loop of
    its own (tests/async_bridge.py), with the same assertions."""
    return str(request.param)


@pytest.fixture
def mem(backend: Backend, api: str) -> Iterator[Any]:
    m: Any = backend.open(None) if api == "sync" else open_blocking(backend.open_async, None)
    try:
        yield m
    finally:
        m.close()


# -- per-backend test counts in the summary, so a skipped backend is visible ---------

_backend_of: dict[str, str] = {}
_outcomes: dict[str, Counter[str]] = defaultdict(Counter)


def _interrupted(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:
    """SIGTERM (a CI timeout, `kill`) ends the run as Ctrl-C does: fixtures are torn down
    and the atexit hooks drop the scratch folders, schemas and databases the run made.
    Python's default for SIGTERM is to die at once, leaving them behind."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _interrupted)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "backend" in callspec.params:
            name = callspec.params["backend"]
            _backend_of[item.nodeid] = name.name if isinstance(name, Backend) else str(name)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = _backend_of.get(report.nodeid)
    if name is None:
        return
    if report.when == "call" or (report.when == "setup" and not report.passed):
        _outcomes[name][report.outcome] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _outcomes:
        return
    terminalreporter.section("tests per backend")
    for name in sorted(_outcomes):
        counts = _outcomes[name]
        terminalreporter.write_line(
            f"{name:>8}: {counts['passed']} passed, {counts['failed']} failed, "
            f"{counts['skipped']} skipped")
