"""One damaged row must not make a chat unreadable through the Agents SDK session or
PydanticAI (issue 26, finding 10): such a row reads as its visible text, an unknown role
as assistant, a UTF-8 BLOB as its text; a BLOB that is not text is one MemstoreError
naming the row."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic_ai.messages import ModelRequest, ModelResponse

import memstore
from memstore.integrations import pydantic_ai
from memstore.integrations.openai_agents import MemstoreSession
from tests.bad_rows import add_bad_blob, damaged_chat


@pytest.mark.asyncio
async def test_agents_session_reads_every_damaged_row(tmp_path: Path) -> None:
    url = damaged_chat(tmp_path)
    async with MemstoreSession("c", url) as session:
        assert await session.get_items() == [
            {"role": "user", "content": "hello"},
            {"role": "user", "content": "visible lc"},
            {"role": "user", "content": "visible li"},
            {"role": "assistant", "content": "visible pa"},
            {"role": "user", "content": "visible 5"},  # was the item 5 itself
            {"role": "assistant", "content": ""},  # was [1, 2]
            {"role": "assistant", "content": "from bogus"},  # was role "bogus" as is
            {"role": "user", "content": "blob text"},  # was bytes
        ]
        assert await session.pop_item() == {"role": "user", "content": "blob text"}
        assert await session.pop_item() == {"role": "assistant", "content": "from bogus"}
    bad = add_bad_blob(url)
    async with MemstoreSession("c", url) as session:
        with pytest.raises(memstore.MemstoreError, match=rf"message {bad} of chat 'c': its "
                           "content is a BLOB that is not UTF-8 text"):
            await session.get_items()


def test_pydantic_ai_reads_every_damaged_row(tmp_path: Path) -> None:
    url = damaged_chat(tmp_path)
    with memstore.connect(url) as mem:
        messages = pydantic_ai.load_messages_sync(mem, "c")
        texts = []
        for m in messages:
            assert isinstance(m, (ModelRequest, ModelResponse))
            texts += [(m.kind, getattr(p, "content", None)) for p in m.parts]
        assert ("request", "hello") in texts
        assert ("request", "visible lc") in texts
        assert ("response", "visible pa") in texts  # was a pydantic ValidationError
        assert ("response", "from bogus") in texts  # role "bogus" is assistant
        assert ("request", "blob text") in texts
        bad = add_bad_blob(url)
        with pytest.raises(memstore.MemstoreError, match=rf"message {bad} of chat 'c'"):
            pydantic_ai.load_messages_sync(mem, "c")
