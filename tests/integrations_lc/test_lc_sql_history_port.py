# ruff: noqa: UP006, RUF059 - upstream's test bodies, kept as written
"""langchain-community's ``tests/unit_tests/chat_message_histories/test_sql.py`` (add,
async add, sessions, clear) against ``MemstoreChatMessageHistory``.

Only the fixtures are swapped: ``sql_histories`` gives two histories (chats "123" and
"456") on one fresh store of each database; ``asql_histories`` the same on an
``AsyncMemory``. The async test bodies are upstream's, verbatim, run by ``run_async``
(asyncio.run) instead of pytest-asyncio. Not ported: ``test_model_no_session_id_field_error``
(it checks SQLAlchemy model classes, which memstore does not have)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Tuple  # noqa: UP035

import pytest
from langchain_core.messages import AIMessage, HumanMessage

import memstore
from memstore.integrations.langchain import MemstoreChatMessageHistory as SQLChatMessageHistory
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async

AsyncBody = Callable[[Tuple[SQLChatMessageHistory, SQLChatMessageHistory]], Awaitable[None]]


@pytest.fixture()
def sql_histories(
    memory: memstore.Memory,
) -> Generator[Tuple[SQLChatMessageHistory, SQLChatMessageHistory], None, None]:
    message_history = SQLChatMessageHistory(memory, "123")
    # Create history for other session
    other_history = SQLChatMessageHistory(memory, "456")

    yield message_history, other_history
    message_history.clear()
    other_history.clear()


def with_asql_histories(backend: Backend, body: AsyncBody) -> None:
    """The ``asql_histories`` fixture: two histories on a fresh AsyncMemory."""
    async def run(amem: memstore.AsyncMemory) -> None:
        message_history = SQLChatMessageHistory(amem, "123")
        other_history = SQLChatMessageHistory(amem, "456")
        await body((message_history, other_history))
        await message_history.aclear()
        await other_history.aclear()

    run_async(backend, run)


def test_add_messages(
    sql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
) -> None:
    sql_history, other_history = sql_histories
    sql_history.add_user_message("Hello!")
    sql_history.add_ai_message("Hi there!")

    messages = sql_history.messages
    assert len(messages) == 2
    assert isinstance(messages[0], HumanMessage)
    assert isinstance(messages[1], AIMessage)
    assert messages[0].content == "Hello!"
    assert messages[1].content == "Hi there!"


def test_async_add_messages(backend: Backend) -> None:
    async def test(
        asql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
    ) -> None:
        sql_history, other_history = asql_histories
        await sql_history.aadd_user_message("Hello!")
        await sql_history.aadd_ai_message("Hi there!")

        messages = await sql_history.aget_messages()
        assert len(messages) == 2
        assert isinstance(messages[0], HumanMessage)
        assert isinstance(messages[1], AIMessage)
        assert messages[0].content == "Hello!"
        assert messages[1].content == "Hi there!"

    with_asql_histories(backend, test)


def test_multiple_sessions(
    sql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
) -> None:
    sql_history, other_history = sql_histories
    sql_history.add_user_message("Hello!")
    sql_history.add_ai_message("Hi there!")
    sql_history.add_user_message("Whats cracking?")

    # Ensure the messages are added correctly in the first session
    messages = sql_history.messages
    assert len(messages) == 3, "waat"
    assert messages[0].content == "Hello!"
    assert messages[1].content == "Hi there!"
    assert messages[2].content == "Whats cracking?"

    # second session
    other_history.add_user_message("Hellox")
    assert len(other_history.messages) == 1
    messages = sql_history.messages
    assert len(messages) == 3
    assert other_history.messages[0].content == "Hellox"
    assert messages[0].content == "Hello!"
    assert messages[1].content == "Hi there!"
    assert messages[2].content == "Whats cracking?"


def test_async_multiple_sessions(backend: Backend) -> None:
    async def test(
        asql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
    ) -> None:
        sql_history, other_history = asql_histories
        await sql_history.aadd_user_message("Hello!")
        await sql_history.aadd_ai_message("Hi there!")
        await sql_history.aadd_user_message("Whats cracking?")

        # Ensure the messages are added correctly in the first session
        messages = await sql_history.aget_messages()
        assert len(messages) == 3, "waat"
        assert messages[0].content == "Hello!"
        assert messages[1].content == "Hi there!"
        assert messages[2].content == "Whats cracking?"

        # second session
        await other_history.aadd_user_message("Hellox")
        messages = await sql_history.aget_messages()
        assert len(await other_history.aget_messages()) == 1
        assert len(messages) == 3
        assert (await other_history.aget_messages())[0].content == "Hellox"
        assert messages[0].content == "Hello!"
        assert messages[1].content == "Hi there!"
        assert messages[2].content == "Whats cracking?"

    with_asql_histories(backend, test)


def test_clear_messages(
    sql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
) -> None:
    sql_history, other_history = sql_histories
    sql_history.add_user_message("Hello!")
    sql_history.add_ai_message("Hi there!")
    assert len(sql_history.messages) == 2
    # Now create another history with different session id
    other_history.add_user_message("Hellox")
    assert len(other_history.messages) == 1
    assert len(sql_history.messages) == 2
    # Now clear the first history
    sql_history.clear()
    assert len(sql_history.messages) == 0
    assert len(other_history.messages) == 1


def test_async_clear_messages(backend: Backend) -> None:
    async def test(
        asql_histories: Tuple[SQLChatMessageHistory, SQLChatMessageHistory],
    ) -> None:
        sql_history, other_history = asql_histories
        await sql_history.aadd_user_message("Hello!")
        await sql_history.aadd_ai_message("Hi there!")
        assert len(await sql_history.aget_messages()) == 2
        # Now create another history with different session id
        await other_history.aadd_user_message("Hellox")
        assert len(await other_history.aget_messages()) == 1
        assert len(await sql_history.aget_messages()) == 2
        # Now clear the first history
        await sql_history.aclear()
        assert len(await sql_history.aget_messages()) == 0
        assert len(await other_history.aget_messages()) == 1

    with_asql_histories(backend, test)
