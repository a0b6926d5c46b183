"""The ``search_memory`` tool, framework-neutral: a model asks for words, the tool
searches the past messages of the run's user (memstore.recall) and answers with the hits
as plain text, newest context included. The per-framework tools are
``memstore.integrations.openai_agents.search_memory_tool`` and
``memstore.integrations.pydantic_ai.search_memory_tool``; both call :func:`search_memory`.

Always scoped to one user: the id comes from the tool's own ``user_id`` or the run's
context (``user_id`` / ``userId``, directly or under ``metadata``, as for the
working-memory tool). With none, the tool answers ``"error: no user"`` and searches
nothing: a model can never search another user's, or everyone's, messages.
"""

from __future__ import annotations

import logging

from ..recall import Mode, visible_text
from ..store import AsyncMemory

log = logging.getLogger("memstore")

TOOL_NAME = "search_memory"
TOOL_DESCRIPTION = ("Search the user's past conversations for messages containing all of "
                    "the given words. Use it when the user refers to something discussed "
                    "before that is not in this conversation.")
QUERY_DESCRIPTION = "The words to look for (every word must occur in a message)."
# Characters of a hit's text the model gets (a long tool output costs its context).
MAX_HIT_CHARS = 500


def format_hits(hits: list[object]) -> str:
    """One line per hit: ``[when] chat <id>, <role>: <text>``; "no matches" when none."""
    if not hits:
        return "no matches"
    lines = []
    for hit in hits:
        m = hit.message  # type: ignore[attr-defined]
        text = " ".join(visible_text(m.role, m.content).split())
        if len(text) > MAX_HIT_CHARS:
            text = text[:MAX_HIT_CHARS] + "…"
        lines.append(f"[{m.timestamp:%Y-%m-%d %H:%M}] chat {m.chat_id}, {m.role}: {text}")
    return "\n".join(lines)


async def search_memory(mem: AsyncMemory, query: str, *, user_id: str | None,
                        mode: Mode = "keyword", limit: int = 5) -> str:
    """What the tool does: the user's hits as text, or ``"error: ..."`` (the reason is
    logged, never the query)."""
    if not user_id:
        return "error: no user"
    try:
        hits = await mem.search_messages(query, user_id=user_id, mode=mode, limit=limit)
    except Exception as exc:
        log.error("memstore: search_memory failed: %s", type(exc).__name__)
        return f"error: {type(exc).__name__}"
    return format_hits(list(hits))
