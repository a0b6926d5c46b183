"""LlamaIndex's ``Memory`` on ``MemstoreAsyncDBChatStore``: a dozen turns with
llama-index-core's own ``MockLLM``, archiving as the token limit demands, then reloaded;
and ``MemstoreWorkingMemoryBlock`` putting the stored working memory into its context.

Each turn runs on two ``Memory`` objects side by side: one on memstore (SQLite, PostgreSQL,
MariaDB), one on LlamaIndex's own ``SQLAlchemyChatStore`` (in-memory SQLite), the
reference: after every turn both hold the same ACTIVE and ARCHIVED messages and give the
model the same context."""

from __future__ import annotations

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.llms import MockLLM
from llama_index.core.memory import Memory
from llama_index.core.storage.chat_store.sql import MessageStatus, SQLAlchemyChatStore

import memstore
from memstore.integrations.llama_index import (
    MemstoreAsyncDBChatStore,
    MemstoreWorkingMemoryBlock,
)
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async

TURNS = 12
TOKEN_LIMIT = 120  # x chat_history_token_ratio 0.7: ~84 tokens of chat history
FLUSH = 30
SESSION = "li-session-1"


def question(turn: int) -> str:
    return f"Turn {turn}: tell me something about the number {turn} in a few words please"


async def converse(memories: list[Memory]) -> None:
    """A dozen turns, the same on every memory: the user's message, the model's answer
    (MockLLM, to what the memory gives it), both put into the memory."""
    for turn in range(TURNS):
        llm = MockLLM(max_tokens=5 + turn % 4)
        contexts = []
        for memory in memories:
            await memory.aput(ChatMessage(role="user", content=question(turn)))
            context = await memory.aget()
            contexts.append(context)
            answer = await llm.achat(context)
            await memory.aput(answer.message)
        assert all(c == contexts[0] for c in contexts), turn
        await same_state(memories)


async def state(memory: Memory) -> tuple[list[ChatMessage], list[ChatMessage]]:
    return (await memory.sql_store.get_messages(SESSION, status=MessageStatus.ARCHIVED),
            await memory.sql_store.get_messages(SESSION, status=MessageStatus.ACTIVE))


async def same_state(memories: list[Memory]) -> None:
    first = await state(memories[0])
    for memory in memories[1:]:
        assert await state(memory) == first


def test_memory_archives_and_reloads_over_a_dozen_turns(backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> None:
        store = MemstoreAsyncDBChatStore(amem)
        ours = Memory.from_defaults(session_id=SESSION, chat_store=store,
                                    token_limit=TOKEN_LIMIT, token_flush_size=FLUSH)
        reference_store = SQLAlchemyChatStore(
            table_name="reference", async_database_uri="sqlite+aiosqlite:///:memory:")
        reference = Memory.from_defaults(
            session_id=SESSION, token_limit=TOKEN_LIMIT, token_flush_size=FLUSH,
            chat_store=reference_store)
        try:
            await check(amem, store, ours, reference)
        finally:
            # the reference's aiosqlite connections, closed on this loop (left to the
            # garbage collector, their threads answer a closed loop later in the run)
            if reference_store._async_engine is not None:
                await reference_store._async_engine.dispose()

    async def check(amem: memstore.AsyncMemory, store: MemstoreAsyncDBChatStore,
                    ours: Memory, reference: Memory) -> None:
        await converse([ours, reference])

        archived, active = await state(ours)
        assert archived and active, "the token limit made Memory archive"
        assert len(archived) + len(active) == 2 * TURNS  # nothing lost, nothing doubled
        everything = await ours.aget_all()
        assert everything == archived + active  # archived are the oldest
        assert [m.content for m in everything[::2]] == [question(t) for t in range(TURNS)]
        assert await store.count_messages(SESSION) == len(active)
        assert await store.count_messages(SESSION, MessageStatus.ARCHIVED) == len(archived)
        assert sum(ours._estimate_token_count(m) for m in active) <= TOKEN_LIMIT * 0.7
        # a TS app reading the chat sees every row, archived or not, in order
        rows = await amem.get_messages(SESSION, limit=None)
        assert len(rows) == 2 * TURNS
        assert rows[0].content.startswith("{") and '"Turn 0:' in rows[0].content

        # reloaded: a new store and Memory on the same database pick the chat up
        again = Memory.from_defaults(session_id=SESSION,
                                     chat_store=MemstoreAsyncDBChatStore(amem),
                                     token_limit=TOKEN_LIMIT, token_flush_size=FLUSH)
        assert await again.aget() == await ours.aget() == await reference.aget()
        assert await again.aget_all() == everything
        # and the conversation goes on there as it does on the reference
        await converse([again, reference])
        assert len(await again.aget_all()) == 4 * TURNS

        await again.areset(status=MessageStatus.ARCHIVED)
        await reference.areset(status=MessageStatus.ARCHIVED)
        await same_state([again, reference])
        assert await store.count_messages(SESSION, MessageStatus.ARCHIVED) == 0
        await again.areset()
        assert await again.aget_all() == [] and await amem.count_messages(SESSION) == 0

    run_async(backend, body)


def test_working_memory_block_puts_the_stored_working_memory_into_the_context(
        backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> None:
        block = MemstoreWorkingMemoryBlock(amem)
        user_block = MemstoreWorkingMemoryBlock(amem, name="profile", scope="user",
                                                user_id="u1")
        memory = Memory.from_defaults(session_id=SESSION,
                                      chat_store=MemstoreAsyncDBChatStore(amem),
                                      memory_blocks=[block, user_block])
        await memory.aput(ChatMessage(role="user", content="hi"))
        context = await memory.aget()
        assert [m.content for m in context] == ["hi"]  # nothing stored yet: no block

        await amem.update_working_memory(scope="chat", chat_id=SESSION,
                                         content="# Working Memory\n- likes tea")
        await amem.update_working_memory(scope="user", user_id="u1", content="- name: Ada")
        context = await memory.aget()
        text = "\n".join(m.content or "" for m in context if m.role == "system")
        assert "<working_memory>" in text and "<profile>" in text
        assert "## Working Memory\n\n# Working Memory\n- likes tea" in text
        assert "## Working Memory\n\n- name: Ada" in text
        assert context[-1].content == "hi"
        # another chat's memory (the session id picks the chat) sees no chat memory
        other = Memory.from_defaults(session_id="another",
                                     chat_store=MemstoreAsyncDBChatStore(amem),
                                     memory_blocks=[block])
        await other.aput(ChatMessage(role="user", content="hello"))
        assert "likes tea" not in "".join(m.content or "" for m in await other.aget())

    run_async(backend, body)
