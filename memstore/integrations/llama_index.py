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
(the default memory of ``FunctionAgent``).

``MemstoreAsyncDBChatStore`` is the ``AsyncDBChatStore`` of LlamaIndex's newer ``Memory``
(``Memory.from_defaults(chat_store=..., token_limit=...)``): the same rows, plus the
ACTIVE/ARCHIVED status of each message in memstore's own table beside the shared ones
(``memstore_message_status``; no row means ACTIVE, so what a TS app or another
integration writes is active). ``MemstoreWorkingMemoryBlock`` is a memory block that puts
the stored working memory (the TS package's text) into ``Memory``'s context.

Sync and async: the sync methods use a ``Memory``, the async ones (``aget_messages``,
``async_add_message``, ...) an ``AsyncMemory``, natively (no thread-pool fallback). Given a
URL, each is opened on that URL the first time a call of that kind needs it (and
``init_schema()`` runs on it, safe to repeat); given only one of them, a call of the other
kind raises :class:`memstore.MemstoreError` saying what to pass.

Install with ``pip install 'memstore-sql[llama-index]'``.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.memory.memory import BaseMemoryBlock
from llama_index.core.storage.chat_store.base import BaseChatStore
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
from llama_index.core.tools import FunctionTool

from .. import validate
from ..errors import ValidationError
from ..models import Message, MessageItem, Role, Scope
from ..recall import Mode
from ..store import AsyncMemory, Memory
from . import codec
from . import search_tool as st
from ._stores import Stores
from .working_memory import load_working_memory

FRAMEWORK = "llama-index"
MAX_IDS = 10_000  # memstore's largest delete_messages / save_messages batch
MAX_KEYS = 10_000  # memstore's largest chat_ids limit
log = logging.getLogger("memstore")

__all__ = ["FRAMEWORK", "MemstoreAsyncDBChatStore", "MemstoreChatStore",
           "MemstoreWorkingMemoryBlock", "message_role", "message_text", "message_to_row",
           "row_to_message", "search_memory_tool"]


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
    item, other = codec.decode_for(FRAMEWORK, role, content)
    if other is None:
        return ChatMessage.model_validate(item)
    return ChatMessage(role=MessageRole(codec.row_role(other.role)), content=other.text)


def _row_message(row: Message) -> ChatMessage:
    """:func:`row_to_message` for a stored row, whatever it holds: an item LlamaIndex
    cannot load (damaged, hand-edited) reads as the row's visible text, an unknown role
    column as ``assistant`` (codec.row_fields)."""
    role, content = codec.row_fields(row)
    try:
        return row_to_message(role, content)
    except Exception:  # pydantic's ValidationError, ValueError
        other = codec.fallback(role, content)
        return ChatMessage(role=MessageRole(other.role), content=other.text)


def _messages(rows: Sequence[Message]) -> list[ChatMessage]:
    return [_row_message(r) for r in rows]


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
        return _row_message(rows[pos])

    def delete_last_message(self, key: str) -> ChatMessage | None:
        row = self._stores.sync().pop_message(key)
        return None if row is None else _row_message(row)

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
        return _row_message(rows[pos])

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        row = await (await self._stores.async_()).pop_message(key)
        return None if row is None else _row_message(row)

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


# -- AsyncDBChatStore (LlamaIndex's Memory) -----------------------------------------------


def _status(status: MessageStatus | None) -> Any:
    """LlamaIndex's MessageStatus as memstore's status ("active" / "archived" / None)."""
    return None if status is None else MessageStatus(status).value


def _writable(status: MessageStatus) -> None:
    if MessageStatus(status) != MessageStatus.ACTIVE:
        raise ValidationError(
            "status", "memstore stores new messages as ACTIVE only; messages become "
            "ARCHIVED through archive_oldest_messages")


class MemstoreAsyncDBChatStore(AsyncDBChatStore):
    """LlamaIndex's ``AsyncDBChatStore`` (the store of ``Memory``) whose keys are memstore
    chats, with ACTIVE/ARCHIVED kept in memstore's status table.

    ``memory`` is an ``AsyncMemory`` or a URL (opened on first use, ``init_schema()`` run
    on it; close with ``aclose()``). ``user_id`` owns the messages this store writes;
    reads are not filtered by user (the status window is per chat).

    * ``get_messages(key, status=ACTIVE, limit=, offset=)``: oldest first by
      (timestamp, id), ``offset``/``limit`` counted among the messages of that status
      (``status=None``: all) — ``AsyncMemory.get_messages_window``.
    * ``count_messages(key, status=ACTIVE)``: counted in the database.
    * ``add_message``/``add_messages``: appends (a batch in one transaction, up to 10,000
      messages); ``set_messages``: ``replace_messages``, one transaction. New messages
      are ACTIVE; ``status=ARCHIVED`` is refused (memstore archives only the oldest).
    * ``archive_oldest_messages(key, n)``: ``archive_messages``, one transaction (in
      steps of 10,000); the messages returned are exactly those this call archived.
    * ``delete_message(key, idx)``: by **row id** (``Message.id``), as
      ``SQLAlchemyChatStore`` does and ``AsyncDBChatStore`` documents ("by ID"); a row
      that is not in this chat → None. (``MemstoreChatStore.delete_message`` deletes by
      position, as ``BaseChatStore`` defines it.)
    * ``delete_messages(key, status=None)``: every message of the chat in one
      transaction (``clear_messages``; the chat row stays); with a status, the messages
      of that status read, then deleted by id.
    * ``delete_oldest_messages(key, n)``: the oldest ``n`` ACTIVE messages, read then
      deleted by id; returns those deleted.
    * ``get_keys``: the chats that have messages, in code point order, at most 10,000.

    Every delete removes the deleted messages' status rows in its transaction.
    """

    _stores: Stores = PrivateAttr()
    _user_id: str | None = PrivateAttr(default=None)

    def __init__(self, memory: AsyncMemory | str, *, user_id: str | None = None,
                 **data: Any) -> None:
        super().__init__(**data)
        if isinstance(memory, Memory):
            raise ValidationError("memory", "AsyncDBChatStore is async only: pass a "
                                  "memstore.AsyncMemory or a URL")
        self._stores = Stores(memory, None, type(self).__name__)
        self._user_id = user_id

    @classmethod
    def class_name(cls) -> str:
        return "MemstoreAsyncDBChatStore"

    @property
    def user_id(self) -> str | None:
        return self._user_id

    async def _mem(self) -> AsyncMemory:
        return await self._stores.async_()

    async def get_messages(self, key: str,
                           status: MessageStatus | None = MessageStatus.ACTIVE,
                           limit: int | None = None,
                           offset: int | None = None) -> list[ChatMessage]:
        mem = await self._mem()
        rows = await mem.get_messages_window(key, status=_status(status), limit=limit,
                                             offset=offset or 0)
        return _messages(rows)

    async def count_messages(self, key: str,
                             status: MessageStatus | None = MessageStatus.ACTIVE) -> int:
        return await (await self._mem()).count_messages(key, status=_status(status))

    async def add_message(self, key: str, message: ChatMessage,
                          status: MessageStatus = MessageStatus.ACTIVE) -> None:
        await self.add_messages(key, [message], status)

    async def add_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        _writable(status)
        rows = [message_to_row(m) for m in messages]
        if not rows:
            return
        mem = await self._mem()
        for start in range(0, len(rows), MAX_IDS):
            await mem.save_messages(key, rows[start:start + MAX_IDS], user_id=self._user_id)

    async def set_messages(self, key: str, messages: list[ChatMessage],
                           status: MessageStatus = MessageStatus.ACTIVE) -> None:
        _writable(status)
        rows = [message_to_row(m) for m in messages]
        await (await self._mem()).replace_messages(key, rows, user_id=self._user_id)

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        if isinstance(idx, bool) or not isinstance(idx, int):
            raise ValidationError("idx", f"must be a message id (int); got {type(idx).__name__}")
        if idx < 1:
            return None
        mem = await self._mem()
        found = [r for r in await mem.get_messages_window(key) if r.id == idx]
        if not found or await mem.delete_messages(key, [idx]) != 1:
            return None
        return _row_message(found[0])

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        mem = await self._mem()
        if status is None:
            await mem.clear_messages(key)
            return
        rows = await mem.get_messages_window(key, status=_status(status))
        for chunk in _chunks([r.id for r in rows]):
            await mem.delete_messages(key, chunk)

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        if n < 1:
            return []
        mem = await self._mem()
        rows = await mem.get_messages_window(key, status="active", limit=n)
        gone: set[int] = set()
        for chunk in _chunks([r.id for r in rows]):
            if await mem.delete_messages(key, chunk) == len(chunk):
                gone.update(chunk)
            else:  # another writer deleted some meanwhile: return only what this did
                left = {r.id for r in await mem.get_messages_window(key)}
                gone.update(i for i in chunk if i not in left)
        return _messages([r for r in rows if r.id in gone])

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        mem = await self._mem()
        archived: list[Message] = []
        while n > len(archived):
            step = await mem.archive_messages(key, min(n - len(archived), MAX_IDS))
            archived += step
            if len(step) < MAX_IDS:
                break
        return _messages(archived)

    async def get_keys(self) -> list[str]:
        return await (await self._mem()).chat_ids(limit=MAX_KEYS)

    async def aclose(self) -> None:
        """Close the AsyncMemory this store opened from a URL (one passed in stays open)."""
        await self._stores.aclose()


# -- a memory block: the stored working memory ----------------------------------------------


class MemstoreWorkingMemoryBlock(BaseMemoryBlock[str]):
    """A ``Memory`` block holding the stored working memory of a chat or a user, as the TS
    package formats it (``working_memory.working_memory_block``: ``## Working Memory`` and
    the content); nothing when there is none. ``Memory`` puts it into the context (its
    ``memory_blocks_template``) on every ``aget``.

    ``scope="chat"`` reads the working memory of ``chat_id``, by default the ``Memory``'s
    session id (the chat store key); ``scope="user"`` that of ``user_id``. The block is
    read-only (``aput`` does nothing): the model updates working memory with memstore's
    ``updateWorkingMemory`` tool, or code with ``update_working_memory``. ``priority`` 0:
    ``Memory`` never truncates it.
    """

    name: str = "working_memory"
    description: str | None = "The working memory stored by memstore (shared with TS agents)."
    scope: Scope = "chat"
    chat_id: str | None = None
    user_id: str | None = None

    _stores: Stores = PrivateAttr()

    def __init__(self, memory: AsyncMemory | str, **data: Any) -> None:
        super().__init__(**data)
        if isinstance(memory, Memory):
            raise ValidationError("memory", "the memory block is async: pass a "
                                  "memstore.AsyncMemory or a URL")
        self._stores = Stores(memory, None, type(self).__name__)

    async def _aget(self, messages: list[ChatMessage] | None = None,
                    **block_kwargs: Any) -> str:
        session = block_kwargs.get("session_id")
        chat_id = self.chat_id or (session if isinstance(session, str) else None)
        return await load_working_memory(await self._stores.async_(), scope=self.scope,
                                         chat_id=chat_id, user_id=self.user_id)

    async def _aput(self, messages: list[ChatMessage]) -> None:
        return None  # working memory is written by its tool, not by ejected messages

    async def aclose(self) -> None:
        """Close the AsyncMemory this block opened from a URL."""
        await self._stores.aclose()


def search_memory_tool(memory: Memory | AsyncMemory | str, *, user_id: str,
                       amemory: AsyncMemory | None = None, mode: Mode = "keyword",
                       limit: int = 5) -> FunctionTool:
    """The ``search_memory`` tool for a LlamaIndex agent (``FunctionAgent(tools=[...])``):
    searches the past messages of ``user_id`` (a LlamaIndex run has no user context, so
    the tool is built per user) and answers with the hits as text (see
    ``memstore.integrations.search_tool``). Sync calls use the ``Memory``, async calls the
    ``AsyncMemory``, as the chat stores do; from a URL both are opened on first use."""
    user = validate.ident("user_id", user_id)
    stores = Stores(memory, amemory, "search_memory_tool")

    def search_memory(query: str) -> str:
        try:
            hits = stores.sync().search_messages(query, user_id=user, mode=mode, limit=limit)
        except Exception as exc:  # the model gets the error's kind, never the query
            log.error("memstore: search_memory failed: %s", type(exc).__name__)
            return f"error: {type(exc).__name__}"
        return st.format_hits(list(hits))

    async def asearch_memory(query: str) -> str:
        return await st.search_memory(await stores.async_(), query, user_id=user,
                                      mode=mode, limit=limit)

    return FunctionTool.from_defaults(
        fn=search_memory, async_fn=asearch_memory, name=st.TOOL_NAME,
        description=f"{st.TOOL_DESCRIPTION} Argument query: {st.QUERY_DESCRIPTION}")
