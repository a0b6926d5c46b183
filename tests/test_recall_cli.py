"""`memstore index` and `memstore search`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import memstore
from memstore import cli


def test_index_then_search_from_the_command_line(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    with memstore.connect(url) as mem:
        mem.init_schema()
        for i in range(1200):  # more than one page of the catch-up
            mem.save_message("c1", "user", f"note {i} about the billing deploy", user_id="u1")
        mem.save_message("c2", "user", "the billing deploy of someone else", user_id="u2")
    assert cli.main(["index", url, "--embed", "tests.recall_embedder:embed"]) == 0
    assert "removed 0 side rows" in capsys.readouterr().out
    db = sqlite3.connect(tmp_path / "agent.db")
    assert db.execute("SELECT COUNT(*) FROM memstore_search").fetchone() == (1201,)
    assert db.execute("SELECT DISTINCT model, dim FROM memstore_vectors").fetchall() == [
        ("word-hash-16", 16)]
    db.close()

    assert cli.main(["search", url, "note 1199", "--user", "u1", "--json", "--limit", "1"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    hit = json.loads(line)
    assert (hit["chat_id"], hit["text"]) == ("c1", "note 1199 about the billing deploy")
    assert cli.main(["search", url, "billing", "--user", "u1", "--mode", "hybrid",
                     "--embed", "tests.recall_embedder:embed", "--limit", "3"]) == 0
    out = capsys.readouterr().out
    assert out.count("\tc1\t") == 3 and "someone else" not in out
    assert cli.main(["search", url, "nothing-like-this", "--chat", "c1"]) == 1


@pytest.mark.parametrize(("argv", "message"), [
    (["search", "QUERY_URL", "x"], "user_id"),  # no scope
    (["index", "QUERY_URL", "--embed", "no_colon"], "MODULE:CALLABLE"),
    (["index", "QUERY_URL", "--embed", "tests.recall_embedder:missing"], "cannot load"),
    (["search", "QUERY_URL", "x", "--user", "u", "--mode", "semantic"], "embedder"),
])
def test_recall_commands_report_bad_input(tmp_path: Path, argv: list[str], message: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    memstore.connect(url).init_schema()
    assert cli.main([url if a == "QUERY_URL" else a for a in argv]) == 1
    assert message in capsys.readouterr().err


def test_doctor_reports_the_search_index_lag_and_orphans(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    with memstore.connect(url) as mem:
        mem.init_schema()
        for text in ("one", "two", "three"):
            mem.save_message("c1", "user", text, user_id="u1")
        assert tuple(mem.index_status()) == (3, 0)
        mem.search_messages("one", chat_id="c1")  # catches up the chat
        mem.save_message("c2", "user", "four", user_id="u1")
        mem.delete_chat("c1")
        assert mem.index_status() == (1, 3)
    assert cli.main(["doctor", url]) == 0
    assert "search index: 1 messages not indexed yet, 3 rows of deleted messages " \
           "(`memstore index URL` catches up)" in capsys.readouterr().out
    assert cli.main(["index", url]) == 0
    capsys.readouterr()
    assert cli.main(["doctor", url]) == 0
    assert "search index: 0 messages not indexed yet, 0 rows of deleted messages\n" \
        in capsys.readouterr().out


def test_search_output_escapes_control_characters(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'agent.db'}"
    with memstore.connect(url) as mem:
        mem.init_schema()
        mem.save_message("c\x1b]0;x\x07", "user", "deploy \x1b[2J\rnow", user_id="u1")
    assert cli.main(["search", url, "deploy", "--user", "u1"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\r" not in out and "deploy" in out
