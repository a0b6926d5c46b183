"""llama-index-core's ``tests/storage/chat_store/test_sql.py`` against
``MemstoreAsyncDBChatStore``, with only the fixture swapped.

Source: run-llama/llama_index, ``llama-index-core/tests/storage/chat_store/test_sql.py``
(the sdist of llama-index-core 0.14.25 ships no tests; the file tests
``SQLAlchemyChatStore``, the ``AsyncDBChatStore`` that LlamaIndex's ``Memory`` uses by
default). Every test body below is upstream's, unchanged, except in one place:
``test_delete_message`` looks the row ids up through the fixture's own SQLAlchemy session
(``chat_store._async_session_factory``, ``chat_store._table``), which is fixture internals;
here the same rows (the key's messages in insertion order, with their ids) come from the
fixture's ``AsyncMemory``. The ``chat_store`` fixture is a ``MemstoreAsyncDBChatStore`` on
a fresh AsyncMemory of SQLite, PostgreSQL or MariaDB (``backend``; with CI=true a missing
server fails). ``@pytest.mark.asyncio`` bodies run under ``run_async`` (no
pytest-asyncio)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.storage.chat_store.sql import MessageStatus

import memstore
from memstore.integrations.llama_index import MemstoreAsyncDBChatStore
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async


def with_chat_store(backend: Backend,
                    body: Callable[[MemstoreAsyncDBChatStore], Awaitable[None]]) -> None:
    """The ``chat_store`` fixture: a MemstoreAsyncDBChatStore on a fresh AsyncMemory."""
    async def run(amem: memstore.AsyncMemory) -> None:
        await body(MemstoreAsyncDBChatStore(amem))

    run_async(backend, run)


async def rows_of(chat_store: MemstoreAsyncDBChatStore, key: str) -> list[Any]:
    """What upstream reads with ``chat_store._table.select().where(key == key)``: the
    key's rows (with ``.id``), in insertion order."""
    amem = await chat_store._stores.async_()  # the AsyncMemory the fixture passed
    return [SimpleNamespace(id=m.id) for m in sorted(
        await amem.get_messages_window(key), key=lambda m: m.id)]


def test_add_get_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test adding and retrieving messages."""
        # Add messages
        await chat_store.add_message("user1", ChatMessage(role="user", content="hello"))
        await chat_store.add_message(
            "user1", ChatMessage(role="assistant", content="world")
        )

        # Test getting messages
        messages = await chat_store.get_messages("user1")
        assert len(messages) == 2
        assert messages[0].role == "user"
        assert messages[0].content == "hello"
        assert messages[1].role == "assistant"
        assert messages[1].content == "world"

        # Test with non-existent key
        empty_messages = await chat_store.get_messages("nonexistent")
        assert len(empty_messages) == 0

    with_chat_store(backend, test)


def test_add_messages_batch(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test adding messages in batch."""
        batch_messages = [
            ChatMessage(role="user", content="hello"),
            ChatMessage(role="assistant", content="world"),
            ChatMessage(role="user", content="how are you?"),
        ]

        await chat_store.add_messages("batch_user", batch_messages)

        messages = await chat_store.get_messages("batch_user")
        assert len(messages) == 3
        assert [m.content for m in messages] == ["hello", "world", "how are you?"]

    with_chat_store(backend, test)


def test_count_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test counting messages."""
        batch_messages = [
            ChatMessage(role="user", content="message1"),
            ChatMessage(role="assistant", content="message2"),
            ChatMessage(role="user", content="message3"),
        ]

        await chat_store.add_messages("count_user", batch_messages)

        count = await chat_store.count_messages("count_user")
        assert count == 3

        # Test count with non-existent key
        empty_count = await chat_store.count_messages("nonexistent")
        assert empty_count == 0

    with_chat_store(backend, test)


def test_set_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test setting messages (replacing existing ones)."""
        # Add initial messages
        await chat_store.add_message(
            "replace_user", ChatMessage(role="user", content="initial")
        )

        # Replace with new set
        new_messages = [
            ChatMessage(role="user", content="replaced1"),
            ChatMessage(role="assistant", content="replaced2"),
        ]
        await chat_store.set_messages("replace_user", new_messages)

        # Verify replacement
        messages = await chat_store.get_messages("replace_user")
        assert len(messages) == 2
        assert [m.content for m in messages] == ["replaced1", "replaced2"]

    with_chat_store(backend, test)


def test_delete_message(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test deleting a specific message."""
        batch_messages = [
            ChatMessage(role="user", content="message1"),
            ChatMessage(role="assistant", content="message2"),
            ChatMessage(role="user", content="message3"),
        ]

        await chat_store.add_messages("delete_user", batch_messages)

        # Get messages to find their IDs
        rows = await rows_of(chat_store, "delete_user")  # swapped: the fixture's rows

        # Delete the middle message
        middle_id = rows[1].id
        deleted_message = await chat_store.delete_message("delete_user", middle_id)

        # Verify deletion
        assert deleted_message.content == "message2"

        remaining_messages = await chat_store.get_messages("delete_user")
        assert len(remaining_messages) == 2
        assert [m.content for m in remaining_messages] == ["message1", "message3"]

    with_chat_store(backend, test)


def test_delete_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test deleting all messages for a key."""
        # Add messages for multiple users
        await chat_store.add_message(
            "delete_all_user1", ChatMessage(role="user", content="user1_message")
        )
        await chat_store.add_message(
            "delete_all_user2", ChatMessage(role="user", content="user2_message")
        )

        # Delete messages for user1
        await chat_store.delete_messages("delete_all_user1")

        # Verify deletion
        user1_messages = await chat_store.get_messages("delete_all_user1")
        user2_messages = await chat_store.get_messages("delete_all_user2")

        assert len(user1_messages) == 0
        assert len(user2_messages) == 1

    with_chat_store(backend, test)


def test_delete_oldest_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test deleting oldest messages."""
        batch_messages = [
            ChatMessage(role="user", content="oldest"),
            ChatMessage(role="assistant", content="middle"),
            ChatMessage(role="user", content="newest"),
        ]

        await chat_store.add_messages("oldest_test", batch_messages)

        # Delete oldest message
        deleted = await chat_store.delete_oldest_messages("oldest_test", 1)

        # Verify deleted message
        assert len(deleted) == 1
        assert deleted[0].content == "oldest"

        # Verify remaining messages
        remaining = await chat_store.get_messages("oldest_test")
        assert len(remaining) == 2
        assert [m.content for m in remaining] == ["middle", "newest"]

    with_chat_store(backend, test)


def test_archive_oldest_messages(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test archiving oldest messages."""
        batch_messages = [
            ChatMessage(role="user", content="oldest"),
            ChatMessage(role="assistant", content="middle"),
            ChatMessage(role="user", content="newest"),
        ]

        await chat_store.add_messages("archive_test", batch_messages)

        # Archive oldest message
        archived = await chat_store.archive_oldest_messages("archive_test", 1)

        # Verify archived message
        assert len(archived) == 1
        assert archived[0].content == "oldest"

        # Verify active messages
        active = await chat_store.get_messages("archive_test", status=MessageStatus.ACTIVE)
        assert len(active) == 2
        assert [m.content for m in active] == ["middle", "newest"]

        # Verify archived messages
        archived_msgs = await chat_store.get_messages(
            "archive_test", status=MessageStatus.ARCHIVED
        )
        assert len(archived_msgs) == 1
        assert archived_msgs[0].content == "oldest"

    with_chat_store(backend, test)


def test_get_messages_with_limit_offset(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test getting messages with limit and offset."""
        batch_messages = [
            ChatMessage(role="user", content="message1"),
            ChatMessage(role="assistant", content="message2"),
            ChatMessage(role="user", content="message3"),
            ChatMessage(role="assistant", content="message4"),
            ChatMessage(role="user", content="message5"),
        ]

        await chat_store.add_messages("pagination_test", batch_messages)

        # Test with limit
        limited = await chat_store.get_messages("pagination_test", limit=2)
        assert len(limited) == 2
        assert [m.content for m in limited] == ["message1", "message2"]

        # Test with offset
        offset = await chat_store.get_messages("pagination_test", offset=2)
        assert len(offset) == 3
        assert [m.content for m in offset] == ["message3", "message4", "message5"]

        # Test with both limit and offset
        paginated = await chat_store.get_messages("pagination_test", limit=2, offset=1)
        assert len(paginated) == 2
        assert [m.content for m in paginated] == ["message2", "message3"]

    with_chat_store(backend, test)


def test_get_keys(backend: Backend) -> None:
    async def test(chat_store: MemstoreAsyncDBChatStore) -> None:
        """Test getting all unique keys."""
        # Add messages for multiple users
        await chat_store.add_message(
            "keys_user1", ChatMessage(role="user", content="user1_message")
        )
        await chat_store.add_message(
            "keys_user2", ChatMessage(role="user", content="user2_message")
        )
        await chat_store.add_message(
            "keys_user3", ChatMessage(role="user", content="user3_message")
        )

        # Get all keys
        keys = await chat_store.get_keys()

        # Verify keys (note: other tests may add more keys)
        expected_keys = {"keys_user1", "keys_user2", "keys_user3"}
        assert expected_keys.issubset(set(keys))

    with_chat_store(backend, test)
