"""The `memstore` command: a few runs as a user would (a subprocess of this interpreter),
the rest in-process through ``main(argv)``."""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

import memstore
from memstore import cli, sqlfiles
from memstore.connect import DEFAULT_URL


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "memstore", *args],
                          capture_output=True, text=True, timeout=60)


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``memstore ARGV`` in this process: exit code, stdout, stderr."""
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:  # argparse: --help, --version, usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_schema_prints_the_bundled_file() -> None:
    out = run("schema", "sqlite")
    assert out.returncode == 0
    assert out.stdout == sqlfiles.schema_text("sqlite")
    assert run("schema", "turso").stdout == out.stdout
    bad = run("schema", "oracle")
    assert bad.returncode == 2 and "invalid choice: 'oracle'" in bad.stderr


@pytest.mark.parametrize("dialect", ["../sql/sqlite", "sqlite/../sqlite", "/etc/passwd",
                                     "../../sql/postgres"])
def test_schema_takes_only_dialect_names_not_paths(
        capsys: pytest.CaptureFixture[str], dialect: str) -> None:
    code, out, err = main(capsys, "schema", dialect)
    assert code == 2 and out == "" and "invalid choice" in err


def test_init_doctor_and_inspection_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    sqlite3.connect(tmp_path / "a.db").close()  # an existing database without the tables
    broken = run("doctor", url)
    assert broken.returncode == 1 and "memstore init" in broken.stdout
    assert run("init", url).returncode == 0
    assert run("doctor", url).stdout.strip() == (
        "memstore: schema OK (sqlite)\n"
        "memstore: search index: 0 messages not indexed yet, 0 rows of deleted messages")
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
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    sqlite3.connect(tmp_path / "empty.db").close()
    out = run("messages", url, "c")
    assert out.returncode == 1
    assert out.stderr.startswith("memstore: ") and "Traceback" not in out.stderr
    bad_limit = run("chats", url, "--limit", "0")
    assert bad_limit.returncode == 1 and bad_limit.stderr.startswith("memstore: limit: ")


@pytest.mark.parametrize("argv", [["doctor"], ["chats"], ["chats", "--limit", "5"],
                                  ["messages", "c"], ["memory", "--user", "u"]])
def test_a_missing_sqlite_file_is_reported_not_created(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str]) -> None:
    path = tmp_path / "typo" / "agnet.db"
    code, out, err = main(capsys, argv[0], f"sqlite:///{path}", *argv[1:])
    assert code == 1 and out == ""
    assert err.startswith("memstore: no SQLite database at ") and str(path) in err
    assert "memstore init" in err
    assert not path.exists() and not path.parent.exists()


def test_url_defaults_to_memstore_url_then_the_connect_default(
        capsys: pytest.CaptureFixture[str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MEMSTORE_URL", raising=False)
    assert DEFAULT_URL == "sqlite:///memstore.db"
    code, _, err = main(capsys, "doctor")  # the default file does not exist yet
    assert code == 1 and "memstore.db" in err
    assert not (tmp_path / "memstore.db").exists()
    assert main(capsys, "init")[0] == 0
    assert (tmp_path / "memstore.db").exists()
    assert main(capsys, "doctor")[:2] == (0, "memstore: schema OK (sqlite)\nmemstore: search "
                                          "index: 0 messages not indexed yet, 0 rows of "
                                          "deleted messages\n")

    monkeypatch.setenv("MEMSTORE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert main(capsys, "init")[0] == 0
    assert (tmp_path / "env.db").exists()
    with memstore.connect() as mem:  # the same $MEMSTORE_URL
        mem.save_message("trip", "user", "Plan Rome", user_id="u1")
    code, out, _ = main(capsys, "messages", "trip")  # the one positional is the chat
    assert code == 0 and "Plan Rome" in out
    code, out, _ = main(capsys, "chats", "--limit", "1")
    assert code == 0 and "trip\tu1\t" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(capsys, "--version") == (0, f"memstore {memstore.__version__}\n", "")
    assert run("--version").stdout == f"memstore {memstore.__version__}\n"


@pytest.mark.parametrize("command", [[], ["schema"], ["init"], ["doctor"], ["chats"],
                                     ["messages"], ["memory"]])
def test_help_is_plain_text(capsys: pytest.CaptureFixture[str], command: list[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps to the terminal width
    code, out, _ = main(capsys, *command, "--help")
    assert code == 0 and out.startswith("usage: memstore")
    # no reST / Sphinx markup: ``literal``, :func:`x`, `x`_
    assert not re.search(r"``|:\w+:`|`_", out), out


def test_chats_help_documents_every_option(capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    _, out, _ = main(capsys, "chats", "--help")
    assert re.search(r"--limit N\s+list at most N chats", out), out
    for option in ("--user", "--search"):
        assert re.search(rf"{option} \w+\s+\w", out), out
    assert "$MEMSTORE_URL" in out and DEFAULT_URL in out


def test_chats_and_messages_as_json_lines_and_paging_back(tmp_path: Path) -> None:
    """`--json`: one object a line, the export's field names and datetime form, content
    exact (a line break and U+2028 stay inside the line); `messages --before ID` pages
    back from the oldest id printed."""
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run("init", url).returncode == 0
    t = datetime(2026, 12, 1, 15, 29, 43, 535000, tzinfo=timezone.utc)
    with memstore.connect(url) as mem:
        saved = mem.save_messages("trip", [
            {"role": "user", "content": f"m{i}\nline two\u2028", "timestamp": t}
            for i in range(5)], user_id="u1")
        mem.update_chat_title("trip", "Rome ✈")
        chat = mem.get_chat("trip")
    assert chat is not None
    out = run("chats", url, "--json")
    assert out.returncode == 0
    lines = out.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [{
        "chat_id": "trip", "user_id": "u1", "title": "Rome ✈",
        "created_at": "2026-12-01T15:29:43.535Z",
        "updated_at": chat.updated_at.isoformat(timespec="milliseconds").replace(
            "+00:00", "Z"), "message_count": 5}]
    page = run("messages", url, "trip", "--json", "--limit", "2")
    got = [json.loads(line) for line in page.stdout.splitlines()]
    assert [m["id"] for m in got] == [m.id for m in saved[3:]]
    assert got[0] == {"chat_id": "trip", "id": saved[3].id, "user_id": "u1", "role": "user",
                      "content": "m3\nline two\u2028", "timestamp": "2026-12-01T15:29:43.535Z"}
    older = run("messages", url, "trip", "--json", "--limit", "2", "--before", str(got[0]["id"]))
    assert [json.loads(line)["id"] for line in older.stdout.splitlines()] \
        == [m.id for m in saved[1:3]]
    plain = run("messages", url, "trip", "--limit", "1", "--before", str(saved[1].id))
    assert f"#{saved[0].id} user (u1):\nm0" in plain.stdout
    missing = run("messages", url, "trip", "--before", "999999")
    assert missing.returncode == 1 and "before_id" in missing.stderr


HOSTILE = "\x1b]0;pwned\x07\x1b[2J\rX\x9b31m\u202etxt.exe\x7f"
CONTROL = [chr(c) for c in (*range(0x20), *range(0x7f, 0xa0), 0x202e)]


def test_human_output_escapes_control_characters_of_stored_text(tmp_path: Path) -> None:
    # Was printed raw: an escape sequence in a title or message could retitle, clear or
    # rewrite the operator's terminal.
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert run("init", url).returncode == 0
    with memstore.connect(url) as mem:
        mem.save_message(f"c{HOSTILE}", "user", f"line one\n{HOSTILE}",
                         user_id=f"u{HOSTILE}")
        mem.update_chat_title(f"c{HOSTILE}", f"title {HOSTILE}")
        mem.update_working_memory(scope="chat", chat_id="c", content=f"# facts\n{HOSTILE}")
    escaped = "\\x1b]0;pwned\\x07\\x1b[2J\\rX\\x9b31m\\u202etxt.exe\\x7f"
    chats = run("chats", url)
    assert chats.returncode == 0
    line = chats.stdout.splitlines()[1]
    assert line.startswith(f"c{escaped}\tu{escaped}\t") and line.endswith(f"title {escaped}")
    messages = run("messages", url, f"c{HOSTILE}")
    assert messages.returncode == 0
    assert f"user (u{escaped}):\nline one\n{escaped}\n" in messages.stdout
    memory = run("memory", url, "--chat", "c")
    assert memory.returncode == 0 and f"# facts\n{escaped}\n" in memory.stdout
    for out in (chats.stdout, messages.stdout, memory.stdout):
        assert not any(c in out for c in CONTROL if c not in "\t\n"), out
    # --json stays exact
    got = json.loads(run("messages", url, f"c{HOSTILE}", "--json").stdout)
    assert got["content"] == f"line one\n{HOSTILE}"
