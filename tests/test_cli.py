"""The `memstore` command, run as a user would: a subprocess of this interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import memstore
from memstore import sqlfiles


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "memstore", *args],
                          capture_output=True, text=True, timeout=60)


def test_schema_prints_the_bundled_file() -> None:
    out = run("schema", "sqlite")
    assert out.returncode == 0
    assert out.stdout == sqlfiles.schema_text("sqlite")
    assert run("schema", "turso").stdout == out.stdout
    bad = run("schema", "oracle")
    assert bad.returncode == 2 and "unknown dialect" in bad.stderr


def test_init_doctor_and_inspection_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    broken = run("doctor", url)
    assert broken.returncode == 1 and "memstore init" in broken.stdout
    assert run("init", url).returncode == 0
    assert run("doctor", url).stdout.strip() == "memstore: schema OK (sqlite)"
    with memstore.connect(url) as mem:
        mem.save_message("trip", "user", "Plan Rome", user_id="u1")
        mem.update_chat_title("trip", "Rome")
        mem.update_working_memory(scope="user", user_id="u1", content="# likes Rome")
    chats = run("chats", url, "--user", "u1")
    assert chats.returncode == 0 and "trip\tu1\t" in chats.stdout and "Rome" in chats.stdout
    messages = run("messages", url, "trip")
    assert "user (u1):\nPlan Rome" in messages.stdout
    memory = run("memory", url, "--user", "u1")
    assert "# likes Rome" in memory.stdout
    assert run("memory", url, "--chat", "nope").returncode == 1


def test_errors_are_one_line_not_a_traceback(tmp_path: Path) -> None:
    out = run("messages", f"sqlite:///{tmp_path / 'empty.db'}", "c")
    assert out.returncode == 1
    assert out.stderr.startswith("memstore: ") and "Traceback" not in out.stderr
