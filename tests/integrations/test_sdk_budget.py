"""A budgeted MemstoreSession through the real Agents SDK runner with a scripted model:
turns with tool calls pile up, and every request the model gets starts at a user message
and carries each tool output with its call (what providers require)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import Agent, Runner, function_tool
from agents.testing import ScriptedModel

import memstore
from memstore.integrations.openai_agents import MemstoreSession
from tests.integrations.conftest import Databases
from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message


@function_tool
def weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}, " + "warm " * 20


def check_request(items: list[Any]) -> None:
    first = items[0]
    assert first.get("role") == "user" and first.get("type", "message") == "message", first
    calls = {i["call_id"] for i in items if i.get("type") == "function_call"}
    outputs = {i["call_id"] for i in items if i.get("type") == "function_call_output"}
    assert outputs <= calls, (outputs - calls, items)


@pytest.mark.asyncio
async def test_budgeted_session_never_sends_a_tool_output_without_its_call(
        store_backend: Databases) -> None:
    mem = await store_backend.open()
    # each stored turn (question, tool call, tool output, answer) is about 310 tokens by
    # the default counter: 1,000 tokens hold the three newest turns, never a part of one
    session = MemstoreSession("trip", mem, max_tokens=1000)
    model = ScriptedModel()
    agent = Agent(name="travel", model=model, tools=[weather])
    for n in range(6):
        model.enqueue([get_function_tool_call("weather", json.dumps({"city": f"city{n}"}),
                                              call_id=f"call_{n}")])
        model.enqueue([get_text_message(f"It is sunny in city{n}.")])
        await Runner.run(agent, f"weather in city{n}?", session=session)
    for call in model.calls:
        check_request(list(call.input))
    # two model calls a run (the tool call, the answer); history grows by whole turns of
    # 4 items up to three turns, then stays there
    assert [len(call.input) for call in model.calls] == [1, 3, 5, 7, 9, 11, 13, 15, 13, 15,
                                                         13, 15]
    items = await session.get_items()
    check_request(items)
    assert [i["content"] for i in items if i.get("role") == "user"] == [
        "weather in city3?", "weather in city4?", "weather in city5?"]
    assert len(await MemstoreSession("trip", mem).get_items()) == 4 * 6  # all kept


def test_max_tokens_must_be_positive() -> None:
    with pytest.raises(memstore.ValidationError) as info:
        MemstoreSession("s", "memory://", max_tokens=0)
    assert info.value.field == "max_tokens"
