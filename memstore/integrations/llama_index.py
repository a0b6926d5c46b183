"""LlamaIndex over memstore's tables: ``MemstoreChatStore``, a ``BaseChatStore``.

A chat store key is a memstore chat id; each ``ChatMessage`` is one row, a UIMessage
(:mod:`memstore.integrations.codec`) carrying ``message.model_dump(mode="json")`` exactly,
so ``ChatMessage.model_validate`` gives back an equal message (role, every block type,
additional_kwargs), and whose text part shows the visible text to a TypeScript
``@ai-sdk-tools/agents`` app reading the same chat (tool results and assistant messages
without text have no parts: the TS app does not see them).

Rows written by others decode by role: a UIMessage a TS app wrote, another framework's
row and a plain-text row become ``ChatMessage(role=<row role>, content=<visible text>)``.
Unlike the LangChain history, a row with no visible text is not skipped (it decodes with
empty content): the chat store's API is positional (``delete_message(key, idx)``,
``add_message(..., idx=)``), so every row is one position.

It works with ``ChatMemoryBuffer.from_defaults(chat_store=..., chat_store_key=chat_id)``
(the default memory of ``FunctionAgent``). The ``AsyncDBChatStore`` of LlamaIndex's newer
``Memory`` (ACTIVE/ARCHIVED messages) is not implemented: it needs a table memstore does
not have yet.

Sync and async: the sync methods use a ``Memory``, the async ones (``aget_messages``,
``async_add_message``, ...) an ``AsyncMemory``, natively (no thread-pool fallback). Given a
URL, each is opened on that URL the first time a call of that kind needs it (and
``init_schema()`` runs on it, safe to repeat); given only one of them, a call of the other
kind raises :class:`memstore.MemstoreError` saying what to pass.

Install with ``pip install 'memstore-sql[llama-index]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.storage.chat_store.base import BaseChatStore

from ..errors import ValidationError
from ..models import Message, MessageItem, Role
from ..store import AsyncMemory, Memory
from . import codec
from ._stores import Stores

FRAMEWORK = "llama-index"
MAX_IDS = 10_000  # memstore's largest delete_messages / save_messages batch
MAX_KEYS = 10_000  # memstore's largest chat_ids limit

__all__ = ["FRAMEWORK", "MemstoreChatStore", "message_role", "message_text",
           "message_to_row", "row_to_message"]


# -- the row format --------------------------------------------------------------------


def message_role(message: ChatMessage) -> Role:
    """The row role (FRAMEWORKS.md §2): user → ``user``; system, developer → ``system``;
    assistant, tool, function, chatbot, model → ``assistant``."""
    if message.role == MessageRole.USER:
        return "user"
    if message.role in (MessageRole.SYSTEM, MessageRole.DEVELOPER):
        return "system"
    return "assistant"


def message_text(message: ChatMessage) -> str | None:
    """The text a TS agents app should see, or None to hide the row: tool and function
    results, and assistant messages without text (tool calls only), are hidden."""
    if message.role in (MessageRole.TOOL, MessageRole.FUNCTION):
        return None
    text = message.content or ""
    if message_role(message) == "assistant" and not text:
        return None
    return text


def message_to_row(message: ChatMessage) -> MessageItem:
    """The ``save_messages`` entry for ``message``: its role and its UIMessage row."""
    if not isinstance(message, ChatMessage):
        raise ValidationError("message", "must be a llama_index ChatMessage, got "
                              f"{type(message).__name__}")
    role = message_role(message)
    content = codec.encode(FRAMEWORK, message.model_dump(mode="json"), role=role,
                           text=message_text(message))
    return {"role": role, "content": content}


def row_to_message(role: str, content: str) -> ChatMessage:
    """The message a row holds: the exact message for a row this integration wrote, else
    ``ChatMessage(role=..., content=<visible text>)``."""
    decoded = codec.decode(role, content)
    if decoded.kind == "item" and decoded.framework == FRAMEWORK:
        return ChatMessage.model_validate(decoded.item)
    return ChatMessage(role=MessageRole(decoded.role), content=decoded.text)


def _messages(rows: Sequence[Message]) -> list[ChatMessage]:
    return [row_to_message(r.role, r.content) for r in rows]


def _position(idx: int, length: int) -> int | None:
    """``idx`` as a list index (negative counts from the end), None when out of range."""
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise ValidationError("idx", f"must be an int; got {type(idx).__name__}")
    pos = idx + length if idx < 0 else idx
    return pos if 0 <= pos < length else None


def _inserted(rows: Sequence[Message], idx: int, message: ChatMessage,
              ) -> list[dict[str, Any]] | None:
    """The chat's rows with ``message`` inserted before position ``idx`` (``list.insert``
    semantics), keeping every timestamp; None when it goes at the end (a plain append).
    The new message takes the timestamp of the one it precedes; memstore orders equal
    timestamps by id, which the replace assigns in list order."""
    if isinstance(idx, bool) or not isinstance(idx, int):
        raise ValidationError("idx", f"must be an int; got {type(idx).__name__}")
    pos = max(0, idx + len(rows)) if idx < 0 else idx
    if pos >= len(rows):
        return None
    items: list[dict[str, Any]] = [{"role": r.role, "content": r.content,
                                    "timestamp": r.timestamp} for r in rows]
    stamp: datetime = rows[pos].timestamp
    items.insert(pos, {**message_to_row(message), "timestamp": stamp})
    return items


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[i:i + MAX_IDS] for i in range(0, len(ids), MAX_IDS)]


# -- BaseChatStore ---------------------------------------------------------------------


class MemstoreChatStore(BaseChatStore):
    """A LlamaIndex chat store whose keys are memstore chats.

    ``memory`` is a ``memstore.Memory`` (sync methods), an ``AsyncMemory`` (async methods)
    or a URL (both, opened on first use; close with ``close()``/``aclose()``); pass
    ``amemory=`` beside a ``Memory`` for both. ``user_id`` owns the messages this store
    writes, and reads (and ``get_keys``) keep that user's messages and those saved without
    a user.

    * ``set_messages``: the chat's messages swapped in one transaction
      (``replace_messages``; a concurrent reader sees the old list or the new one).
    * ``add_message(key, message, idx=None)``: an append; with ``idx``, an insert before
      that position as ``list.insert`` does (SimpleChatStore's extension): the chat is
      read and rewritten with its timestamps kept, in one replace; a message another
      writer adds between that read and the replace is lost.
    * ``delete_message(key, idx)``: by **position** in ``get_messages(key)``, negative
      counting from the end, as ``SimpleChatStore`` defines it (the base class's ``idx``);
      out of range → None. (``AsyncDBChatStore`` deletes by row id instead; this class
      follows the interface it implements.)
    * ``delete_messages(key)``: the messages it read, deleted by id (in transactions of
      10,000), and returned; None when the chat had none. The chat row stays.
    * ``delete_last_message``: ``pop_message``, atomic (MySQL, unlike MariaDB, cannot).
    * ``get_keys``: the chats that have messages, in code point order, at most 10,000.
    """

    _stores: Stores = PrivateAttr()
    _user_id: str | None = PrivateAttr(default=None)

    def __init__(self, memory: Memory | AsyncMemory | str, *,
                 amemory: AsyncMemory | None = None, user_id: str | None = None,
                 **data: Any) -> None:
        super().__init__(**data)
        self._stores = Stores(memory, amemory, type(self).__name__)
        self._user_id = user_id

    @classmethod
    def class_name(cls) -> str:
        return "MemstoreChatStore"

    @property
    def user_id(self) -> str | None:
        return self._user_id

    # sync -------------------------------------------------------------------------------

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        rows = [message_to_row(m) for m in messages]
        self._stores.sync().replace_messages(key, rows, user_id=self._user_id)

    def get_messages(self, key: str) -> list[ChatMessage]:
        return _messages(self._rows(key))

    def _rows(self, key: str) -> list[Message]:
        return self._stores.sync().get_messages(key, user_id=self._user_id, limit=None)

    def add_message(self, key: str, message: ChatMessage, idx: int | None = None) -> None:
        mem = self._stores.sync()
        if idx is not None:
            items = _inserted(self._rows(key), idx, message)
            if items is not None:
                mem.replace_messages(key, items, user_id=self._user_id)  # type: ignore[arg-type]
                return
        mem.save_messages(key, [message_to_row(message)], user_id=self._user_id)

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        rows = self._rows(key)
        if not rows:
            return None
        mem = self._stores.sync()
        for chunk in _chunks([r.id for r in rows]):
            mem.delete_messages(key, chunk)
        return _messages(rows)

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        rows = self._rows(key)
        pos = _position(idx, len(rows))
        if pos is None or self._stores.sync().delete_messages(key, [rows[pos].id]) != 1:
            return None
        return row_to_message(rows[pos].role, rows[pos].content)

    def delete_last_message(self, key: str) -> ChatMessage | None:
        row = self._stores.sync().pop_message(key)
        return None if row is None else row_to_message(row.role, row.content)

    def get_keys(self) -> list[str]:
        return self._stores.sync().chat_ids(user_id=self._user_id, limit=MAX_KEYS)

    # async ------------------------------------------------------------------------------

    async def aset_messages(self, key: str, messages: list[ChatMessage]) -> None:
        rows = [message_to_row(m) for m in messages]
        mem = await self._stores.async_()
        await mem.replace_messages(key, rows, user_id=self._user_id)

    async def aget_messages(self, key: str) -> list[ChatMessage]:
        return _messages(await self._arows(key))

    async def _arows(self, key: str) -> list[Message]:
        mem = await self._stores.async_()
        return await mem.get_messages(key, user_id=self._user_id, limit=None)

    async def async_add_message(self, key: str, message: ChatMessage,
                                idx: int | None = None) -> None:
        mem = await self._stores.async_()
        if idx is not None:
            items = _inserted(await self._arows(key), idx, message)
            if items is not None:
                await mem.replace_messages(key, items,  # type: ignore[arg-type]
                                           user_id=self._user_id)
                return
        await mem.save_messages(key, [message_to_row(message)], user_id=self._user_id)

    async def adelete_messages(self, key: str) -> list[ChatMessage] | None:
        rows = await self._arows(key)
        if not rows:
            return None
        mem = await self._stores.async_()
        for chunk in _chunks([r.id for r in rows]):
            await mem.delete_messages(key, chunk)
        return _messages(rows)

    async def adelete_message(self, key: str, idx: int) -> ChatMessage | None:
        rows = await self._arows(key)
        pos = _position(idx, len(rows))
        if pos is None:
            return None
        mem = await self._stores.async_()
        if await mem.delete_messages(key, [rows[pos].id]) != 1:
            return None
        return row_to_message(rows[pos].role, rows[pos].content)

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        row = await (await self._stores.async_()).pop_message(key)
        return None if row is None else row_to_message(row.role, row.content)

    async def aget_keys(self) -> list[str]:
        mem = await self._stores.async_()
        return await mem.chat_ids(user_id=self._user_id, limit=MAX_KEYS)

    # lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the Memory this store opened from a URL (a memory passed in stays open)."""
        self._stores.close()

    async def aclose(self) -> None:
        """Close whatever this store opened from a URL."""
        await self._stores.aclose()
