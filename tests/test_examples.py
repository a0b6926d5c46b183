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
