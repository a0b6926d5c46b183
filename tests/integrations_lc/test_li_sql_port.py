"""The parts of llama-index-core's ``tests/storage/chat_store/test_sql.py`` that the
``BaseChatStore`` interface has, against ``MemstoreChatStore``'s async methods.

That file tests ``SQLAlchemyChatStore``, an ``AsyncDBChatStore``, whose async methods are
named like BaseChatStore's sync ones. The bodies are upstream's with the method names
mapped to BaseChatStore's async twins (``add_message`` → ``async_add_message``,
``get_messages`` → ``aget_messages``, ``set_messages`` → ``aset_messages``,
``delete_messages`` → ``adelete_messages``, ``get_keys`` → ``aget_keys``), run by
``run_async`` on an AsyncMemory of each database. Not ported, because BaseChatStore has no
such operation: ``add_messages`` (batch), ``count_messages``, ``delete_message`` by row id,
``delete_oldest_messages``, ``archive_oldest_messages`` and ``status``,
``get_messages(limit=, offset=)``: they belong to the AsyncDBChatStore, and the whole
file runs against ``MemstoreAsyncDBChatStore`` in test_li_asyncdb_sql_port.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from llama_index.core.base.llms.types import ChatMessage

import memstore
from memstore.integrations.llama_index import MemstoreChatStore
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async


def with_chat_store(backend: Backend,
                    body: Callable[[MemstoreChatStore], Awaitable[None]]) -> None:
    """The ``chat_store`` fixture: a MemstoreChatStore on a fresh AsyncMemory."""
    async def run(amem: memstore.AsyncMemory) -> None:
        await body(MemstoreChatStore(amem))

    run_async(backend, run)


def test_add_get_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreChatStore) -> None:
        """Test adding and retrieving messages."""
        # Add messages
        await chat_store.async_add_message("user1", ChatMessage(role="user", content="hello"))
        await chat_store.async_add_message(
            "user1", ChatMessage(role="assistant", content="world")
        )

        # Test getting messages
        messages = await chat_store.aget_messages("user1")
        assert len(messages) == 2
        assert messages[0].role == "user"
        assert messages[0].content == "hello"
        assert messages[1].role == "assistant"
        assert messages[1].content == "world"

        # Test with non-existent key
        empty_messages = await chat_store.aget_messages("nonexistent")
        assert len(empty_messages) == 0

    with_chat_store(backend, test)


def test_set_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreChatStore) -> None:
        """Test setting messages (replacing existing ones)."""
        # Add initial messages
        await chat_store.async_add_message(
            "replace_user", ChatMessage(role="user", content="initial")
        )

        # Replace with new set
        new_messages = [
            ChatMessage(role="user", content="replaced1"),
            ChatMessage(role="assistant", content="replaced2"),
        ]
        await chat_store.aset_messages("replace_user", new_messages)

        # Verify replacement
        messages = await chat_store.aget_messages("replace_user")
        assert len(messages) == 2
        assert [m.content for m in messages] == ["replaced1", "replaced2"]

    with_chat_store(backend, test)


def test_delete_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreChatStore) -> None:
        """Test deleting all messages for a key."""
        # Add messages for multiple users
        await chat_store.async_add_message(
            "delete_all_user1", ChatMessage(role="user", content="user1_message")
        )
        await chat_store.async_add_message(
            "delete_all_user2", ChatMessage(role="user", content="user2_message")
        )

        # Delete messages for user1
        await chat_store.adelete_messages("delete_all_user1")

        # Verify deletion
        user1_messages = await chat_store.aget_messages("delete_all_user1")
        user2_messages = await chat_store.aget_messages("delete_all_user2")

        assert len(user1_messages) == 0
        assert len(user2_messages) == 1

    with_chat_store(backend, test)


def test_get_keys(backend: Backend) -> None:
    async def test(chat_store: MemstoreChatStore) -> None:
        """Test getting all unique keys."""
        # Add messages for multiple users
        await chat_store.async_add_message(
            "keys_user1", ChatMessage(role="user", content="user1_message")
        )
        await chat_store.async_add_message(
            "keys_user2", ChatMessage(role="user", content="user2_message")
        )
        await chat_store.async_add_message(
            "keys_user3", ChatMessage(role="user", content="user3_message")
        )

        # Get all keys
        keys = await chat_store.aget_keys()

        # Verify keys (note: other tests may add more keys)
        expected_keys = {"keys_user1", "keys_user2", "keys_user3"}
        assert expected_keys.issubset(set(keys))

    with_chat_store(backend, test)
