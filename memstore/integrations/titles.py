"""Chat titles as ``@ai-sdk-tools/agents`` 1.2.0 makes them (``maybeGenerateChatTitle``),
framework-neutral: the rule (new chats only), the prompt, the length. The integrations
re-export it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..store import AsyncMemory
from . import codec

TITLE_MAX_LENGTH = 30  # "Titles should be at most 30 characters." (@ai-sdk-tools/agents)
# The system prompt @ai-sdk-tools/agents 1.2.0 gives its title model call (generateChatTitle).
TITLE_INSTRUCTIONS = """<task_context>
You are a helpful assistant that can generate titles for conversations.
</task_context>

<rules>
Find the most concise title that captures what the user is asking for.
Titles should be at most 30 characters.
Titles should be formatted in sentence case, with capital letters at the start of each word. Do not provide a period at the end.
</rules>

<task>
Generate a title for the conversation.
</task>

<output_format>
Return only the title.
</output_format>"""  # noqa: E501


async def generate_title(mem: AsyncMemory, chat_id: str,
                         make_title: Callable[[str], Awaitable[str]], *,
                         message: str | None = None,
                         user_id: str | None = None) -> str | None:
    """Give a new chat a title, with the rule of ``@ai-sdk-tools/agents`` 1.2.0
    (``maybeGenerateChatTitle``): only when the chat is new, that is it has no chat row or
    its ``message_count`` is 0 (whatever its title). ``make_title(text)`` is your model
    call (TS prompts it with :data:`TITLE_INSTRUCTIONS` as the system prompt and the
    user's text as the prompt); its answer, stripped and cut to :data:`TITLE_MAX_LENGTH`
    characters, is stored with ``update_chat_title`` and returned. None when the chat is
    not new, there is no user text, or the answer is blank.

    ``message`` is the user's text of the turn (TS: the new user message); without it,
    the text of the chat's oldest user row. TS decides on the chat as loaded at the start
    of the turn, so call this before the turn is saved: before ``Runner.run`` with this
    chat's session, before ``save_messages`` with PydanticAI.

    ``user_id`` is the chat's user: a chat row this creates, or one without an owner, gets
    that owner (an owner already set is kept), so the chat is in
    ``get_chats(user_id=...)`` from the start. Without it the row has no owner until a save
    that names a user claims it."""
    chat = await mem.get_chat(chat_id)
    if chat is not None and chat.message_count != 0:
        return None
    text = message
    if text is None:
        first = next((m for m in await mem.get_messages(chat_id, limit=None)
                      if m.role == "user"), None)
        text = None if first is None else codec.decode(first.role, first.content).text
    if not text:
        return None
    title = (await make_title(text)).strip()[:TITLE_MAX_LENGTH].strip()
    if not title:
        return None
    if user_id is not None and (chat is None or chat.user_id is None):
        await mem.save_chat(chat_id, user_id=user_id, title=title)
    else:
        await mem.update_chat_title(chat_id, title)
    return title
