"""One damaged row must not make a chat unreadable through LangChain or LlamaIndex
(issue 26, finding 10): such a row reads as its visible text, an unknown role as
assistant, a UTF-8 BLOB as its text; a BLOB that is not text is one MemstoreError naming
the row."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from llama_index.core.base.llms.types import MessageRole

import memstore
from memstore.integrations.langchain import MemstoreChatMessageHistory
from memstore.integrations.llama_index import MemstoreAsyncDBChatStore, MemstoreChatStore
from tests.bad_rows import add_bad_blob, damaged_chat


def test_langchain_history_reads_every_damaged_row(tmp_path: Path) -> None:
    url = damaged_chat(tmp_path)
    with memstore.connect(url) as mem:
        got = [(type(m), m.content) for m in MemstoreChatMessageHistory(mem, "c").messages]
        assert got == [
            (HumanMessage, "hello"),
            (HumanMessage, "visible lc"),  # was KeyError: 'data'
            (HumanMessage, "visible li"),
            (AIMessage, "visible pa"),
            (HumanMessage, "visible 5"),
            # [1, 2]: an assistant row with no visible text is skipped
            (AIMessage, "from bogus"),
            (HumanMessage, "blob text"),  # was bytes
        ]
        bad = add_bad_blob(url)
        with pytest.raises(memstore.MemstoreError, match=rf"message {bad} of chat 'c'"):
            _ = MemstoreChatMessageHistory(mem, "c").messages


def test_llama_index_stores_read_every_damaged_row(tmp_path: Path) -> None:
    url = damaged_chat(tmp_path)
    expected = [
        (MessageRole.USER, "hello"),
        (MessageRole.USER, "visible lc"),
        (MessageRole.USER, "visible li"),  # was a pydantic ValidationError
        (MessageRole.ASSISTANT, "visible pa"),
        (MessageRole.USER, "visible 5"),
        (MessageRole.ASSISTANT, ""),
        (MessageRole.ASSISTANT, "from bogus"),  # was ValueError: 'bogus'
        (MessageRole.USER, "blob text"),
    ]
    with memstore.connect(url) as mem:
        store = MemstoreChatStore(mem)
        assert [(m.role, m.content) for m in store.get_messages("c")] == expected
        last = store.delete_last_message("c")
        assert last is not None and (last.role, last.content) == expected[-1]

    async def main() -> None:
        db = MemstoreAsyncDBChatStore(url)
        try:
            got = await db.get_messages("c")
            assert [(m.role, m.content) for m in got] == expected[:-1]
            bad = add_bad_blob(url)
            with pytest.raises(memstore.MemstoreError, match=rf"message {bad} of chat 'c'"):
                await db.get_messages("c")
        finally:
            await db.aclose()

    asyncio.run(main())
