"""The updateWorkingMemory tool (Agents SDK and PydanticAI) updates the right scope and id
and answers "success" / "error"; the dynamic instructions carry the stored memory. (The
texts themselves are compared with the npm package in tests/interop/test_agents_interop.py.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from agents import Agent, Runner
from agents.testing import ScriptedModel

from memstore.integrations import working_memory as wm
from memstore.integrations.openai_agents import working_memory_instructions, working_memory_tool
from tests.integrations.conftest import Databases
from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message


async def _agents_call(mem: Any, tool: Any, content: str, context: Any) -> str:
    model = ScriptedModel()
    model.enqueue([get_function_tool_call("updateWorkingMemory", json.dumps({"content": content}))])
    model.enqueue([get_text_message("Noted.")])
    await Runner.run(Agent(name="wm", model=model, tools=[tool]), "Remember", context=context)
    (output,) = [i for i in model.calls[-1].input if i.get("type") == "function_call_output"]
    return str(output["output"])


@pytest.mark.asyncio
async def test_agents_tool_updates_the_right_scope(store_backend: Databases) -> None:
    mem = await store_backend.open()
    tool = working_memory_tool(mem)
    assert tool.name == "updateWorkingMemory"
    assert tool.description == wm.TOOL_DESCRIPTION
    assert tool.params_json_schema["properties"]["content"]["description"] == \
        wm.CONTENT_DESCRIPTION
    assert await _agents_call(mem, tool, "# chat facts", {"chat_id": "c1"}) == "success"
    got = await mem.get_working_memory(scope="chat", chat_id="c1")
    assert got is not None and got.content == "# chat facts"

    user_tool = working_memory_tool(mem, scope="user")
    assert await _agents_call(mem, user_tool, "# user facts",
                              {"metadata": {"userId": "u1", "chatId": "c2"}}) == "success"
    got = await mem.get_working_memory(scope="user", user_id="u1")
    assert got is not None and got.content == "# user facts" and got.chat_id == "c2"
    assert await mem.get_working_memory(scope="chat", chat_id="c2") is None

    # No id for the scope: "error", nothing written.
    assert await _agents_call(mem, user_tool, "# lost", {"chat_id": "c3"}) == "error"

    instructions = working_memory_instructions(mem, "Be helpful.")
    agent = Agent(name="wm", instructions=instructions)
    from agents import RunContextWrapper
    text = await agent.get_system_prompt(RunContextWrapper(context={"chat_id": "c1"}))
    assert text == wm.system_prompt("Be helpful.", memory="# chat facts")
    text = await agent.get_system_prompt(RunContextWrapper(context={"chat_id": "none"}))
    assert text == "Be helpful.\n\n" + wm.working_memory_instructions()


@pytest.mark.asyncio
async def test_pydantic_ai_tool_updates_the_right_scope(store_backend: Databases) -> None:
    from pydantic_ai import Agent as PAgent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    from memstore.integrations.pydantic_ai import working_memory_tool as pai_tool

    mem = await store_backend.open()
    outputs: list[Any] = []

    def model(messages: list[Any], info: Any) -> ModelResponse:
        returns = [p for p in messages[-1].parts if isinstance(p, ToolReturnPart)]
        if returns:
            outputs.append(returns[0].content)
            return ModelResponse(parts=[TextPart("Noted.")])
        (tool,) = info.function_tools
        assert tool.name == "updateWorkingMemory"
        assert tool.description == wm.TOOL_DESCRIPTION
        return ModelResponse(parts=[ToolCallPart("updateWorkingMemory", {"content": "# pai"})])

    agent = PAgent(FunctionModel(model), deps_type=dict,
                   tools=[pai_tool(mem, scope="user")])
    await agent.run("Remember", deps={"user_id": "u9"})
    got = await mem.get_working_memory(scope="user", user_id="u9")
    assert got is not None and got.content == "# pai"
    await agent.run("Remember", deps={})
    assert outputs == ["success", "error"]


def test_system_prompt_shape() -> None:
    assert wm.working_memory_block(None) == ""
    assert wm.system_prompt("I", memory="M") == \
        "I\n\n" + wm.working_memory_instructions() + "\n## Working Memory\n\nM\n"
