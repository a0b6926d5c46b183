"""The search_memory tool (Agents SDK and PydanticAI): the model's query searches only the
run's user's past messages; with no user in the run, nothing is searched."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import pytest
from agents import Agent, Runner
from agents.testing import ScriptedModel

from memstore.integrations import search_tool as st
from memstore.integrations.openai_agents import MemstoreSession, search_memory_tool
from tests.integrations.conftest import Databases
from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message

T = datetime(2025, 4, 2, 9, 30, tzinfo=timezone.utc)


async def _seed(mem: Any) -> None:
    # one user's past chat written through the Agents SDK session (UIMessage rows), and
    # another user's message that must never be found
    past = MemstoreSession("past", mem, user_id="u1")
    await past.add_items([{"role": "user", "content": "Our deploy target is Fly.io"},
                          {"role": "assistant", "content": "Noted: deploying to Fly.io"}])
    await mem.save_message("theirs", "user", "deploy secrets of u2", user_id="u2",
                           timestamp=T)


async def _agents_call(tool: Any, query: str, context: Any) -> str:
    model = ScriptedModel()
    model.enqueue([get_function_tool_call("search_memory", json.dumps({"query": query}))])
    model.enqueue([get_text_message("Found it.")])
    await Runner.run(Agent(name="recall", model=model, tools=[tool]), "Where?",
                     context=context)
    (output,) = [i for i in model.calls[-1].input if i.get("type") == "function_call_output"]
    return str(output["output"])


@pytest.mark.asyncio
async def test_agents_tool_searches_the_runs_user_only(store_backend: Databases) -> None:
    mem = await store_backend.open()
    await _seed(mem)
    tool = search_memory_tool(mem)
    assert tool.name == "search_memory" and tool.description == st.TOOL_DESCRIPTION
    out = await _agents_call(tool, "deploy", {"user_id": "u1"})
    lines = out.splitlines()
    assert len(lines) == 2 and all("chat past" in line for line in lines)
    assert "Fly.io" in out and "secrets" not in out
    assert await _agents_call(tool, "nothing-like-it", {"userId": "u1"}) == "no matches"
    assert await _agents_call(tool, "deploy", {}) == "error: no user"
    assert await _agents_call(tool, "?!", {"user_id": "u1"}) == "error: ValidationError"
    fixed = search_memory_tool(mem, user_id="u2", limit=1)
    assert "secrets of u2" in await _agents_call(fixed, "deploy", {"user_id": "u1"})


@pytest.mark.asyncio
async def test_pydantic_ai_tool_searches_the_runs_user_only(store_backend: Databases) -> None:
    from pydantic_ai import Agent as PAgent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    from memstore.integrations.pydantic_ai import search_memory_tool as pai_tool

    mem = await store_backend.open()
    await _seed(mem)
    outputs: list[Any] = []

    def model(messages: list[Any], info: Any) -> ModelResponse:
        returns = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if returns:
            outputs.append(returns[0].content)
            return ModelResponse(parts=[TextPart("Found it.")])
        (tool,) = info.function_tools
        assert tool.name == "search_memory" and tool.description == st.TOOL_DESCRIPTION
        return ModelResponse(parts=[ToolCallPart("search_memory", {"query": "fly.io"})])

    agent = PAgent(FunctionModel(model), deps_type=dict, tools=[pai_tool(mem)])
    await agent.run("Where do we deploy?", deps={"metadata": {"userId": "u1"}})
    await agent.run("Where do we deploy?", deps={"user_id": "u2"})
    await agent.run("Where do we deploy?", deps={})
    assert "Fly.io" in outputs[0] and outputs[1:] == ["no matches", "error: no user"]
