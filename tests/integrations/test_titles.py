"""The optional title helper of both integrations, with the rule of @ai-sdk-tools/agents
1.2.0 (``maybeGenerateChatTitle`` / ``generateChatTitle`` in its dist/index.js): a title
only for a new chat (no chat row, or ``messageCount === 0``, whatever its title), at most
30 characters, stored with ``update_chat_title``; the caller supplies the model call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any

import pytest

from memstore.integrations import codec, openai_agents, pydantic_ai
from tests.integrations.conftest import Databases

MODULES = [openai_agents, pydantic_ai]


class Model:
    """A fake title model: records the texts it was asked about."""

    def __init__(self, answer: str) -> None:
        self.answer = answer
        self.prompts: list[str] = []

    async def __call__(self, text: str) -> str:
        self.prompts.append(text)
        return self.answer


def _helper(module: ModuleType) -> Callable[..., Awaitable[str | None]]:
    helper: Callable[..., Awaitable[str | None]] = module.generate_title
    return helper


@pytest.mark.asyncio
@pytest.mark.parametrize("module", MODULES, ids=["openai_agents", "pydantic_ai"])
async def test_a_new_chat_gets_a_title_of_at_most_30_characters(
        store_backend: Databases, module: ModuleType) -> None:
    mem = await store_backend.open()
    assert module.TITLE_MAX_LENGTH == 30
    model = Model("  Weather In Rome And A Very Long Tail Of Words  \n")
    title = await _helper(module)(mem, "new", model, message="Weather in Rome?")
    assert title == "Weather In Rome And A Very Lon"
    assert len(title) == 30
    assert model.prompts == ["Weather in Rome?"]
    chat = await mem.get_chat("new")
    assert chat is not None and chat.title == title

    # 30 characters, not 30 bytes or UTF-16 units.
    title = await _helper(module)(mem, "emoji", Model("😊" * 40), message="hi")
    assert title == "😊" * 30
    chat = await mem.get_chat("emoji")
    assert chat is not None and chat.title == "😊" * 30


@pytest.mark.asyncio
@pytest.mark.parametrize("module", MODULES, ids=["openai_agents", "pydantic_ai"])
async def test_only_a_chat_with_no_messages_is_new(
        store_backend: Databases, module: ModuleType) -> None:
    mem = await store_backend.open()
    await mem.save_messages("old", [
        {"role": "user", "content": codec.ui_message("user", "First question")},
        {"role": "assistant", "content": codec.ui_message("assistant", "Answer")}])
    model = Model("Other")
    assert await _helper(module)(mem, "old", model, message="Second question") is None
    assert await _helper(module)(mem, "old", model) is None
    assert model.prompts == []  # the model is not even asked
    chat = await mem.get_chat("old")
    assert chat is not None and chat.title is None

    # TS looks at messageCount only: a chat emptied (count 0) with a title is new again.
    await mem.update_chat_title("old", "Old title")
    await mem.clear_messages("old")
    assert await _helper(module)(mem, "old", Model("Fresh"), message="Again") == "Fresh"
    chat = await mem.get_chat("old")
    assert chat is not None and chat.title == "Fresh"


@pytest.mark.asyncio
@pytest.mark.parametrize("module", MODULES, ids=["openai_agents", "pydantic_ai"])
async def test_no_text_or_a_blank_answer_leaves_the_chat_alone(
        store_backend: Databases, module: ModuleType) -> None:
    mem = await store_backend.open()
    model = Model("Unused")
    assert await _helper(module)(mem, "empty", model) is None  # no message, no rows
    assert await _helper(module)(mem, "empty", model, message="") is None
    assert model.prompts == []
    assert await _helper(module)(mem, "empty", Model(" \n\t"), message="hi") is None
    assert await mem.get_chat("empty") is None  # nothing was created


@pytest.mark.asyncio
async def test_before_the_turn_is_saved_as_ts_does(store_backend: Databases) -> None:
    """With a session: the title is decided on the chat as it is before Runner.run saves
    the turn; after that the chat is no longer new."""
    from agents import Agent, Runner
    from agents.testing import ScriptedModel

    from tests.integrations.sdk_helpers import get_text_message

    mem = await store_backend.open()
    session = openai_agents.MemstoreSession("run", mem)
    script = ScriptedModel()
    script.enqueue([get_text_message("It is sunny.")])
    script.enqueue([get_text_message("Still sunny.")])
    agent: Agent[Any] = Agent(name="w", model=script)
    model = Model("Weather Today")
    prompt = "What's the weather today?"
    assert await openai_agents.generate_title(mem, "run", model, message=prompt) \
        == "Weather Today"
    await Runner.run(agent, prompt, session=session)
    assert await openai_agents.generate_title(mem, "run", model, message="And now?") is None
    await Runner.run(agent, "And now?", session=session)
    assert model.prompts == [prompt]
    chat = await mem.get_chat("run")
    assert chat is not None and chat.title == "Weather Today" and chat.message_count == 4


@pytest.mark.asyncio
@pytest.mark.parametrize("module", MODULES, ids=["openai_agents", "pydantic_ai"])
async def test_the_title_gives_the_chat_its_user(
        store_backend: Databases, module: ModuleType) -> None:
    """generate_title(user_id=...) makes the new chat that user's, at once; an owner that
    is set stays (issue 30: a title before the first turn made a chat with no owner)."""
    mem = await store_backend.open()
    assert await _helper(module)(mem, "t1", Model("Rome"), message="Rome?",
                                 user_id="u1") == "Rome"
    chat = await mem.get_chat("t1")
    assert chat is not None and chat.user_id == "u1" and chat.title == "Rome"
    assert [c.chat_id for c in await mem.get_chats(user_id="u1")] == ["t1"]

    await mem.save_chat("t2", user_id="owner")  # a chat row with an owner, no messages
    assert await _helper(module)(mem, "t2", Model("Paris"), message="Paris?",
                                 user_id="u2") == "Paris"
    chat = await mem.get_chat("t2")
    assert chat is not None and chat.user_id == "owner" and chat.title == "Paris"


@pytest.mark.asyncio
async def test_a_title_first_then_a_session_turn_lists_the_chat_under_its_user(
        store_backend: Databases) -> None:
    """The README's order, without user_id on the title: the turn saved with a user claims
    the ownerless chat row the title created."""
    from agents import Agent, Runner
    from agents.testing import ScriptedModel

    from tests.integrations.sdk_helpers import get_text_message

    mem = await store_backend.open()
    script = ScriptedModel()
    script.enqueue([get_text_message("Sunny.")])
    await openai_agents.generate_title(mem, "c", Model("Weather"), message="Weather?")
    chat = await mem.get_chat("c")
    assert chat is not None and chat.user_id is None
    await Runner.run(Agent(name="w", model=script), "Weather?",
                     session=openai_agents.MemstoreSession("c", mem, user_id="u1"))
    assert [(c.chat_id, c.title) for c in await mem.get_chats(user_id="u1")] \
        == [("c", "Weather")]
