"""MemstoreChatMessageHistory: exact round trips, the row format, windows, clear, and
which store each kind of call uses."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    FunctionMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)

import memstore
from memstore.integrations import codec
from memstore.integrations.langchain import (
    MemstoreChatMessageHistory,
    message_to_row,
    row_to_message,
)
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async


def every_message() -> list[BaseMessage]:
    """One of each message type, with content blocks, tool calls, artifacts, ids, names,
    metadata and non-ASCII text."""
    return [
        SystemMessage("You are terse. 日本語", id="s1", additional_kwargs={"k": [1, 2]}),
        HumanMessage(content=[{"type": "text", "text": "What is this?"},
                              {"type": "image", "url": "https://example.com/a.png"},
                              {"type": "image_url",
                               "image_url": {"url": "data:image/png;base64,AAAA"}}],
                     id="h1", name="alice"),
        AIMessage(content=[{"type": "text", "text": "Looking"},
                           {"type": "reasoning", "reasoning": "hmm"}],
                  tool_calls=[{"name": "lookup", "args": {"q": "png", "n": 2}, "id": "call_1"}],
                  invalid_tool_calls=[{"name": "bad", "args": "{not json", "id": "call_2",
                                       "error": "parse"}],
                  usage_metadata={"input_tokens": 3, "output_tokens": 4, "total_tokens": 7},
                  response_metadata={"model_name": "fake", "finish_reason": "tool_calls"},
                  id="a1"),
        AIMessage(content="", tool_calls=[{"name": "lookup", "args": {}, "id": "call_3"}]),
        ToolMessage(content="a picture", tool_call_id="call_1", artifact={"bytes": [1, 2, 3]},
                    status="success", name="lookup", id="t1"),
        ToolMessage(content=[{"type": "text", "text": "err"}], tool_call_id="call_3",
                    status="error"),
        FunctionMessage(name="legacy_fn", content="42"),
        ChatMessage(role="critic", content="meh"),
        AIMessageChunk(content="partial", id="c1"),
        AIMessage(content="The answer.", id="a2"),
        HumanMessage(""),
    ]


def test_every_message_type_round_trips_exactly(memory: memstore.Memory) -> None:
    history = MemstoreChatMessageHistory(memory, "c1")
    sent = every_message()
    history.add_messages(sent)
    got = history.messages
    assert got == sent
    assert [type(m) for m in got] == [type(m) for m in sent]


def test_every_message_type_round_trips_exactly_async(backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> list[BaseMessage]:
        history = MemstoreChatMessageHistory(amem, "c1")
        await history.aadd_messages(every_message())
        return await history.aget_messages()

    assert run_async(backend, body) == every_message()


def test_rows_are_ui_messages_a_ts_app_reads(memory: memstore.Memory) -> None:
    MemstoreChatMessageHistory(memory, "c1", user_id="u1").add_messages(every_message())
    rows = memory.get_messages("c1", limit=None)
    seen = [(r.role, json.loads(r.content)["parts"]) for r in rows]
    assert seen == [
        ("system", [{"type": "text", "text": "You are terse. 日本語"}]),
        ("user", [{"type": "text", "text": "What is this?"}]),
        ("assistant", [{"type": "text", "text": "Looking"}]),
        ("assistant", []),  # tool calls only: hidden from the TS app
        ("assistant", []),  # tool results: hidden
        ("assistant", []),
        ("assistant", []),  # function result
        ("assistant", [{"type": "text", "text": "meh"}]),
        ("assistant", [{"type": "text", "text": "partial"}]),
        ("assistant", [{"type": "text", "text": "The answer."}]),
        ("user", [{"type": "text", "text": ""}]),
    ]
    assert json.loads(rows[0].content)["id"] == "s1"  # the message id is the UIMessage id
    assert {r.user_id for r in rows} == {"u1"}
    assert memory.get_chat("c1").message_count == 11  # type: ignore[union-attr]


def test_rows_written_by_others_decode_by_role(memory: memstore.Memory) -> None:
    memory.save_messages("c1", [
        {"role": "user", "content": codec.ui_message("user", "from TS")},
        {"role": "assistant", "content": json.dumps(
            {"id": "x", "role": "assistant", "parts": [{"type": "text", "text": "a"},
                                                       {"type": "text", "text": "b"}]})},
        {"role": "assistant", "content": json.dumps(  # TS tool-only message: nothing to show
            {"id": "y", "role": "assistant", "parts": [{"type": "tool-x", "state": "done"}]})},
        {"role": "assistant", "content": codec.encode(
            "openai-agents", {"type": "function_call", "name": "f"}, role="assistant",
            text=None)},
        {"role": "assistant", "content": codec.encode(
            "openai-agents", {"role": "assistant", "content": "hello"}, role="assistant",
            text="hello")},
        {"role": "system", "content": "plain system text"},
        {"role": "user", "content": "{not a UIMessage"},
    ])
    assert MemstoreChatMessageHistory(memory, "c1").messages == [
        HumanMessage("from TS"), AIMessage("a\nb"), AIMessage("hello"),
        SystemMessage("plain system text"), HumanMessage("{not a UIMessage"),
    ]


def test_window_keeps_the_newest_in_order(memory: memstore.Memory) -> None:
    full = MemstoreChatMessageHistory(memory, "c1")
    full.add_messages([HumanMessage(f"m{i}") for i in range(7)])
    window = MemstoreChatMessageHistory(memory, "c1", limit=3)
    assert [m.content for m in window.messages] == ["m4", "m5", "m6"]
    assert len(full.messages) == 7


def test_add_messages_is_one_transaction(memory: memstore.Memory) -> None:
    history = MemstoreChatMessageHistory(memory, "c1")
    history.add_messages([HumanMessage("kept")])
    calls = []
    real = memory.save_messages

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    memory.save_messages = spy  # type: ignore[method-assign]
    history.add_messages([HumanMessage("a"), AIMessage("b"), HumanMessage("c")])
    assert len(calls) == 1 and len(calls[0][1]) == 3  # type: ignore[arg-type]
    # A batch memstore refuses (here one message over the size limit) stores nothing.
    with pytest.raises(memstore.ValidationError):
        history.add_messages([HumanMessage("ok"), HumanMessage("x" * (9 * 1024 * 1024))])
    assert [m.content for m in history.messages] == ["kept", "a", "b", "c"]
    history.add_messages([])  # nothing to do, no error
    assert len(calls) == 2


def test_clear_keeps_the_chat_row_and_working_memory(memory: memstore.Memory) -> None:
    history = MemstoreChatMessageHistory(memory, "c1", user_id="u1")
    history.add_messages([HumanMessage("hi"), AIMessage("hello")])
    memory.update_chat_title("c1", "Greeting")
    memory.update_working_memory(scope="chat", chat_id="c1", content="# notes")
    history.clear()
    assert history.messages == []
    chat = memory.get_chat("c1")
    assert chat is not None and chat.title == "Greeting" and chat.user_id == "u1"
    assert chat.message_count == 0
    assert memory.get_working_memory(scope="chat", chat_id="c1") is not None


def test_user_id_owns_and_filters(memory: memstore.Memory) -> None:
    MemstoreChatMessageHistory(memory, "c1", user_id="u1").add_messages([HumanMessage("a")])
    MemstoreChatMessageHistory(memory, "c1", user_id="u2").add_messages([HumanMessage("b")])
    assert [m.content for m in MemstoreChatMessageHistory(memory, "c1", user_id="u1").messages] \
        == ["a"]
    assert [m.content for m in MemstoreChatMessageHistory(memory, "c1").messages] == ["a", "b"]


def test_sync_and_async_calls_share_one_chat(backend: Backend, tmp_path: Path) -> None:
    # The Memory and the AsyncMemory must be on one database: the SQLite backend opens a
    # new file each time, so SQLite uses one file URL for both here.
    url = f"sqlite:///{tmp_path / 'pair.db'}" if backend.name == "sqlite" else None
    mem = memstore.connect(url) if url else backend.open(None)
    if url:
        mem.init_schema()
    try:
        async def body(amem: memstore.AsyncMemory) -> list[BaseMessage]:
            if url:
                amem = await memstore.connect_async(url)
            history = MemstoreChatMessageHistory(mem, "c1", amemory=amem)
            history.add_messages([HumanMessage("sync")])
            await history.aadd_messages([AIMessage("async")])
            assert [m.content for m in history.messages] == ["sync", "async"]
            await history.aclear()
            assert history.messages == []
            history.add_messages([HumanMessage("again")])
            try:
                return await history.aget_messages()
            finally:
                if url:
                    await amem.aclose()

        assert run_async(backend, body) == [HumanMessage("again")]
    finally:
        mem.close()


def test_one_kind_of_store_refuses_the_other_kind_of_call(memory: memstore.Memory) -> None:
    history = MemstoreChatMessageHistory(memory, "c1")
    with pytest.raises(memstore.MemstoreError, match="amemory="):
        asyncio.run(history.aget_messages())
    with pytest.raises(memstore.MemstoreError, match="amemory="):
        asyncio.run(history.aadd_messages([HumanMessage("x")]))

    async def async_only() -> None:
        amem = await memstore.connect_async("memory://")
        h = MemstoreChatMessageHistory(amem, "c1")
        await h.aadd_messages([HumanMessage("x")])
        with pytest.raises(memstore.MemstoreError, match="sync call"):
            _ = h.messages
        with pytest.raises(memstore.MemstoreError, match="sync call"):
            h.clear()
        await amem.aclose()

    asyncio.run(async_only())


def test_a_url_opens_each_kind_on_first_use(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'lc.db'}"
    history = MemstoreChatMessageHistory(url, "c1")
    history.add_messages([HumanMessage("sync")])  # opens a Memory, creates the tables

    async def body() -> list[BaseMessage]:
        await history.aadd_messages([AIMessage("async")])  # opens an AsyncMemory
        try:
            return await history.aget_messages()
        finally:
            await history.aclose()

    assert [m.content for m in asyncio.run(body())] == ["sync", "async"]
    with memstore.connect(url) as mem:
        assert mem.count_messages("c1") == 2


def test_bad_arguments() -> None:
    mem = memstore.connect("memory://")
    with pytest.raises(memstore.ValidationError, match="limit"):
        MemstoreChatMessageHistory(mem, "c1", limit=0)
    with pytest.raises(memstore.ValidationError, match="memory"):
        MemstoreChatMessageHistory(object(), "c1")  # type: ignore[arg-type]
    with pytest.raises(memstore.ValidationError, match="messages"):
        message_to_row("hi")  # type: ignore[arg-type]
    assert row_to_message("assistant", codec.encode("other", {}, role="assistant",
                                                     text=None)) is None


def test_closed_objects_from_a_url_do_not_reopen(tmp_path: Path) -> None:
    # close() used to drop the Memory and the next call silently opened a new one.
    from memstore.integrations.langchain import MemstoreMiddleware

    url = f"sqlite:///{tmp_path / 'lc.db'}"
    history = MemstoreChatMessageHistory(url, "c1")
    history.add_messages([HumanMessage("before")])
    history.close()
    history.close()  # twice is fine
    for call in (lambda: history.messages, lambda: history.add_messages([HumanMessage("x")]),
                 history.clear):
        with pytest.raises(memstore.ClosedError) as info:
            call()
        assert str(info.value) == ("this MemstoreChatMessageHistory is closed; "
                                   "create a new MemstoreChatMessageHistory")

    async def after_close() -> None:
        with pytest.raises(memstore.ClosedError):
            await history.aget_messages()
        await history.aclose()  # still fine

    asyncio.run(after_close())

    async def after_aclose() -> None:
        again = MemstoreChatMessageHistory(url, "c1")
        assert [m.content for m in await again.aget_messages()] == ["before"]
        await again.aclose()
        with pytest.raises(memstore.ClosedError):
            await again.aadd_messages([HumanMessage("x")])
        with pytest.raises(memstore.ClosedError):
            again.add_messages([HumanMessage("x")])

    asyncio.run(after_aclose())
    middleware = MemstoreMiddleware(url)
    middleware.close()
    with pytest.raises(memstore.ClosedError, match="this MemstoreMiddleware is closed"):
        middleware._stores.sync()
    with memstore.connect(url) as mem:
        assert mem.count_messages("c1") == 1


def test_a_deeply_nested_text_row_reads_as_text() -> None:
    # Was a raw RecursionError: the whole chat unreadable.
    deep_text = '{"q":' + "[" * 1000 + "]" * 1000 + "}"
    mem = memstore.connect("memory://")
    mem.save_message("c", "user", deep_text)
    mem.save_message("c", "assistant", "after")
    assert [(type(m), m.content) for m in MemstoreChatMessageHistory(mem, "c").messages] == [
        (HumanMessage, deep_text), (AIMessage, "after")]
