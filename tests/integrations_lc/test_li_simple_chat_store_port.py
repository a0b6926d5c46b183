"""llama-index-core's ``tests/storage/chat_store/test_simple_chat_store.py`` against
``MemstoreChatStore``.

Only the store is swapped: each test's ``chat_store = SimpleChatStore()`` is the
``chat_store`` fixture (a MemstoreChatStore on a fresh store of each database). Adapted:
``test_persist_non_ascii_unescaped`` (SimpleChatStore's JSON file) checks the same thing
on memstore's row instead: non-ASCII text stored as-is, not as \\u escapes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.llms import ChatMessage

import memstore
from memstore.integrations.llama_index import MemstoreChatStore


@pytest.fixture
def chat_store(memory: memstore.Memory) -> Iterator[MemstoreChatStore]:
    yield MemstoreChatStore(memory)


def test_add_messages(chat_store: MemstoreChatStore) -> None:
    """Test adding messages to a chat store."""
    chat_store.add_message("user1", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user1", ChatMessage(role="user", content="world"))
    chat_store.add_message("user2", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user2", ChatMessage(role="user", content="world"))

    assert chat_store.get_messages("user1") == [
        ChatMessage(role="user", content="hello"),
        ChatMessage(role="user", content="world"),
    ]
    assert chat_store.get_messages("user2") == [
        ChatMessage(role="user", content="hello"),
        ChatMessage(role="user", content="world"),
    ]

    assert chat_store.get_keys() == ["user1", "user2"]

    chat_store.add_message("user1", ChatMessage(role="user", content="hello"), idx=0)
    assert chat_store.get_messages("user1") == [
        ChatMessage(role="user", content="hello"),
        ChatMessage(role="user", content="hello"),
        ChatMessage(role="user", content="world"),
    ]


def test_delete_chat_messages(chat_store: MemstoreChatStore) -> None:
    """Test deleting messages from a chat store."""
    chat_store.add_message("user1", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user1", ChatMessage(role="user", content="world"))
    chat_store.add_message("user2", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user2", ChatMessage(role="user", content="world"))

    chat_store.delete_messages("user1")

    assert chat_store.get_messages("user1") == []
    assert chat_store.get_messages("user2") == [
        ChatMessage(role="user", content="hello"),
        ChatMessage(role="user", content="world"),
    ]


def test_delete_chat_message(chat_store: MemstoreChatStore) -> None:
    """Test undoing messages from a chat store."""
    chat_store.add_message("user1", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user1", ChatMessage(role="user", content="world"))

    chat_store.delete_last_message("user1")

    assert chat_store.get_messages("user1") == [
        ChatMessage(role="user", content="hello"),
    ]


def test_delete_chat_message_idx(chat_store: MemstoreChatStore) -> None:
    """Test undoing messages from a chat store at a specific idx."""
    chat_store.add_message("user1", ChatMessage(role="user", content="hello"))
    chat_store.add_message("user1", ChatMessage(role="user", content="world"))

    chat_store.delete_message("user1", 0)

    assert chat_store.get_messages("user1") == [
        ChatMessage(role="user", content="world"),
    ]


def test_delete_chat_message_out_of_bounds(chat_store: MemstoreChatStore) -> None:
    """Test deleting a message with an out-of-bounds negative index."""
    chat_store.add_message("user1", ChatMessage(role="user", content="hello"))

    assert chat_store.delete_message("user1", -2) is None
    assert chat_store.get_messages("user1") == [
        ChatMessage(role="user", content="hello"),
    ]


def test_delete_last_chat_message_from_empty_history(chat_store: MemstoreChatStore) -> None:
    """Test deleting the last message from an existing empty history."""
    message = ChatMessage(role="user", content="hello")
    chat_store.add_message("user1", message)

    assert chat_store.delete_last_message("user1") == message
    assert chat_store.delete_last_message("user1") is None


def test_persist_non_ascii_unescaped(chat_store: MemstoreChatStore,
                                     memory: memstore.Memory) -> None:
    """Test that non-ascii content is persisted as-is, not as unicode escapes."""
    chat_store.add_message("user1", ChatMessage(role="user", content="ハロー héllo"))

    assert "ハロー héllo" in memory.get_messages("user1")[0].content
    assert MemstoreChatStore(memory).get_messages("user1") == [
        ChatMessage(role="user", content="ハロー héllo"),
    ]
