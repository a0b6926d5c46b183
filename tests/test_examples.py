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
