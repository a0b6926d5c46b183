"""Integrations against the real npm @ai-sdk-tools/agents 1.2.0 (agents_side.mjs): chats
written through MemstoreSession and the PydanticAI helper load in the TS agent's history in
order, tool rows invisible; the working-memory texts are byte-identical to the package's."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore.integrations import working_memory as wm
from tests.backends import IN_CI

HERE = Path(__file__).parent
PROGRAM = HERE / "agents_side.mjs"
PACKAGE = HERE / "node_modules" / "@ai-sdk-tools" / "agents" / "package.json"


def _node(command: dict[str, Any]) -> Any:
    node = shutil.which("node")
    problem = None
    if node is None:
        problem = "node is not on PATH: install Node 20+, then"
    elif not PACKAGE.exists():
        problem = "tests/interop/node_modules has no @ai-sdk-tools/agents:"
    if problem:
        message = f"{problem} run `cd tests/interop && npm ci`"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)
    assert json.loads(PACKAGE.read_text())["version"] == "1.2.0"
    done = subprocess.run([str(node), str(PROGRAM)], input=json.dumps(command),
                          capture_output=True, text=True, timeout=120, check=False)
    out = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {}
    assert out.get("ok"), f"agents_side.mjs failed: {out.get('error')}\n{done.stderr}"
    return out["result"]


def test_working_memory_texts_are_the_ts_packages_byte_for_byte() -> None:
    content = "# Working Memory\n\n## Key Facts\n- Name: Ada ünï 😊\n"
    ts = _node({"op": "texts", "content": content})
    assert ts["sameAsMemoryPackage"] is True
    assert ts["template"].encode() == wm.DEFAULT_TEMPLATE.encode()
    assert ts["instructions"].encode() == wm.working_memory_instructions().encode()
    assert ts["instructionsCustom"].encode() == \
        wm.working_memory_instructions("# Mine\n- x").encode()
    assert ts["block"].encode() == wm.working_memory_block(content).encode()
    assert ts["blockEmpty"] == wm.working_memory_block("") == ""


def _texts(model_messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) of each ModelMessage the TS agent would send."""
    out = []
    for m in model_messages:
        content = m["content"]
        if isinstance(content, str):
            out.append((m["role"], content))
        else:
            out.append((m["role"], "".join(p.get("text", "") for p in content
                                           if p.get("type") == "text")))
    return out


def test_openai_agents_chat_loads_in_the_ts_agent_history(tmp_path: Path) -> None:
    from agents import Agent, Runner, function_tool
    from agents.testing import ScriptedModel

    from memstore.integrations.openai_agents import MemstoreSession
    from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    db = tmp_path / "agents.db"

    async def write() -> int:
        async with MemstoreSession("trip", f"sqlite:///{db}") as session:
            model = ScriptedModel()
            model.enqueue([get_function_tool_call("get_weather", '{"city": "Rome"}')])
            model.enqueue([get_text_message("It is sunny in Rome.")])
            model.enqueue([get_text_message("You asked about Rome.")])
            agent = Agent(name="w", model=model, tools=[get_weather])
            await Runner.run(agent, "Weather in Rome?", session=session)
            await Runner.run(agent, "What did I ask?", session=session)
            return len(await session.get_items())

    assert asyncio.run(write()) == 6  # user, call, output, answer, user, answer
    ts = _node({"op": "history", "url": f"file:{db}", "chatId": "trip"})
    assert ts["rows"] == 6
    assert _texts(ts["messages"]) == [
        ("user", "Weather in Rome?"),
        ("assistant", "It is sunny in Rome."),
        ("user", "What did I ask?"),
        ("assistant", "You asked about Rome."),
        ("user", "next"),
    ]


def test_pydantic_ai_chat_loads_in_the_ts_agent_history(tmp_path: Path) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    from memstore.integrations.pydantic_ai import save_messages_sync

    def model(messages: list[Any], info: Any) -> ModelResponse:
        if any(isinstance(p, ToolReturnPart) for p in messages[-1].parts):
            return ModelResponse(parts=[TextPart("It is sunny in Rome.")])
        return ModelResponse(parts=[ToolCallPart("get_weather", {"city": "Rome"})])

    agent = Agent(FunctionModel(model), system_prompt="You are a weather bot.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    db = tmp_path / "pai.db"
    with memstore.connect(f"sqlite:///{db}") as mem:
        mem.init_schema()
        save_messages_sync(mem, "pai", agent.run_sync("Weather in Rome?").new_messages())
        assert mem.count_messages("pai") == 4  # request, call, return, answer
    ts = _node({"op": "history", "url": f"file:{db}", "chatId": "pai"})
    assert _texts(ts["messages"]) == [
        ("user", "Weather in Rome?"),
        ("assistant", "It is sunny in Rome."),
        ("user", "next"),
    ]


def test_a_plain_text_row_would_drop_the_ts_history(tmp_path: Path) -> None:
    """The reason for the codec: the same chat with one plain-text row loses its history
    in the TS agent (so this test's harness can see the difference)."""
    db = tmp_path / "plain.db"
    with memstore.connect(f"sqlite:///{db}") as mem:
        mem.init_schema()
        mem.save_messages("c", [{"role": "user", "content": "plain"}])
    ts = _node({"op": "history", "url": f"file:{db}", "chatId": "c"})
    assert ts["rows"] == 1
    assert _texts(ts["messages"]) == [("user", "next")]
