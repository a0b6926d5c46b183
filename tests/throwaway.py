"""Throwaway servers for the crash tests: started by the same scripts CI uses, in a
temporary directory, so that killing them never disturbs the servers other tests use."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.backends import IN_CI

ROOT = Path(__file__).resolve().parent.parent


def start(script: str, state: Path) -> dict[str, str]:
    """Run ``.ci/<script> start STATE``; the settings it exports. Fails in CI, else skips,
    when the servers cannot be started."""
    started = subprocess.run(["bash", str(ROOT / ".ci" / script), "start", str(state)],
                             capture_output=True, text=True, timeout=600)
    if started.returncode != 0:
        message = f"could not start throwaway servers ({script}): {started.stderr[-2000:]}"
        if IN_CI:
            pytest.fail(message, pytrace=False)
        pytest.skip(message + " (needs what `make services` installs)")
    env = {}
    for line in started.stdout.splitlines():
        key, _, value = line.removeprefix("export ").partition("=")
        env[key] = value
    return env


def stop(script: str, state: Path) -> None:
    subprocess.run(["bash", str(ROOT / ".ci" / script), "stop", str(state)],
                   capture_output=True, timeout=300)


def wait(predicate: Callable[[], object], what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.005)
    raise AssertionError(f"timed out waiting for {what}")
