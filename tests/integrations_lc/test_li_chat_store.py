"""MemstoreChatStore: exact round trips of every block type, the row format, positions,
atomic replace, async twins, and ChatMemoryBuffer over it."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from llama_index.core.base.llms.types import (
    AudioBlock,
    CacheControl,
    CachePoint,
    ChatMessage,
    CitableBlock,
    CitationBlock,
    DocumentBlock,
    ImageBlock,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
    VideoBlock,
)
from llama_index.core.memory import ChatMemoryBuffer

import memstore
from memstore.integrations import codec
from memstore.integrations.llama_index import MemstoreChatStore
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async


def every_message() -> list[ChatMessage]:
    """Every role and every content block type, with additional_kwargs and bytes."""
    return [
        ChatMessage(role=MessageRole.SYSTEM, content="Be brief. 日本語"),
        ChatMessage(role=MessageRole.DEVELOPER, content="dev note"),
        ChatMessage(role=MessageRole.USER, blocks=[
            TextBlock(text="Look:"),
            ImageBlock(url="https://example.com/a.png", detail="low"),
            ImageBlock(image=b"\x89PNG\r\n", image_mimetype="image/png"),
            AudioBlock(audio=b"ID3", format="mp3"),
            VideoBlock(url="https://example.com/v.mp4"),
            DocumentBlock(data=b"%PDF-1.4", document_mimetype="application/pdf",
                          title="doc"),
            CachePoint(cache_control=CacheControl(type="ephemeral", ttl="5m")),
        ], additional_kwargs={"name": "alice", "nested": {"n": [1, 2.5, None]}}),
        ChatMessage(role=MessageRole.ASSISTANT, blocks=[
            ThinkingBlock(content="hmm", additional_information={"sig": "x"}),
            ToolCallBlock(tool_call_id="call_1", tool_name="lookup",
                          tool_kwargs={"q": "png"}),
        ]),
        ChatMessage(role=MessageRole.TOOL, content="a picture",
                    additional_kwargs={"tool_call_id": "call_1"}),
        ChatMessage(role=MessageRole.ASSISTANT, blocks=[
            CitableBlock(content=[TextBlock(text="quoted")], title="src",
                         source="https://example.com"),
            CitationBlock(cited_content=TextBlock(text="cited"), source="s", title="t",
                          additional_location_info={"page": 3}),
            TextBlock(text="The answer."),
        ]),
        ChatMessage(role=MessageRole.FUNCTION, content="42"),
        ChatMessage(role=MessageRole.CHATBOT, content="cohere says"),
        ChatMessage(role=MessageRole.MODEL, content="gemini says"),
        ChatMessage(role=MessageRole.USER, content=""),
    ]


def test_every_block_type_round_trips_exactly(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory)
    sent = every_message()
    store.set_messages("c1", sent)
    assert store.get_messages("c1") == sent
    store.add_message("c2", sent[2])
    assert store.get_messages("c2") == [sent[2]]


def test_every_block_type_round_trips_exactly_async(backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> list[ChatMessage]:
        store = MemstoreChatStore(amem)
        await store.aset_messages("c1", every_message()[:3])
        for m in every_message()[3:]:
            await store.async_add_message("c1", m)
        return await store.aget_messages("c1")

    assert run_async(backend, body) == every_message()


def test_rows_are_ui_messages_a_ts_app_reads(memory: memstore.Memory) -> None:
    MemstoreChatStore(memory, user_id="u1").set_messages("c1", every_message())
    rows = memory.get_messages("c1", limit=None)
    assert [(r.role, json.loads(r.content)["parts"]) for r in rows] == [
        ("system", [{"type": "text", "text": "Be brief. 日本語"}]),
        ("system", [{"type": "text", "text": "dev note"}]),
        ("user", [{"type": "text", "text": "Look:"}]),
        ("assistant", []),  # thinking + tool call: hidden
        ("assistant", []),  # tool result: hidden
        ("assistant", [{"type": "text", "text": "The answer."}]),
        ("assistant", []),  # function result: hidden
        ("assistant", [{"type": "text", "text": "cohere says"}]),
        ("assistant", [{"type": "text", "text": "gemini says"}]),
        ("user", [{"type": "text", "text": ""}]),
    ]
    assert {r.user_id for r in rows} == {"u1"}


def test_rows_written_by_others_keep_their_position(memory: memstore.Memory) -> None:
    memory.save_messages("c1", [
        {"role": "user", "content": codec.ui_message("user", "from TS")},
        {"role": "assistant", "content": json.dumps(
            {"id": "y", "role": "assistant", "parts": [{"type": "tool-x"}]})},
        {"role": "system", "content": "plain"},
    ])
    store = MemstoreChatStore(memory)
    assert store.get_messages("c1") == [
        ChatMessage(role="user", content="from TS"),
        ChatMessage(role="assistant", content=""),
        ChatMessage(role="system", content="plain"),
    ]
    assert store.delete_message("c1", 1) == ChatMessage(role="assistant", content="")
    assert [m.content for m in store.get_messages("c1")] == ["from TS", "plain"]


def texts(store: MemstoreChatStore, key: str = "c1") -> list[str | None]:
    return [m.content for m in store.get_messages(key)]


def test_positions_follow_python_lists(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory)
    store.set_messages("c1", [ChatMessage(content=t) for t in "abcde"])
    assert store.delete_message("c1", -1) == ChatMessage(content="e")
    assert store.delete_message("c1", 1) == ChatMessage(content="b")
    assert store.delete_message("c1", 3) is None
    assert store.delete_message("c1", -4) is None
    assert store.delete_message("nochat", 0) is None
    assert texts(store) == ["a", "c", "d"]
    store.add_message("c1", ChatMessage(content="x"), idx=-1)  # list.insert(-1, x)
    store.add_message("c1", ChatMessage(content="y"), idx=0)
    store.add_message("c1", ChatMessage(content="z"), idx=99)  # past the end: appended
    store.add_message("c1", ChatMessage(content="w"), idx=-99)  # before the start
    assert texts(store) == ["w", "y", "a", "c", "x", "d", "z"]
    with pytest.raises(memstore.ValidationError, match="idx"):
        store.delete_message("c1", "0")  # type: ignore[arg-type]


def test_insert_keeps_the_timestamps(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory)
    store.set_messages("c1", [ChatMessage(content=t) for t in "abc"])
    before = [r.timestamp for r in memory.get_messages("c1")]
    store.add_message("c1", ChatMessage(content="new"), idx=1)
    after = [r.timestamp for r in memory.get_messages("c1")]
    assert after == [before[0], before[1], before[1], before[2]]
    assert texts(store) == ["a", "new", "b", "c"]


def test_set_messages_is_one_replace(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory, user_id="u1")
    store.set_messages("c1", [ChatMessage(content="old")])
    memory.update_chat_title("c1", "Kept")
    calls = []
    real = memory.replace_messages

    def spy(*args: object, **kwargs: object) -> object:
        calls.append(args)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    memory.replace_messages = spy  # type: ignore[method-assign]
    store.set_messages("c1", [ChatMessage(content="n1"), ChatMessage(content="n2")])
    assert len(calls) == 1
    assert texts(store) == ["n1", "n2"]
    # A list memstore refuses leaves the old messages.
    with pytest.raises(memstore.ValidationError):
        store.set_messages("c1", [ChatMessage(content="x" * (9 * 1024 * 1024))])
    assert texts(store) == ["n1", "n2"]
    store.set_messages("c1", [])
    assert store.get_messages("c1") == []
    chat = memory.get_chat("c1")
    assert chat is not None and chat.title == "Kept" and chat.message_count == 0


def test_delete_messages_returns_them_and_keeps_the_chat_row(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory)
    assert store.delete_messages("c1") is None
    store.set_messages("c1", [ChatMessage(content="a"), ChatMessage(content="b")])
    memory.update_chat_title("c1", "T")
    assert store.delete_messages("c1") == [ChatMessage(content="a"), ChatMessage(content="b")]
    assert store.get_keys() == []
    assert memory.get_chat("c1") is not None


def test_keys_and_user_scope(memory: memstore.Memory) -> None:
    MemstoreChatStore(memory, user_id="u1").add_message("b", ChatMessage(content="1"))
    MemstoreChatStore(memory, user_id="u2").add_message("a", ChatMessage(content="2"))
    assert MemstoreChatStore(memory).get_keys() == ["a", "b"]
    assert MemstoreChatStore(memory, user_id="u1").get_keys() == ["b"]


def test_async_twins(backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> None:
        store = MemstoreChatStore(amem)
        await store.aset_messages("c1", [ChatMessage(content=t) for t in "abcd"])
        await store.async_add_message("c1", ChatMessage(content="x"), idx=1)
        assert [m.content for m in await store.aget_messages("c1")] == \
            ["a", "x", "b", "c", "d"]
        assert await store.adelete_message("c1", -2) == ChatMessage(content="c")
        assert await store.adelete_message("c1", 9) is None
        assert await store.adelete_last_message("c1") == ChatMessage(content="d")
        assert await store.aget_keys() == ["c1"]
        assert await store.adelete_messages("c1") == \
            [ChatMessage(content=t) for t in "axb"]
        assert await store.adelete_messages("c1") is None
        assert await store.adelete_last_message("c1") is None
        assert await store.aget_keys() == []

    run_async(backend, body)


def test_chat_memory_buffer_over_it(memory: memstore.Memory) -> None:
    store = MemstoreChatStore(memory)
    buffer = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="c1",
                                            token_limit=10_000)
    buffer.put(ChatMessage(role="user", content="hi"))
    buffer.put(ChatMessage(role="assistant", content="hello"))
    again = ChatMemoryBuffer.from_defaults(chat_store=MemstoreChatStore(memory),
                                           chat_store_key="c1")
    assert [m.content for m in again.get()] == ["hi", "hello"]
    assert memory.count_messages("c1") == 2


def test_one_kind_of_store_refuses_the_other_kind_of_call(tmp_path: Path) -> None:
    mem = memstore.connect("memory://")
    with pytest.raises(memstore.MemstoreError, match="amemory="):
        asyncio.run(MemstoreChatStore(mem).aget_messages("c1"))

    async def from_url() -> list[ChatMessage]:
        store = MemstoreChatStore(f"sqlite:///{tmp_path / 'li.db'}")
        store.add_message("c1", ChatMessage(content="sync"))  # opens a Memory
        await store.async_add_message("c1", ChatMessage(content="async"))  # an AsyncMemory
        try:
            return await store.aget_messages("c1")
        finally:
            await store.aclose()

    assert [m.content for m in asyncio.run(from_url())] == ["sync", "async"]

    async def async_only() -> None:
        amem = await memstore.connect_async("memory://")
        with pytest.raises(memstore.MemstoreError, match="sync call"):
            MemstoreChatStore(amem).get_keys()
        await amem.aclose()

    asyncio.run(async_only())


def test_closed_stores_from_a_url_do_not_reopen(tmp_path: Path) -> None:
    # close() used to drop the Memory and the next call silently opened a new one.
    from memstore.integrations.llama_index import (
        MemstoreAsyncDBChatStore,
        MemstoreWorkingMemoryBlock,
    )

    url = f"sqlite:///{tmp_path / 'li.db'}"
    store = MemstoreChatStore(url)
    store.add_message("c1", ChatMessage(content="before"))
    store.close()
    store.close()
    for call in (lambda: store.get_messages("c1"), store.get_keys,
                 lambda: store.add_message("c1", ChatMessage(content="x"))):
        with pytest.raises(memstore.ClosedError) as info:
            call()
        assert str(info.value) == ("this MemstoreChatStore is closed; "
                                   "create a new MemstoreChatStore")

    async def after_aclose() -> None:
        with pytest.raises(memstore.ClosedError):
            await store.aget_messages("c1")
        db = MemstoreAsyncDBChatStore(url)
        assert [m.content for m in await db.get_messages("c1")] == ["before"]
        await db.aclose()
        with pytest.raises(memstore.ClosedError, match="MemstoreAsyncDBChatStore is closed"):
            await db.get_messages("c1")
        block = MemstoreWorkingMemoryBlock(url)
        await block.aclose()
        with pytest.raises(memstore.ClosedError, match="MemstoreWorkingMemoryBlock is closed"):
            await block._aget(session_id="c1")

    asyncio.run(after_aclose())
    with memstore.connect(url) as mem:
        assert mem.count_messages("c1") == 1


def test_a_deeply_nested_text_row_reads_as_text() -> None:
    # Was a raw RecursionError: the whole chat unreadable.
    deep_text = '{"q":' + "[" * 1000 + "]" * 1000 + "}"
    mem = memstore.connect("memory://")
    mem.save_message("c", "user", deep_text)
    assert [(m.role, m.content) for m in MemstoreChatStore(mem).get_messages("c")] == [
        (MessageRole.USER, deep_text)]
