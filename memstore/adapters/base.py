"""What a backend provides to ``Memory`` and ``AsyncMemory``.

A backend is two parts:

* a ``Dialect``: I/O-free. Each operation is a plan (see ``memstore.plan``) that picks the
  dialect's named statements, binds and encodes their parameters, and maps the rows it
  receives to models. Inputs arriving here are already validated; a dialect never
  re-checks business rules. Instants are aware UTC datetimes with millisecond precision.
* a runner per API: ``Runner.execute(unit)`` (blocking) and ``AsyncRunner.execute(unit)``
  (awaitable) run one unit on the driver under the transaction rule and map driver errors
  to memstore errors. They hold no business logic.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from ..models import Chat, Message, NewMessage, WorkingMemory
from ..plan import Plan, Unit


class ChatImport(NamedTuple):
    """One chat of an import, validated, written by ``Dialect.import_chat`` in one
    transaction: the destination's messages of the chat are swapped for ``runs`` (each a
    user id and that user's consecutive messages, in order), the chat row ends exactly as
    ``row`` says (when given), and ``working_memory`` (chat scope) is upserted with its
    own ``updated_at``."""

    chat_id: str
    row: Chat | None
    runs: Sequence[tuple[str | None, Sequence[NewMessage]]]
    working_memory: WorkingMemory | None


class Candidate(NamedTuple):
    """A message a search may return, read without its content (recall ranks many and
    returns few): ``extra`` is its normalized visible text (keyword) or its vector bytes
    (semantic)."""

    id: int
    chat_id: str
    user_id: str | None
    role: str
    timestamp: datetime
    extra: Any


class Dialect(ABC):
    dialect: str = ""

    @abstractmethod
    def init_schema(self) -> Plan[None]:
        """Create missing tables and indexes; safe to run any number of times."""

    @abstractmethod
    def doctor(self) -> Plan[list[str]]:
        """Problems with the tables, columns or indexes, as sentences; empty when healthy."""

    @abstractmethod
    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> Plan[None]: ...

    @abstractmethod
    def get_working_memory(self, wm_id: str) -> Plan[WorkingMemory | None]: ...

    @abstractmethod
    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[list[int]]:
        """Insert in order, in one transaction that also creates/updates the chat row
        (count += len, updated_at = max(updated_at, newest)); return the new ids."""

    @abstractmethod
    def replace_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[list[int]]:
        """Delete the chat's messages, reset its message_count to 0, then save
        ``messages`` (possibly none), all in one transaction; the new ids."""

    @abstractmethod
    def last_messages(self, chat_id: str, user_id: str | None, limit: int | None,
                      before_id: int | None = None) -> Plan[list[Message]]:
        """The newest ``limit`` messages by (timestamp, id) (all of them with None), or
        with ``before_id`` those just older than that message (NotFoundError when it is
        not a message of the chat), returned oldest first."""

    @abstractmethod
    def pop_message(self, chat_id: str) -> Plan[Message | None]:
        """Delete and return the newest message by (timestamp, id), atomically; the chat
        row counts one less (never below 0)."""

    @abstractmethod
    def clear_messages(self, chat_id: str) -> Plan[int]:
        """Delete the chat's messages (and their status); the chat row stays with
        message_count 0."""

    @abstractmethod
    def delete_messages(self, chat_id: str, ids: Sequence[int]) -> Plan[int]:
        """Delete the messages of ``chat_id`` among ``ids`` (distinct); adjust the count."""

    @abstractmethod
    def count_messages(self, chat_id: str, status: str | None = None) -> Plan[int]:
        """How many messages the chat has (with ``status``: that are "active"/"archived")."""

    @abstractmethod
    def archive_messages(self, chat_id: str, count: int) -> Plan[list[Message]]:
        """Mark the oldest ``count`` ACTIVE messages by (timestamp, id) ARCHIVED, in one
        transaction; return them oldest first."""

    @abstractmethod
    def messages_window(self, chat_id: str, status: str | None, limit: int | None,
                        offset: int) -> Plan[list[Message]]:
        """The chat's messages (with ``status``: those with it) oldest first by
        (timestamp, id), skipping ``offset``, at most ``limit`` (None: all)."""

    @abstractmethod
    def chat_ids(self, user_id: str | None, limit: int) -> Plan[list[str]]:
        """Distinct chat ids of the messages (of ``user_id``'s messages), ascending."""

    @abstractmethod
    def export_chats(self, user_id: str | None, after: str | None,
                     limit: int) -> Plan[list[tuple[str, bool]]]:
        """For an export (memstore.transfer), a keyset page: the first ``limit`` chats
        after ``after`` (None: from the first) in code point order that have a chat row or
        messages, each with True; with ``user_id``, the chats the user owns (True) or wrote
        messages in (False)."""

    @abstractmethod
    def user_working_memories(self, after: str,
                              limit: int) -> Plan[list[tuple[str, WorkingMemory]]]:
        """For an export, a keyset page of user-scope working memory: the first ``limit``
        rows whose id (``user:<user_id>``) follows ``after``, in code point order, as
        (id, working memory)."""

    @abstractmethod
    def import_chat(self, chat: ChatImport) -> Plan[None]:
        """The whole chat of an import in one transaction (see ``ChatImport``)."""

    @abstractmethod
    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> Plan[None]:
        """Upsert; a None user_id/title/message_count keeps the stored value."""

    @abstractmethod
    def get_chat(self, chat_id: str) -> Plan[Chat | None]: ...

    @abstractmethod
    def list_chats(self, user_id: str | None, limit: int) -> Plan[list[Chat]]:
        """Ordered by updated_at descending, then chat_id ascending (code point order)."""

    @abstractmethod
    def search_chats(
        self, user_id: str | None, match: Callable[[str], bool], limit: int
    ) -> Plan[list[Chat]]:
        """Chats with a title for which ``match(title)`` is true, in list order; reads
        no more of the table than it needs to find ``limit`` of them."""

    @abstractmethod
    def rename_chat(self, chat_id: str, title: str, now: datetime) -> Plan[None]: ...

    @abstractmethod
    def delete_chat(self, chat_id: str) -> Plan[bool]:
        """Delete messages, chat row and chat-scope working memory; True if any existed."""

    @abstractmethod
    def delete_user(self, user_id: str) -> Plan[None]: ...


    # -- recall's side tables (memstore.recall drives these; its docstring has the rules)

    @abstractmethod
    def search_pending(self, scope: Any, after: int,
                       limit: int) -> Plan[list[tuple[int, str, str | None, str, str]]]:
        """Up to ``limit`` messages of ``scope`` (None: all) with an id above ``after``
        that the keyword side table has not seen, by id: (id, chat, user, role, content)."""

    @abstractmethod
    def search_store(self, rows: Sequence[tuple[int, str, str | None, str]]) -> Plan[None]:
        """Keyword side rows (id, chat, user, normalized text); one already there stays."""

    @abstractmethod
    def search_candidates(self, scope: Any, match: str | None,
                          pattern: str) -> Plan[list[Candidate]]:
        """A superset of the scope's messages that hold every word (``match``: an FTS5
        query, ``pattern``: a LIKE pattern of the longest word), with their text."""

    @abstractmethod
    def search_messages_by_id(self, ids: Sequence[int]) -> Plan[dict[int, Message]]:
        """The messages with these ids that still exist."""

    @abstractmethod
    def vector_pending(self, scope: Any, model: str, after: int,
                       limit: int) -> Plan[list[tuple[int, str, str | None, str, str]]]:
        """As ``search_pending``, for the vectors of ``model``."""

    @abstractmethod
    def vector_store(self, model: str,
                     rows: Sequence[tuple[int, str, str | None, int, bytes]]) -> Plan[None]:
        """Vectors (id, chat, user, dimension, bytes) of ``model``."""

    @abstractmethod
    def vectors(self, scope: Any, model: str) -> Plan[list[Candidate]]:
        """The scope's messages that have a vector of ``model`` (as ``extra``)."""

    @abstractmethod
    def messages_around(self, message: Message, user_id: str | None,
                        count: int) -> Plan[tuple[list[Message], list[Message]]]:
        """Up to ``count`` messages of its chat just before and after ``message``."""

    @abstractmethod
    def search_orphans(self) -> Plan[int]:
        """Remove side rows of deleted messages; how many."""

    @abstractmethod
    def search_status(self) -> Plan[tuple[int, int]]:
        """(messages without a keyword side row, keyword side rows without a message)."""

    # -- budgeted reads (memstore.budget drives these) ---------------------------------

    @abstractmethod
    def budget_page(self, chat_id: str, user_id: str | None, counter: str,
                    before: tuple[Any, int] | None,
                    limit: int) -> Plan[list[tuple[Message, int | None, tuple[Any, int]]]]:
        """Up to ``limit`` of the chat's messages newest first (older than ``before``),
        each with its stored count under ``counter`` (None: none yet) and its position."""

    @abstractmethod
    def tokens_store(self, counter: str,
                     rows: Sequence[tuple[int, str, int]]) -> Plan[None]:
        """Counts (message id, chat id, tokens) under ``counter``; one there stays."""

class Runner(Protocol):
    """Runs units on one driver, blocking."""

    def execute(self, unit: Unit) -> list[Any]: ...

    def close(self) -> None:
        """Close what memstore opened; what the caller passed in stays open."""


class AsyncRunner(Protocol):
    """Runs units on one driver, awaitable."""

    async def execute(self, unit: Unit) -> list[Any]: ...

    async def aclose(self) -> None:
        """Close what memstore opened; what the caller passed in stays open."""
