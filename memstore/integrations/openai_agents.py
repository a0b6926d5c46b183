"""OpenAI Agents SDK session over memstore's tables: ``MemstoreSession``.

It implements the SDK's ``Session`` protocol directly (``agents.memory.Session``): one row
per item, each row a UIMessage (:mod:`memstore.integrations.codec`) carrying the item
exactly, so ``json.dumps(item, sort_keys=True)`` of what ``get_items`` / ``pop_item`` return
is that of what ``add_items`` was given (the runner compares them on retries), and a
TypeScript ``@ai-sdk-tools/agents`` app reading the same chat sees the user and assistant
text (tool calls, tool outputs and reasoning are rows with no parts, invisible to it).

Rows this session did not write decode as easy input messages: a UIMessage a TS app wrote
becomes ``{"role": ..., "content": <its text>}``, a plain-text row (the plain API) the same
with the row's role.

Install with ``pip install 'memstore-sql[agents]'``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, cast

from agents import Agent, FunctionTool, RunContextWrapper, function_tool
from agents.memory import SessionSettings
from agents.memory.session_settings import coerce_session_settings

from ..errors import ClosedError, ValidationError
from ..models import Message, MessageItem, Role, Scope
from ..recall import Mode
from ..store import AsyncMemory
from . import codec
from . import search_tool as st
from . import working_memory as wm
from .titles import TITLE_INSTRUCTIONS, TITLE_MAX_LENGTH, generate_title

if TYPE_CHECKING:
    from agents.items import TResponseInputItem

FRAMEWORK = "openai-agents"
MAX_BATCH = 10_000  # memstore's largest batch per save_messages call



__all__ = ["FRAMEWORK", "TITLE_INSTRUCTIONS", "TITLE_MAX_LENGTH", "MemstoreSession",
           "generate_title", "item_role", "item_text", "search_memory_tool",
           "user_id_from_context", "working_memory_instructions", "working_memory_tool"]


def item_role(item: Mapping[str, Any]) -> Role:
    """The row role of an item (FRAMEWORKS.md §2): user-authored → ``user``; system and
    developer messages → ``system``; everything the model produced or that answers a model
    call (assistant text, tool calls and outputs, reasoning, ...) → ``assistant``. Only
    message items go by their ``role``: an item of another type that has one
    (``additional_tools``, role ``developer``) is a hidden ``assistant`` row, as TS turns a
    ``system`` row with no parts into an empty system message."""
    if item.get("type", "message") != "message":
        return "assistant"
    role = item.get("role")
    if role == "user":
        return "user"
    if role in ("system", "developer"):
        return "system"
    return "assistant"


def item_text(item: Mapping[str, Any]) -> str | None:
    """The text a TS agents app should see for ``item``, or None to hide the row.

    Message items (user, system, developer, assistant) show their text parts; every other
    item (function calls and outputs, reasoning, hosted tools, compaction...) is hidden."""
    if "role" not in item or item.get("type", "message") != "message":
        return None
    content = item.get("content")
    if isinstance(content, str):
        return content or None
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
    joined = "\n".join(texts)
    return joined or None


def user_id_from_context(context: Any) -> str | None:
    """The user id in a run context, looked up as ``@ai-sdk-tools/agents`` does
    (``ctx.userId || ctx.metadata?.userId``), in Python spelling too: an attribute or key
    ``user_id`` / ``userId``, directly or under ``metadata``. None when there is none."""
    return wm.id_from_context(context, "user")


def decode_item(role: str, content: str) -> TResponseInputItem:
    """The item a row holds: the exact item for a row this integration wrote; an easy
    input message with the visible text for anything else (a TS UIMessage, another
    framework's row, plain text)."""
    item, other = codec.decode_for(FRAMEWORK, role, content)
    if other is None:
        found: TResponseInputItem = item  # not cast(): a Python call per row, for nothing
        return found
    return cast("TResponseInputItem", {"role": other.role, "content": other.text})


def decode_row(row: Message) -> TResponseInputItem:
    """:func:`decode_item` for a stored row, whatever it holds: an item of this
    integration that is not a JSON object (damaged, hand-edited) reads as the row's
    visible text, an unknown role column as ``assistant`` (codec.row_fields)."""
    role, content = codec.row_fields(row)
    item, other = codec.decode_for(FRAMEWORK, role, content)
    if other is None:
        if type(item) is dict:
            found: TResponseInputItem = item  # type: ignore[assignment]
            return found
        other = codec.fallback(role, content)
    return cast("TResponseInputItem", {"role": other.role, "content": other.text})


def encode_item(item: TResponseInputItem) -> MessageItem:
    """The ``save_messages`` entry for ``item``: its row role and its UIMessage row."""
    if not isinstance(item, Mapping):
        raise ValidationError("items", f"an item must be a dict, got {type(item).__name__}")
    role = item_role(item)
    return {"role": role,
            "content": codec.encode(FRAMEWORK, item, role=role, text=item_text(item))}


def _closed() -> ClosedError:
    return ClosedError("MemstoreSession", "create a new MemstoreSession")


class MemstoreSession:
    """An Agents SDK session (``agents.memory.Session``) whose history is the memstore
    chat ``session_id``.

    ``memory`` is an :class:`~memstore.AsyncMemory` (yours: never closed here) or a URL:
    then the session opens its own ``AsyncMemory`` on first use, creates the tables if
    missing (``create_tables=True``) and closes it in :meth:`close` (``await
    session.close()``, as the SDK's own async sessions close; ``aclose`` is an alias).
    After ``close`` every call on the session raises ``ClosedError``. ``user_id`` is the
    owner written with new rows; when None, each call takes it from the run context the
    runner passes (``wrapper.context``: ``user_id`` / ``userId``, directly or under
    ``metadata``), else the rows have no user.

    ``get_items(limit)``: ``None`` means ``session_settings.limit``, then all; ``limit <=
    0`` gives ``[]``; otherwise the newest ``limit`` items, oldest first. With
    ``max_tokens``, the newest whole turns within that many tokens (and ``limit`` items),
    the newest turn always: never a tool output without its call (docs/budget.md). ``add_items`` is
    one transaction (up to 10,000 items per call; a larger list is written in batches of
    10,000, each atomic). ``pop_item`` removes and returns the newest item atomically (each
    item goes to exactly one of concurrent callers). ``clear_session`` deletes the items and
    keeps the chat row (title, owner) and the chat's working memory.
    """

    def __init__(self, session_id: str, memory: AsyncMemory | str, *,
                 user_id: str | None = None,
                 session_settings: SessionSettings | Mapping[str, Any] | None = None,
                 create_tables: bool = True, max_tokens: int | None = None) -> None:
        if not isinstance(session_id, str) or not session_id:
            raise ValidationError("session_id", "must be a non-empty str")
        if not isinstance(memory, (AsyncMemory, str)):
            raise ValidationError(
                "memory", f"must be an AsyncMemory or a URL, got {type(memory).__name__}")
        if max_tokens is not None and (isinstance(max_tokens, bool)
                                       or not isinstance(max_tokens, int) or max_tokens < 1):
            raise ValidationError("max_tokens", f"must be a positive int or None; got "
                                  f"{max_tokens!r}")
        self.session_id = session_id
        self.user_id = user_id
        # get_items returns whole turns within this many tokens (docs/budget.md)
        self.max_tokens = max_tokens
        self.session_settings: SessionSettings | None = (
            SessionSettings() if session_settings is None
            else coerce_session_settings(cast(Any, session_settings)))
        self._url = memory if isinstance(memory, str) else None
        self._mem = memory if isinstance(memory, AsyncMemory) else None
        self._create_tables = create_tables
        self._opening: Future[AsyncMemory] | None = None
        self._guard = threading.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"MemstoreSession({self.session_id!r}, {self._mem or '<not opened>'})"

    # -- the Session protocol ---------------------------------------------------------

    async def get_items(self, limit: int | None = None, *,
                        wrapper: RunContextWrapper[Any] | None = None,
                        ) -> list[TResponseInputItem]:
        """The session's items, oldest first: the newest ``limit`` (``None``: the
        session settings' limit, else all; ``<= 0``: none)."""
        if limit is None and self.session_settings is not None:
            limit = self.session_settings.limit
        if limit is not None and limit <= 0:
            return []
        mem = await self.memory()
        rows = await mem.get_messages(self.session_id, limit=limit, max_tokens=self.max_tokens)
        return [decode_row(row) for row in rows]

    async def add_items(self, items: list[TResponseInputItem], *,
                        wrapper: RunContextWrapper[Any] | None = None) -> None:
        """Append ``items`` in order, in one transaction."""
        batch = [encode_item(item) for item in items]  # refused before anything is written
        if not batch:
            return
        mem = await self.memory()
        user_id = self._user_id(wrapper)
        for start in range(0, len(batch), MAX_BATCH):
            await mem.save_messages(self.session_id, batch[start:start + MAX_BATCH],
                                    user_id=user_id)

    async def pop_item(self, *, wrapper: RunContextWrapper[Any] | None = None,
                       ) -> TResponseInputItem | None:
        """Remove and return the newest item; None when the session is empty."""
        mem = await self.memory()
        row = await mem.pop_message(self.session_id)
        return None if row is None else decode_row(row)

    async def clear_session(self, *, wrapper: RunContextWrapper[Any] | None = None) -> None:
        """Delete every item; the chat row and the chat's working memory stay."""
        mem = await self.memory()
        await mem.clear_messages(self.session_id)

    # -- the store ----------------------------------------------------------------------

    async def memory(self) -> AsyncMemory:
        """The ``AsyncMemory`` underneath (opened on first use when built from a URL)."""
        if self._closed:
            raise _closed()
        if self._mem is not None:
            return self._mem
        with self._guard:
            if self._closed:
                raise _closed()
            opening = self._opening
            if opening is None:
                opening = self._opening = Future()
                owner = True
            else:
                owner = False
        if owner:
            task = asyncio.ensure_future(self._open())
            try:
                # The open finishes even if this caller is cancelled: the others wait on it.
                mem = await asyncio.shield(task)
            except BaseException as exc:
                if isinstance(exc, asyncio.CancelledError) and not task.done():
                    task.add_done_callback(lambda t: self._settle(opening, t))
                    raise
                self._settle(opening, task)
                raise
            self._settle(opening, task)
            return mem
        return await asyncio.wrap_future(opening)

    async def _open(self) -> AsyncMemory:
        from ..connect import connect_async

        assert self._url is not None
        mem = await connect_async(self._url)
        try:
            if self._create_tables:
                await mem.init_schema()
        except BaseException:
            await mem.aclose()
            raise
        return mem

    def _settle(self, opening: Future[AsyncMemory], task: asyncio.Future[AsyncMemory]) -> None:
        with self._guard:
            if opening.done():
                return
            if task.cancelled():
                self._opening = None  # the next call tries again
                opening.set_exception(asyncio.CancelledError())
            elif task.exception() is not None:
                self._opening = None
                opening.set_exception(cast(BaseException, task.exception()))
            else:
                self._mem = task.result()
                opening.set_result(self._mem)

    async def close(self) -> None:
        """Close the session: later calls raise ``ClosedError``. Closes the
        ``AsyncMemory`` this session opened from a URL (one you passed in stays open).
        Closing twice is fine."""
        with self._guard:
            opening, self._opening = self._opening, None
            self._closed = True
        if self._url is None or opening is None:
            return
        try:
            mem = await asyncio.wrap_future(opening)
        except Exception:
            return  # it never opened
        self._mem = None
        await mem.aclose()

    aclose = close  # the name memstore's own objects use

    async def __aenter__(self) -> MemstoreSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _user_id(self, wrapper: RunContextWrapper[Any] | None) -> str | None:
        if self.user_id is not None:
            return self.user_id
        if wrapper is None:
            return None
        return user_id_from_context(wrapper.context)


# -- working memory, as @ai-sdk-tools/agents does it (memstore.integrations.working_memory) --

def working_memory_tool(mem: AsyncMemory, *, scope: Scope = "chat",
                        chat_id: str | None = None, user_id: str | None = None,
                        ) -> FunctionTool:
    """The ``updateWorkingMemory`` tool for an ``Agent(tools=[...])``: replaces the working
    memory of ``scope`` (``chat`` or ``user``) and returns ``"success"`` or ``"error"``.
    Ids not given here come from the run context (``chat_id`` / ``chatId``, ``user_id`` /
    ``userId``, directly or under ``metadata``)."""

    async def update_working_memory(ctx: RunContextWrapper[Any], content: str) -> str:
        return await wm.update_working_memory(
            mem, content, scope=scope,
            chat_id=chat_id or wm.id_from_context(ctx.context, "chat"),
            user_id=user_id or wm.id_from_context(ctx.context, "user"))

    update_working_memory.__doc__ = (f"{wm.TOOL_DESCRIPTION}\n\nArgs:\n"
                                     f"    content: {wm.CONTENT_DESCRIPTION}\n")
    return function_tool(update_working_memory, name_override=wm.TOOL_NAME,
                         description_override=wm.TOOL_DESCRIPTION)


def search_memory_tool(mem: AsyncMemory, *, user_id: str | None = None,
                       mode: Mode = "keyword", limit: int = 5) -> FunctionTool:
    """The ``search_memory`` tool for an ``Agent(tools=[...])``: searches the past messages
    of the run's user (``user_id`` here, else ``user_id`` / ``userId`` in the run context)
    and answers with the hits as text (see ``memstore.integrations.search_tool``)."""

    async def search_memory(ctx: RunContextWrapper[Any], query: str) -> str:
        return await st.search_memory(
            mem, query, user_id=user_id or wm.id_from_context(ctx.context, "user"),
            mode=mode, limit=limit)

    search_memory.__doc__ = (f"{st.TOOL_DESCRIPTION}\n\nArgs:\n"
                             f"    query: {st.QUERY_DESCRIPTION}\n")
    return function_tool(search_memory, name_override=st.TOOL_NAME,
                         description_override=st.TOOL_DESCRIPTION)


def working_memory_instructions(
        mem: AsyncMemory, instructions: str, *, scope: Scope = "chat",
        chat_id: str | None = None, user_id: str | None = None,
        template: str = wm.DEFAULT_TEMPLATE,
) -> Any:
    """Dynamic ``Agent(instructions=...)``: ``instructions``, the TS working-memory
    instructions and the stored working memory, loaded on every run (ids as for
    :func:`working_memory_tool`)."""

    async def build(ctx: RunContextWrapper[Any], agent: Agent[Any]) -> str:
        block = await wm.load_working_memory(
            mem, scope=scope, chat_id=chat_id or wm.id_from_context(ctx.context, "chat"),
            user_id=user_id or wm.id_from_context(ctx.context, "user"))
        return f"{instructions}\n\n{wm.working_memory_instructions(template)}{block}"

    return build


