"""Working memory for an agent, as ``@ai-sdk-tools/agents`` 1.2.0 does it, framework-neutral.

The texts are byte for byte the TS package's (``dist/index.js``: ``DEFAULT_TEMPLATE``,
``getWorkingMemoryInstructions``, ``formatWorkingMemory``; a test reads them from the npm
package), so a Python agent and a TS agent over the same tables prompt alike:

    system prompt = instructions + "\\n\\n" + working_memory_instructions(template)
                    + working_memory_block(stored content)

The model gets a tool named ``updateWorkingMemory`` (the name the instructions tell it to
call) with one argument ``content``; it replaces the working memory of the scope (``chat``
by default, as in TS) and returns ``"success"`` or ``"error"``. The per-framework tools are
``memstore.integrations.openai_agents.working_memory_tool`` and
``memstore.integrations.pydantic_ai.working_memory_tool``; both call
:func:`update_working_memory` here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..errors import ValidationError
from ..models import Scope
from ..store import AsyncMemory

log = logging.getLogger("memstore")

TOOL_NAME = "updateWorkingMemory"
TOOL_DESCRIPTION = "Save user information to persistent memory for future conversations."
CONTENT_DESCRIPTION = ("Updated working memory content in markdown format. Include user "
                       "preferences and any important facts to remember.")

DEFAULT_TEMPLATE = """# Working Memory

## Key Facts
- [Important information goes here]

## Current Focus
- [What the user is working on]

## Preferences
- [User preferences and settings]
"""


def id_from_context(context: object, name: str) -> str | None:
    """``chat`` / ``user`` id in a run context as ``@ai-sdk-tools/agents`` finds it
    (``ctx.chatId || ctx.metadata?.chatId``), in Python spelling too: an attribute or key
    ``chat_id`` / ``chatId`` (``user_id`` / ``userId``), directly or under ``metadata``."""
    keys = (f"{name}_id", f"{name}Id")
    for source in (context, _get(context, "metadata")):
        for key in keys:
            value = _get(source, key)
            if isinstance(value, str) and value:
                return value
    return None


def _get(source: object, key: str) -> object:
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(key)
    return getattr(source, key, None)


def working_memory_instructions(template: str = DEFAULT_TEMPLATE) -> str:
    """The instructions appended to the system prompt (TS ``getWorkingMemoryInstructions``)."""
    return f"""
## Working Memory

You have access to persistent working memory that stores user preferences, context, and important facts across conversations.

**ALWAYS call updateWorkingMemory when:**
- User shares OR corrects their name, role, company, or preferences
- User provides OR updates important facts you should remember
- User corrects previous information about themselves
- Any new or changed context that should persist for future conversations

**Template structure to follow:**
```
{template}
```

**Critical:** After calling updateWorkingMemory, respond to the user confirming the update.
""".strip()  # noqa: E501


def working_memory_block(content: str | None) -> str:
    """The stored working memory as appended to the system prompt (TS
    ``formatWorkingMemory``); ``""`` when there is none."""
    if not content:
        return ""
    return f"\n## Working Memory\n\n{content}\n"


def system_prompt(instructions: str, *, memory: str | None = None,
                  template: str = DEFAULT_TEMPLATE) -> str:
    """The whole system prompt as the TS agent builds it with working memory enabled."""
    return f"{instructions}\n\n{working_memory_instructions(template)}" \
        f"{working_memory_block(memory)}"


async def load_working_memory(mem: AsyncMemory, *, scope: Scope = "chat",
                              chat_id: str | None = None, user_id: str | None = None) -> str:
    """The block for the system prompt from the stored working memory (``""`` when there
    is none or the ids for the scope are missing; errors are logged, as in TS)."""
    if (chat_id if scope == "chat" else user_id) is None:
        return ""
    try:
        wm = await mem.get_working_memory(scope=scope, chat_id=chat_id, user_id=user_id)
    except Exception as exc:
        log.error("memstore: loading working memory failed: %s", type(exc).__name__)
        return ""
    return working_memory_block(wm.content if wm else None)


async def update_working_memory(mem: AsyncMemory, content: str, *, scope: Scope = "chat",
                                chat_id: str | None = None,
                                user_id: str | None = None) -> str:
    """What the tool does: replace the scope's working memory; ``"success"`` or
    ``"error"`` (the reason is logged, never the content)."""
    try:
        await mem.update_working_memory(scope=scope, chat_id=chat_id, user_id=user_id,
                                        content=content)
    except ValidationError as exc:
        # the field and the reason (they never hold the content), and where a missing
        # id comes from
        hint = ""
        if exc.field in ("chat_id", "user_id") and {"chat_id": chat_id,
                                                    "user_id": user_id}[exc.field] is None:
            hint = (f"; pass {exc.field}= to the tool's factory, or put {exc.field} in the "
                    "run's context (Agents SDK: Runner.run(..., context={...}); PydanticAI: "
                    "deps; LangChain: context)")
        log.error("memstore: updating working memory failed: ValidationError: %s: %s%s",
                  exc.field, exc.reason, hint)
        return "error"
    except Exception as exc:
        log.error("memstore: updating working memory failed: %s", type(exc).__name__)
        return "error"
    return "success"
