"""The README's examples run as written."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from examples import fastapi_app


def test_fastapi_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEMSTORE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    with TestClient(fastapi_app.app) as client:
        posted = client.post("/chats/trip/messages", json={"user_id": "u1", "text": "Rome?"})
        assert posted.status_code == 200 and len(posted.json()["ids"]) == 2
        got = client.get("/chats/trip/messages").json()
    assert got == [{"role": "user", "content": "Rome?"},
                   {"role": "assistant", "content": "You said: Rome?"}]


def test_fastapi_example_answers_bad_input_with_4xx(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # memstore's ValidationError / NotFoundError are the client's errors, not a 500
    monkeypatch.setenv("MEMSTORE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    with TestClient(fastapi_app.app, raise_server_exceptions=False) as client:
        too_long = client.post("/chats/" + "c" * 256 + "/messages",
                               json={"user_id": "u1", "text": "Rome?"})
        assert too_long.status_code == 422, too_long.text
        assert too_long.json()["field"] == "chat_id"
        empty_user = client.post("/chats/trip/messages", json={"user_id": "", "text": "x"})
        assert empty_user.status_code == 422 and empty_user.json()["field"] == "user_id"
        bad_limit = client.get("/chats/trip/messages", params={"limit": 0})
        assert bad_limit.status_code == 422 and bad_limit.json()["field"] == "limit"


SCRIPTS = sorted(p for p in (Path(__file__).parent.parent / "examples").glob("*.py")
                 if p.name not in ("__init__.py", "fastapi_app.py"))


@pytest.mark.parametrize("script", SCRIPTS, ids=[p.name for p in SCRIPTS])
def test_example_script_runs_offline(script: Path, tmp_path: Path) -> None:
    """Each example runs as `python examples/NAME.py` from a fresh directory, offline
    (the docs show these files; .ci/run runs some against the built wheel)."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MEMSTORE_", "OPENAI_"))}
    env.update(OPENAI_AGENTS_DISABLE_TRACING="1", HTTPS_PROXY="http://127.0.0.1:9",
               HTTP_PROXY="http://127.0.0.1:9")
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip(), "an example prints what it did"
