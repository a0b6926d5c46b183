"""LangChain over memstore's tables: a chat message history and a ``create_agent`` middleware.

* :class:`MemstoreChatMessageHistory` is a ``BaseChatMessageHistory`` (the interface
  ``RunnableWithMessageHistory`` and older code use; deprecated by LangChain since
  langchain-core 1.6.4, still widely deployed) whose messages are one memstore chat.
* :class:`MemstoreMiddleware` is the LangChain v1 way: an ``AgentMiddleware`` for
  ``langchain.agents.create_agent`` that loads the chat's last N messages before the agent
  runs, stores the run's new messages after it, puts the working memory into the system
  prompt and gives the model an ``updateWorkingMemory`` tool, with the TS agents
  package's texts (:mod:`memstore.integrations.working_memory`).

Every message is one row, a UIMessage (:mod:`memstore.integrations.codec`) that carries
``message_to_dict(message)`` exactly, so ``messages_from_dict`` gives back an equal message
(type, content blocks, tool calls, ids, metadata), and whose text part shows the visible
text to a TypeScript ``@ai-sdk-tools/agents`` app reading the same chat (tool messages and
AI messages that only call tools have no parts: the TS app does not see them).

Rows written by others decode by role: a UIMessage a TS app wrote, another framework's row
and a plain-text row (the plain API) become a ``HumanMessage`` (role user), ``AIMessage``
(assistant) or ``SystemMessage`` (system) with the row's visible text. Such a row with no
visible text (a TS assistant message with no text parts, another framework's tool call)
is skipped, as the TS app skips it.

Sync and async: each object holds a ``Memory`` for the sync methods and an ``AsyncMemory``
for the async ones; both run natively (no thread-pool fallback). Given a URL, it opens
each of them on that URL the first time a call of that kind needs it (and runs
``init_schema()`` on it, which is safe to repeat); given only a ``Memory``, an async call
raises :class:`memstore.MemstoreError` saying to pass ``amemory=`` (and the other way
round), because memstore cannot tell which database a ``Memory`` opened.

Install with ``pip install 'memstore-sql[langchain]'``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from langchain.agents.middleware import AgentMiddleware, AgentState, ModelRequest, ModelResponse
from langchain.agents.middleware.types import PrivateStateAttr
from langchain.tools import ToolRuntime
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    RemoveMessage,
    SystemMessage,
    ToolMessage,
    message_to_dict,
    messages_from_dict,
)
from langchain_core.tools import BaseTool, StructuredTool
from langgraph.graph.message import REMOVE_ALL_MESSAGES
from langgraph.runtime import Runtime
from pydantic import Field
from typing_extensions import NotRequired, TypedDict

from ..errors import MemstoreError, ValidationError
from ..models import Message, MessageItem, Role
from ..store import AsyncMemory, Memory
from . import codec
from . import search_tool as st
from . import working_memory as wm_text
from ._stores import Stores

FRAMEWORK = "langchain"
log = logging.getLogger("memstore")

__all__ = [
    "FRAMEWORK",
    "MemstoreChatMessageHistory",
    "MemstoreContext",
    "MemstoreMiddleware",
    "MemstoreState",
    "message_role",
    "message_text",
    "message_to_row",
    "row_to_message",
]


# -- the row format --------------------------------------------------------------------


def message_role(message: BaseMessage) -> Role:
    """The row role of a message (FRAMEWORKS.md §2): human → ``user``, system → ``system``,
    everything the model produced or that answers it (AI, tool, function) → ``assistant``.
    A ``ChatMessage`` maps by its ``role`` (user/human → user, system/developer → system)."""
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ChatMessage):
        if message.role in ("user", "human"):
            return "user"
        if message.role in ("system", "developer"):
            return "system"
    return "assistant"


def message_text(message: BaseMessage) -> str | None:
    """The text a TS agents app should see, or None to hide the row: tool and function
    results and AI messages without text (tool calls only) are hidden."""
    if isinstance(message, ToolMessage) or message.type in ("tool", "function"):
        return None
    text = str(message.text)
    if isinstance(message, AIMessage) and not text:
        return None
    return text


def message_to_row(message: BaseMessage) -> MessageItem:
    """The ``save_messages`` entry for ``message``: its role and its UIMessage row, which
    carries ``message_to_dict(message)`` exactly."""
    if not isinstance(message, BaseMessage):
        raise ValidationError("messages", "a message must be a langchain_core BaseMessage, "
                              f"got {type(message).__name__}")
    if isinstance(message, RemoveMessage):
        raise ValidationError("messages", "a RemoveMessage is an instruction to the message "
                              "reducer, not a message to store")
    role = message_role(message)
    content = codec.encode(FRAMEWORK, message_to_dict(message), role=role,
                           text=message_text(message), message_id=message.id)
    return {"role": role, "content": content}


def row_to_message(role: str, content: str) -> BaseMessage | None:
    """The message a row holds: the exact message for a row this integration wrote; a
    Human/AI/SystemMessage with the visible text for a TS UIMessage, another framework's
    row or plain text; None for such a row with no visible text (skipped)."""
    item, other = codec.decode_for(FRAMEWORK, role, content)
    if other is None:
        return messages_from_dict([item])[0]
    return _text_message(other)


def _text_message(other: codec.Decoded) -> BaseMessage | None:
    text = other.text  # joined on each access: once
    if other.kind != "text" and not text:
        return None
    if other.role == "user":
        return HumanMessage(content=text)
    if other.role == "system":
        return SystemMessage(content=text)
    return AIMessage(content=text)


def rows_to_messages(rows: Sequence[Message]) -> list[BaseMessage]:
    """The messages of stored rows, in order (rows with nothing to show are skipped). A
    row of this integration that LangChain cannot load (damaged, hand-edited) reads as
    its visible text, as a foreign row does; an unknown role column as ``assistant``."""
    out = []
    for row in rows:
        role, content = codec.row_fields(row)
        try:
            message = row_to_message(role, content)
        except Exception:  # messages_from_dict: KeyError, ValueError, pydantic errors
            message = _text_message(codec.fallback(role, content))
        if message is not None:
            out.append(message)
    return out


# -- BaseChatMessageHistory ------------------------------------------------------------


class MemstoreChatMessageHistory(BaseChatMessageHistory):
    """A LangChain chat message history whose messages are the memstore chat ``chat_id``.

    ``memory`` is a ``memstore.Memory`` (sync methods), an ``AsyncMemory`` (async methods)
    or a URL (both, opened on first use; close with ``close()``/``aclose()``); pass
    ``amemory=`` beside a ``Memory`` for both. ``user_id`` owns the messages this history
    adds, and reads keep that user's messages and those saved without a user (memstore's
    ``get_messages(user_id=...)``). ``limit`` is the history window: the newest ``limit``
    messages, oldest first (None, the default: the whole chat).

    ``add_messages`` saves the batch in one transaction (all or nothing); ``clear`` deletes
    the chat's messages and keeps the chat row (title, owner) and its working memory.
    """

    def __init__(self, memory: Memory | AsyncMemory | str, chat_id: str, *,
                 amemory: AsyncMemory | None = None, user_id: str | None = None,
                 limit: int | None = None) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ValidationError("limit", f"must be a positive int or None; got {limit!r}")
        self._stores = Stores(memory, amemory, type(self).__name__)
        self.chat_id = chat_id
        self.user_id = user_id
        self.limit = limit

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The chat's messages (the newest ``limit``), oldest first."""
        rows = self._stores.sync().get_messages(self.chat_id, user_id=self.user_id,
                                                limit=self.limit)
        return rows_to_messages(rows)

    async def aget_messages(self) -> list[BaseMessage]:
        rows = await (await self._stores.async_()).get_messages(
            self.chat_id, user_id=self.user_id, limit=self.limit)
        return rows_to_messages(rows)

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Append ``messages`` in order, in one transaction."""
        rows = [message_to_row(m) for m in messages]
        if rows:
            self._stores.sync().save_messages(self.chat_id, rows, user_id=self.user_id)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        rows = [message_to_row(m) for m in messages]
        if rows:
            await (await self._stores.async_()).save_messages(self.chat_id, rows,
                                                              user_id=self.user_id)

    async def aadd_message(self, message: BaseMessage) -> None:
        await self.aadd_messages([message])

    async def aadd_user_message(self, message: HumanMessage | str) -> None:
        await self.aadd_message(message if isinstance(message, HumanMessage)
                                else HumanMessage(content=message))

    async def aadd_ai_message(self, message: AIMessage | str) -> None:
        await self.aadd_message(message if isinstance(message, AIMessage)
                                else AIMessage(content=message))

    def clear(self) -> None:
        """Delete the chat's messages; the chat row and its working memory stay."""
        self._stores.sync().clear_messages(self.chat_id)

    async def aclear(self) -> None:
        await (await self._stores.async_()).clear_messages(self.chat_id)

    def close(self) -> None:
        """Close the Memory this history opened from a URL (a memory passed in stays open)."""
        self._stores.close()

    async def aclose(self) -> None:
        """Close whatever this history opened from a URL."""
        await self._stores.aclose()


# -- the create_agent middleware -------------------------------------------------------

WORKING_MEMORY_TOOL = wm_text.TOOL_NAME  # "updateWorkingMemory", as the instructions say


def working_memory_section(content: str | None, template: str = wm_text.DEFAULT_TEMPLATE,
                           ) -> str:
    """What the middleware appends to the system prompt, as the TS agents package does:
    ``"\n\n"`` + the working-memory instructions + the stored working memory
    (``\n## Working Memory\n\n<content>\n``; nothing when there is none)."""
    return ("\n\n" + wm_text.working_memory_instructions(template)
            + wm_text.working_memory_block(content))


class MemstoreContext(TypedDict, total=False):
    """A run context for ``create_agent(..., context_schema=MemstoreContext)``; any context
    with ``chat_id`` (and ``user_id``) as keys or attributes works."""

    chat_id: str
    user_id: str


class MemstoreState(AgentState[Any]):
    """The agent state with the ids of the messages that are already in memstore (loaded
    or stored), private to the middleware. With a checkpointer it persists with the
    thread, which is how the middleware knows not to load the history again."""

    memstore_known: NotRequired[Annotated[list[str], PrivateStateAttr]]


def _with_id(message: BaseMessage) -> BaseMessage:
    """The message, given a fresh id if it has none (so the middleware can recognise it
    in the state after the run; LangGraph's reducer would give it a random one)."""
    if message.id:
        return message
    return message.model_copy(update={"id": str(uuid.uuid4())})


class MemstoreMiddleware(AgentMiddleware[MemstoreState, Any]):
    """Memory for ``create_agent`` from a memstore chat.

    ``agent = create_agent(model, tools, middleware=[MemstoreMiddleware(mem)])``, then
    ``agent.invoke({"messages": [...]}, context={"chat_id": "c1", "user_id": "u1"})``.
    The chat id comes from the run's context (``chat_id`` or ``chatId``, as attribute or
    key, directly or under ``metadata``, as the TS agents package reads it); the user id
    likewise (optional unless ``working_memory="user"``).

    * Before the agent: the chat's newest ``limit`` messages (None: all) replace the state's
      messages, followed by the run's input: ``[RemoveMessage(REMOVE_ALL_MESSAGES),
      *stored, *input]``, so the model sees the history first, each message once.
    * After the agent: every message of the final state that was neither loaded nor stored
      before (the input, the model's answers, tool calls and results) is saved, in order,
      in one transaction. A run that fails before the end stores nothing of that run.
    * Every model call: the working-memory instructions and the working memory of
      ``working_memory`` scope (``"chat"``, ``"user"``, or None for none) are appended to
      the system prompt, as the TS agents package does, and the model gets its
      ``updateWorkingMemory(content)`` tool, which replaces that working memory and
      answers ``"success"`` or ``"error"`` (the reason is logged, never the content).

    With a checkpointer, the thread's state already holds the conversation: the history is
    loaded from memstore on the thread's first run only (the state then carries the private
    ``memstore_known`` list), later runs on the thread add only their new messages; nothing
    is loaded or stored twice. Without a checkpointer, every run loads the history afresh.
    Messages that other middleware puts into the state (a summary, for example) are new
    messages to this middleware and are stored too.
    """

    state_schema = MemstoreState

    def __init__(self, memory: Memory | AsyncMemory | str, *,
                 amemory: AsyncMemory | None = None, limit: int | None = 50,
                 working_memory: Literal["chat", "user"] | None = "chat",
                 template: str | None = None, search: bool = False) -> None:
        super().__init__()
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ValidationError("limit", f"must be a positive int or None; got {limit!r}")
        if working_memory not in ("chat", "user", None):
            raise ValidationError("working_memory", "must be 'chat', 'user' or None; got "
                                  f"{working_memory!r}")
        self._stores = Stores(memory, amemory, type(self).__name__)
        self.limit = limit
        self.scope = working_memory
        self.template = template or wm_text.DEFAULT_TEMPLATE
        self.tools: list[BaseTool] = [self._tool()] if working_memory else []
        if search:  # the search_memory tool (memstore.integrations.search_tool)
            self.tools.append(self._search_tool())

    # ids ------------------------------------------------------------------------------

    def ids(self, context: Any) -> tuple[str, str | None]:
        """(chat_id, user_id) of a run, from its context."""
        chat_id = wm_text.id_from_context(context, "chat")
        user_id = wm_text.id_from_context(context, "user")
        if chat_id is None:
            raise MemstoreError(
                "MemstoreMiddleware needs the chat id in the run's context: "
                "agent.invoke(..., context={'chat_id': ..., 'user_id': ...})")
        if self.scope == "user" and user_id is None:
            raise MemstoreError("MemstoreMiddleware(working_memory='user') needs the user id "
                                "in the run's context (context={'user_id': ...})")
        return chat_id, user_id

    # before the agent -------------------------------------------------------------------

    def _loaded(self, state: MemstoreState, rows: Sequence[Message]) -> dict[str, Any]:
        stored = [_with_id(m) for m in rows_to_messages(rows)]
        new = [_with_id(m) for m in state["messages"]]
        return {"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES), *stored, *new],
                "memstore_known": [str(m.id) for m in stored]}

    def before_agent(self, state: MemstoreState,
                     runtime: Runtime[Any]) -> dict[str, Any] | None:
        if state.get("memstore_known") is not None:
            return None  # a checkpointed thread: its state already holds the history
        chat_id, user_id = self.ids(runtime.context)
        rows = self._stores.sync().get_messages(chat_id, user_id=user_id, limit=self.limit)
        return self._loaded(state, rows)

    async def abefore_agent(self, state: MemstoreState,
                            runtime: Runtime[Any]) -> dict[str, Any] | None:
        if state.get("memstore_known") is not None:
            return None
        chat_id, user_id = self.ids(runtime.context)
        mem = await self._stores.async_()
        rows = await mem.get_messages(chat_id, user_id=user_id, limit=self.limit)
        return self._loaded(state, rows)

    # after the agent --------------------------------------------------------------------

    @staticmethod
    def _new(state: MemstoreState) -> tuple[list[BaseMessage], list[str]]:
        known = list(state.get("memstore_known") or [])
        seen = set(known)
        new = [m for m in state["messages"] if m.id is None or m.id not in seen]
        return new, known + [str(m.id) for m in new if m.id is not None]

    def after_agent(self, state: MemstoreState,
                    runtime: Runtime[Any]) -> dict[str, Any] | None:
        new, known = self._new(state)
        if new:
            chat_id, user_id = self.ids(runtime.context)
            self._stores.sync().save_messages(chat_id, [message_to_row(m) for m in new],
                                              user_id=user_id)
        return {"memstore_known": known}

    async def aafter_agent(self, state: MemstoreState,
                           runtime: Runtime[Any]) -> dict[str, Any] | None:
        new, known = self._new(state)
        if new:
            chat_id, user_id = self.ids(runtime.context)
            mem = await self._stores.async_()
            await mem.save_messages(chat_id, [message_to_row(m) for m in new],
                                    user_id=user_id)
        return {"memstore_known": known}

    # the system prompt --------------------------------------------------------------------

    def _prompted(self, request: ModelRequest[Any], content: str | None) -> ModelRequest[Any]:
        section = working_memory_section(content, self.template)
        system = request.system_message
        if system is None:
            return request.override(system_message=SystemMessage(content=section.lstrip()))
        if isinstance(system.content, str):
            merged: Any = system.content + section
        else:
            merged = [*system.content, {"type": "text", "text": section}]
        return request.override(system_message=system.model_copy(update={"content": merged}))

    def _wm_args(self, context: Any) -> dict[str, Any]:
        chat_id, user_id = self.ids(context)
        return {"scope": self.scope, "chat_id": chat_id, "user_id": user_id}

    def wrap_model_call(self, request: ModelRequest[Any],
                        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
                        ) -> ModelResponse[Any]:
        if self.scope is None:
            return handler(request)
        wm = self._stores.sync().get_working_memory(**self._wm_args(request.runtime.context))
        return handler(self._prompted(request, wm.content if wm else None))

    async def awrap_model_call(
        self, request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        if self.scope is None:
            return await handler(request)
        mem = await self._stores.async_()
        wm = await mem.get_working_memory(**self._wm_args(request.runtime.context))
        return await handler(self._prompted(request, wm.content if wm else None))

    # the tool ---------------------------------------------------------------------------

    def _tool(self) -> BaseTool:
        def update_working_memory(content: Annotated[str, Field(
                description=wm_text.CONTENT_DESCRIPTION)],
                runtime: ToolRuntime[Any, Any]) -> str:
            try:
                self._stores.sync().update_working_memory(
                    content=content, **self._wm_args(runtime.context))
            except Exception as exc:  # the model gets "error", as from the TS tool
                log.error("memstore: updating working memory failed: %s",
                          type(exc).__name__)
                return "error"
            return "success"

        async def aupdate_working_memory(content: Annotated[str, Field(
                description=wm_text.CONTENT_DESCRIPTION)],
                runtime: ToolRuntime[Any, Any]) -> str:
            try:
                mem = await self._stores.async_()
                args = self._wm_args(runtime.context)
            except Exception as exc:
                log.error("memstore: updating working memory failed: %s",
                          type(exc).__name__)
                return "error"
            return await wm_text.update_working_memory(mem, content, **args)

        return StructuredTool.from_function(
            func=update_working_memory, coroutine=aupdate_working_memory,
            name=WORKING_MEMORY_TOOL, description=wm_text.TOOL_DESCRIPTION)

    def _search_tool(self) -> BaseTool:
        """``search_memory(query)``: the run's user's past messages (keyword mode; the
        user id from the run's context, none: ``"error: no user"``)."""
        def search_memory(query: Annotated[str, Field(description=st.QUERY_DESCRIPTION)],
                          runtime: ToolRuntime[Any, Any]) -> str:
            user_id = wm_text.id_from_context(runtime.context, "user")
            if user_id is None:
                return "error: no user"
            try:
                hits = self._stores.sync().search_messages(query, user_id=user_id, limit=5)
            except Exception as exc:  # the model gets the error's kind, as from the TS tools
                log.error("memstore: search_memory failed: %s", type(exc).__name__)
                return f"error: {type(exc).__name__}"
            return st.format_hits(list(hits))

        async def asearch_memory(query: Annotated[str, Field(
                description=st.QUERY_DESCRIPTION)], runtime: ToolRuntime[Any, Any]) -> str:
            try:
                mem = await self._stores.async_()
            except Exception as exc:
                log.error("memstore: search_memory failed: %s", type(exc).__name__)
                return f"error: {type(exc).__name__}"
            return await st.search_memory(
                mem, query, user_id=wm_text.id_from_context(runtime.context, "user"))

        return StructuredTool.from_function(
            func=search_memory, coroutine=asearch_memory, name=st.TOOL_NAME,
            description=st.TOOL_DESCRIPTION)

    # lifetime ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the Memory this middleware opened from a URL."""
        self._stores.close()

    async def aclose(self) -> None:
        """Close whatever this middleware opened from a URL."""
        await self._stores.aclose()
