"""PydanticAI message history over memstore's tables.

PydanticAI has no storage protocol: a run takes ``message_history=`` (a list of
``ModelMessage``) and hands back ``result.new_messages()``. So this module is two calls::

    history = await load_messages(mem, chat_id)            # optionally limit=N
    result = await agent.run(prompt, message_history=history)
    await save_messages(mem, chat_id, result.new_messages(), user_id=user)

(``load_messages_sync`` / ``save_messages_sync`` take a ``Memory``.) One row per
``ModelMessage``, each a UIMessage (:mod:`memstore.integrations.codec`) carrying the message
exactly as ``ModelMessagesTypeAdapter`` dumps it to JSON, so it loads back equal (PydanticAI's
own JSON trip turns ``BinaryContent`` with an image media type into ``BinaryImage``, equal
after one trip). A TypeScript ``@ai-sdk-tools/agents`` app reading the chat sees the user
prompts and the model's text; requests carrying only tool returns, and responses with no
text (tool calls, thinking only), are rows with no parts.

Rows written by someone else load through PydanticAI's own UIMessage decoder
(``VercelAIAdapter.load_messages``): UIMessages a TS app wrote, other integrations' rows (by
their visible text); a plain-text row becomes a user prompt, a text response or a system
prompt by its role.

A window (``limit=N``) usually starts after the first request, which holds the system
prompt: give the agent ``instructions=`` (sent on every request, never stored in history)
rather than ``system_prompt=``, or keep the system prompt with PydanticAI's
``ReinjectSystemPrompt``.

Install with ``pip install 'memstore-sql[pydantic-ai]'``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic_ai import RunContext, Tool
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    UserPromptPart,
)

from ..errors import ValidationError
from ..models import Message, MessageItem, Role, Scope
from ..recall import Mode
from ..store import AsyncMemory, Memory
from . import codec
from . import search_tool as st
from . import working_memory as wm
from .titles import TITLE_INSTRUCTIONS, TITLE_MAX_LENGTH, generate_title

FRAMEWORK = "pydantic-ai"


__all__ = ["FRAMEWORK", "TITLE_INSTRUCTIONS", "TITLE_MAX_LENGTH", "decode_rows", "encode_message",
           "generate_title", "load_messages", "load_messages_sync", "message_role",
           "message_text", "save_messages", "save_messages_sync", "search_memory_tool",
           "working_memory_tool"]


def message_role(message: ModelMessage) -> Role:
    """The row role: a request with a user prompt → ``user``; a request with only system
    prompts → ``system``; responses, and requests answering the model (tool returns,
    retry prompts) → ``assistant``."""
    if isinstance(message, ModelResponse):
        return "assistant"
    kinds = {type(part) for part in message.parts}
    if UserPromptPart in kinds:
        return "user"
    if kinds and kinds <= {SystemPromptPart}:
        return "system"
    return "assistant"


def message_text(message: ModelMessage) -> str | None:
    """The text a TS agents app should see: the user prompts' text of a user request, the
    system prompts of a system request, the text parts of a response; None to hide it."""
    role = message_role(message)
    texts: list[str] = []
    if isinstance(message, ModelResponse):
        texts = [part.content for part in message.parts if isinstance(part, TextPart)]
    elif role == "user":
        for part in message.parts:
            if isinstance(part, UserPromptPart):
                content = part.content
                if isinstance(content, str):
                    texts.append(content)
                else:
                    texts.extend(c for c in content if isinstance(c, str))
    elif role == "system":
        texts = [p.content for p in message.parts if isinstance(p, SystemPromptPart)]
    joined = "\n".join(t for t in texts if t)
    return joined or None


def encode_message(message: ModelMessage) -> MessageItem:
    """The ``save_messages`` entry for ``message``: its row role and its UIMessage row."""
    if not isinstance(message, (ModelRequest, ModelResponse)):
        raise ValidationError(
            "messages", f"must be ModelRequest / ModelResponse, got {type(message).__name__}")
    (item,) = ModelMessagesTypeAdapter.dump_python([message], mode="json")
    role = message_role(message)
    return {"role": role,
            "content": codec.encode(FRAMEWORK, item, role=role, text=message_text(message))}


def decode_rows(rows: Sequence[Message]) -> list[ModelMessage]:
    """The messages the rows hold, in order (see the module docstring)."""
    out: list[ModelMessage] = []
    foreign: list[dict[str, Any]] = []  # consecutive UIMessages not written here

    def flush() -> None:
        if foreign:
            out.extend(_load_ui(foreign))
            foreign.clear()

    for row in rows:
        role, content = codec.row_fields(row)  # an unknown role column is "assistant"
        item, decoded = codec.decode_for(FRAMEWORK, role, content)
        if decoded is None:
            try:
                loaded = ModelMessagesTypeAdapter.validate_python([item])
            except Exception:  # an item PydanticAI cannot load (damaged, hand-edited)
                decoded = codec.fallback(role, content)
            else:
                flush()
                out.extend(loaded)
                continue
        if decoded.kind in ("item", "ui"):
            assert decoded.ui is not None
            ui = decoded.ui
            if decoded.kind == "item":  # another integration's row: its visible text
                ui = {"id": ui.get("id") or "", "role": ui["role"], "parts": ui["parts"]}
            foreign.append(ui)
        else:
            foreign.append({"id": f"memstore-{row.id}", "role": role,
                            "parts": [{"type": "text", "text": content}]})
    flush()
    return out


def _load_ui(messages: list[dict[str, Any]]) -> list[ModelMessage]:
    from pydantic_ai.ui.vercel_ai import VercelAIAdapter
    from pydantic_ai.ui.vercel_ai.request_types import UIMessage

    try:
        return VercelAIAdapter.load_messages([UIMessage.model_validate(m) for m in messages])
    except Exception:  # a UIMessage PydanticAI cannot read: keep its text
        out: list[ModelMessage] = []
        for m in messages:
            text = "\n".join(p["text"] for p in m["parts"]
                             if isinstance(p, dict) and p.get("type") == "text"
                             and isinstance(p.get("text"), str))
            if m["role"] == "assistant":
                if text:
                    out.append(ModelResponse(parts=[TextPart(text)]))
            elif m["role"] == "system":
                out.append(ModelRequest(parts=[SystemPromptPart(text)]))
            else:
                out.append(ModelRequest(parts=[UserPromptPart(text)]))
        return out


async def load_messages(mem: AsyncMemory, chat_id: str, *,
                        limit: int | None = None) -> list[ModelMessage]:
    """The chat's messages, oldest first, for ``message_history=`` (the newest ``limit``
    rows with ``limit``; all without)."""
    return decode_rows(await mem.get_messages(chat_id, limit=limit))


async def save_messages(mem: AsyncMemory, chat_id: str, messages: Sequence[ModelMessage], *,
                        user_id: str | None = None) -> list[Message]:
    """Append ``messages`` (``result.new_messages()``), one row each, in one transaction."""
    batch = [encode_message(m) for m in messages]
    return await mem.save_messages(chat_id, batch, user_id=user_id) if batch else []


def load_messages_sync(mem: Memory, chat_id: str, *,
                       limit: int | None = None) -> list[ModelMessage]:
    """:func:`load_messages` for a ``Memory``."""
    return decode_rows(mem.get_messages(chat_id, limit=limit))


def save_messages_sync(mem: Memory, chat_id: str, messages: Sequence[ModelMessage], *,
                       user_id: str | None = None) -> list[Message]:
    """:func:`save_messages` for a ``Memory``."""
    batch = [encode_message(m) for m in messages]
    return mem.save_messages(chat_id, batch, user_id=user_id) if batch else []


def working_memory_tool(mem: AsyncMemory, *, scope: Scope = "chat",
                        chat_id: str | None = None, user_id: str | None = None,
                        ) -> Tool[Any]:
    """The ``updateWorkingMemory`` tool for ``Agent(tools=[...])``: replaces the working
    memory of ``scope`` and returns ``"success"`` or ``"error"``. Ids not given here come
    from the run's ``deps`` (``chat_id`` / ``chatId``, ``user_id`` / ``userId``, directly
    or under ``metadata``). Put the prompt text in with
    ``memstore.integrations.working_memory`` (``working_memory_instructions``,
    ``load_working_memory``) from an ``@agent.instructions`` function."""
    async def update_working_memory(ctx: RunContext[Any], content: str) -> str:
        return await wm.update_working_memory(
            mem, content, scope=scope,
            chat_id=chat_id or wm.id_from_context(ctx.deps, "chat"),
            user_id=user_id or wm.id_from_context(ctx.deps, "user"))

    update_working_memory.__doc__ = (f"{wm.TOOL_DESCRIPTION}\n\nArgs:\n"
                                     f"    content: {wm.CONTENT_DESCRIPTION}\n")
    return Tool(update_working_memory, takes_ctx=True, name=wm.TOOL_NAME,
                description=wm.TOOL_DESCRIPTION)


def search_memory_tool(mem: AsyncMemory, *, user_id: str | None = None,
                       mode: Mode = "keyword", limit: int = 5) -> Tool[Any]:
    """The ``search_memory`` tool for ``Agent(tools=[...])``: searches the past messages of
    the run's user (``user_id`` here, else ``user_id`` / ``userId`` in the run's ``deps``)
    and answers with the hits as text (see ``memstore.integrations.search_tool``)."""
    async def search_memory(ctx: RunContext[Any], query: str) -> str:
        return await st.search_memory(
            mem, query, user_id=user_id or wm.id_from_context(ctx.deps, "user"),
            mode=mode, limit=limit)

    search_memory.__doc__ = (f"{st.TOOL_DESCRIPTION}\n\nArgs:\n"
                             f"    query: {st.QUERY_DESCRIPTION}\n")
    return Tool(search_memory, takes_ctx=True, name=st.TOOL_NAME,
                description=st.TOOL_DESCRIPTION)
