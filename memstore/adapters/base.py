"""The Adapter contract: what a dialect must provide to the Memory API.

Inputs arriving here are already validated; adapters never re-check business rules.
Instants are aware UTC datetimes with millisecond precision.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime

from ..models import Chat, Message, NewMessage, WorkingMemory


class Adapter(ABC):
    dialect: str = ""

    @abstractmethod
    def init_schema(self) -> None:
        """Create missing tables and indexes; safe to run any number of times."""

    @abstractmethod
    def doctor(self) -> list[str]:
        """Problems with the tables, columns or indexes, as sentences; empty when healthy."""

    @abstractmethod
    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> None: ...

    @abstractmethod
    def get_working_memory(self, wm_id: str) -> WorkingMemory | None: ...

    @abstractmethod
    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        """Insert in order, in one transaction that also creates/updates the chat row
        (count += len, updated_at = max(updated_at, newest)); return the new ids."""

    @abstractmethod
    def last_messages(self, chat_id: str, user_id: str | None, limit: int) -> list[Message]:
        """The newest ``limit`` messages by (timestamp, id), returned oldest first."""

    @abstractmethod
    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> None:
        """Upsert; a None user_id/title/message_count keeps the stored value."""

    @abstractmethod
    def get_chat(self, chat_id: str) -> Chat | None: ...

    @abstractmethod
    def list_chats(self, user_id: str | None, limit: int) -> list[Chat]:
        """Ordered by updated_at descending, then chat_id ascending (code point order)."""

    @abstractmethod
    def search_chats(
        self, user_id: str | None, match: Callable[[str], bool], limit: int
    ) -> list[Chat]:
        """Chats with a title for which ``match(title)`` is true, in list order."""

    @abstractmethod
    def rename_chat(self, chat_id: str, title: str, now: datetime) -> None: ...

    @abstractmethod
    def delete_chat(self, chat_id: str) -> bool:
        """Delete messages, chat row and chat-scope working memory; True if any existed."""

    @abstractmethod
    def delete_user(self, user_id: str) -> None: ...

    @abstractmethod
    def close(self) -> None: ...
