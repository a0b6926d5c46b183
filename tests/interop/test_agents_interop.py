"""Integrations against the real npm @ai-sdk-tools/agents 1.2.0 (agents_side.mjs), on
SQLite, PostgreSQL and MariaDB (the ``target`` databases of conftest.py): chats written
through MemstoreSession and the PydanticAI helper load in the TS agent's history in order,
tool rows invisible; a chat the TS agent itself saved (its toUIMessageStream → onFinish →
saveConversation path, over the AI SDK's mock model) reads through MemstoreSession as text
messages and through the PydanticAI loader; the working-memory and title texts are
byte-identical to the package's."""

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
from tests.interop.conftest import Target

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


def test_title_instructions_are_the_ts_agents_byte_for_byte() -> None:
    """The system prompt the real Agent.generateChatTitle sends to its model (captured
    from the call) is the one the Python title helpers document for ``make_title``."""
    from memstore.integrations import openai_agents, pydantic_ai

    ts = _node({"op": "texts", "content": ""})
    assert ts["titleInstructions"].encode() == openai_agents.TITLE_INSTRUCTIONS.encode()
    assert ts["titleInstructions"].encode() == pydantic_ai.TITLE_INSTRUCTIONS.encode()
    assert "at most 30 characters" in ts["titleInstructions"]


def _on(target: Target, command: dict[str, Any]) -> dict[str, Any]:
    """``command`` for agents_side.mjs on the target's database."""
    return {**command, "dialect": target.dialect, "url": target.node_url,
            "sessionTimeZone": target.session_tz}


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


def test_openai_agents_chat_loads_in_the_ts_agent_history(target: Target) -> None:
    from agents import Agent, Runner, function_tool
    from agents.testing import ScriptedModel

    from memstore.integrations.openai_agents import MemstoreSession
    from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message

    @function_tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    async def write() -> int:
        async with MemstoreSession("trip", target.url) as session:
            model = ScriptedModel()
            model.enqueue([get_function_tool_call("get_weather", '{"city": "Rome"}')])
            model.enqueue([get_text_message("It is sunny in Rome.")])
            model.enqueue([get_text_message("You asked about Rome.")])
            agent = Agent(name="w", model=model, tools=[get_weather])
            await Runner.run(agent, "Weather in Rome?", session=session)
            await Runner.run(agent, "What did I ask?", session=session)
            return len(await session.get_items())

    assert asyncio.run(write()) == 6  # user, call, output, answer, user, answer
    ts = _node(_on(target, {"op": "history", "chatId": "trip"}))
    assert ts["rows"] == 6
    assert _texts(ts["messages"]) == [
        ("user", "Weather in Rome?"),
        ("assistant", "It is sunny in Rome."),
        ("user", "What did I ask?"),
        ("assistant", "You asked about Rome."),
        ("user", "next"),
    ]


def test_pydantic_ai_chat_loads_in_the_ts_agent_history(target: Target) -> None:
    from pydantic_ai import Agent
    from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart, ToolReturnPart
    from pydantic_ai.models.function import FunctionModel

    from memstore.integrations.pydantic_ai import load_messages_sync, save_messages_sync

    def model(messages: list[Any], info: Any) -> ModelResponse:
        if any(isinstance(p, ToolReturnPart) for p in messages[-1].parts):
            return ModelResponse(parts=[TextPart("It is sunny in Rome.")])
        return ModelResponse(parts=[ToolCallPart("get_weather", {"city": "Rome"})])

    agent = Agent(FunctionModel(model), system_prompt="You are a weather bot.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    with memstore.connect(target.url) as mem:
        mem.init_schema()
        first = agent.run_sync("Weather in Rome?")
        save_messages_sync(mem, "pai", first.new_messages())
        assert mem.count_messages("pai") == 4  # request, call, return, answer
        second = agent.run_sync("And tomorrow?",
                                message_history=load_messages_sync(mem, "pai"))
        save_messages_sync(mem, "pai", second.new_messages())
        assert mem.count_messages("pai") == 8  # and the same four again
    ts = _node(_on(target, {"op": "history", "chatId": "pai"}))
    assert ts["rows"] == 8
    assert _texts(ts["messages"]) == [
        ("user", "Weather in Rome?"),
        ("assistant", "It is sunny in Rome."),
        ("user", "And tomorrow?"),
        ("assistant", "It is sunny in Rome."),
        ("user", "next"),
    ]


TURNS = [
    {"user": "Weather in Rome? ünï 😊", "toolCity": "Rome", "answer": "It is sunny in Rome."},
    {"user": "And in Oslo?", "toolCity": "Oslo", "answer": "Sunny in Oslo too."},
    {"user": "Thanks!", "toolCity": None, "answer": "You're welcome."},
]


def test_a_chat_the_ts_agent_saved_reads_through_memstore_session(target: Target) -> None:
    from memstore.integrations.openai_agents import MemstoreSession

    with memstore.connect(target.url) as mem:
        mem.init_schema()
    ts = _node(_on(target, {"op": "converse", "chatId": "ts-chat", "userId": "u-ts",
                            "turns": TURNS}))
    # The TS agent's own rows: one UIMessage per user and per assistant message, the
    # assistant ones with the tool parts of the turn. (Not compared in order: the TS read
    # puts a turn's rows saved in the same instant user-first, and its SQLite schema keeps
    # whole seconds, so turns within one second interleave on its side.)
    rows = ts["rows"]
    assert sorted(r["role"] for r in rows) == ["assistant"] * 3 + ["user"] * 3
    tool_parts = [p for r in rows for p in r["parts"] if p["type"] == "tool-get_weather"]
    assert [p["output"] for p in tool_parts] in (["sunny in Rome", "sunny in Oslo"],
                                                 ["sunny in Oslo", "sunny in Rome"])
    assert ts["chat"]["messageCount"] == 6

    async def read() -> tuple[list[Any], list[Any], list[Any]]:
        async with MemstoreSession("ts-chat", target.url) as session:
            mem = await session.memory()
            raw = await mem.get_messages("ts-chat", limit=None)
            return await session.get_items(), await session.get_items(limit=2), raw

    items, last_two, raw = asyncio.run(read())
    want = []
    for turn in TURNS:
        want += [{"role": "user", "content": turn["user"]},
                 {"role": "assistant", "content": turn["answer"]}]
    assert items == want
    assert last_two == want[-2:]
    assert {r.user_id for r in raw} == {"u-ts"}
    assert [r.role for r in raw] == ["user", "assistant"] * 3
    assert all(json.loads(r.content)["role"] == r.role for r in raw)  # TS-written UIMessages
    assert sum(p["type"] == "tool-get_weather"
               for r in raw for p in json.loads(r.content)["parts"]) == 2


def test_a_chat_the_ts_agent_saved_reads_through_the_pydantic_ai_loader(
        target: Target) -> None:
    from pydantic_ai.messages import (
        ModelRequest,
        ModelResponse,
        TextPart,
        ToolCallPart,
        ToolReturnPart,
        UserPromptPart,
    )

    from memstore.integrations.pydantic_ai import load_messages_sync

    with memstore.connect(target.url) as mem:
        mem.init_schema()
    _node(_on(target, {"op": "converse", "chatId": "ts-pai", "userId": "u-ts",
                       "turns": TURNS}))
    with memstore.connect(target.url) as mem:
        messages = load_messages_sync(mem, "ts-pai")
    # The user prompts and the model's text, in order; the tool calls the TS agent made
    # come back as PydanticAI's own UIMessage adapter decodes them.
    seen: list[tuple[str, Any]] = []
    for m in messages:
        for part in m.parts:
            if isinstance(part, UserPromptPart):
                seen.append(("user", part.content))
            elif isinstance(part, TextPart):
                seen.append(("text", part.content))
            elif isinstance(part, ToolCallPart):
                seen.append(("call", part.args_as_dict()))
            elif isinstance(part, ToolReturnPart):
                seen.append(("return", part.content))
    assert seen == [
        ("user", TURNS[0]["user"]), ("call", {"city": "Rome"}), ("return", "sunny in Rome"),
        ("text", TURNS[0]["answer"]),
        ("user", TURNS[1]["user"]), ("call", {"city": "Oslo"}), ("return", "sunny in Oslo"),
        ("text", TURNS[1]["answer"]),
        ("user", TURNS[2]["user"]), ("text", TURNS[2]["answer"]),
    ]
    assert all(isinstance(m, (ModelRequest, ModelResponse)) for m in messages)
    # A history PydanticAI accepts for its next run.
    from pydantic_ai import Agent
    from pydantic_ai.models.test import TestModel

    result = Agent(TestModel(custom_output_text="ok")).run_sync(
        "next", message_history=messages)
    assert result.output == "ok"


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


def test_langchain_and_llama_index_chats_load_in_the_ts_agent_history(target: Target) -> None:
    """Issue 17's interop: a LangChain history (with a tool call and its result) and a
    LlamaIndex chat store write rows the TS agent loads as user/assistant text in order,
    tool rows invisible."""
    from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
    from llama_index.core.llms import ChatMessage

    from memstore.integrations.langchain import MemstoreChatMessageHistory
    from memstore.integrations.llama_index import MemstoreChatStore

    with memstore.connect(target.url) as mem:
        mem.init_schema()
        history = MemstoreChatMessageHistory(mem, "lc")
        history.add_messages([
            HumanMessage("Weather in Rome?"),
            AIMessage("", tool_calls=[{"name": "get_weather", "args": {"city": "Rome"},
                                       "id": "call-1"}]),
            ToolMessage("sunny in Rome", tool_call_id="call-1"),
            AIMessage("It is sunny in Rome."),
        ])
        history.add_messages([HumanMessage("And tomorrow?"), AIMessage("Sunny too.")])
        store = MemstoreChatStore(mem)
        store.set_messages("li", [ChatMessage(role="user", content="Plan Rome"),
                                  ChatMessage(role="assistant", content="Day 1: Colosseum.")])
        store.add_message("li", ChatMessage(role="user", content="And day 2?"))
        store.add_message("li", ChatMessage(role="assistant", content="Vatican."))
    lc = _node(_on(target, {"op": "history", "chatId": "lc"}))
    assert lc["rows"] == 6
    assert _texts(lc["messages"]) == [
        ("user", "Weather in Rome?"), ("assistant", "It is sunny in Rome."),
        ("user", "And tomorrow?"), ("assistant", "Sunny too."), ("user", "next")]
    li = _node(_on(target, {"op": "history", "chatId": "li"}))
    assert li["rows"] == 4
    assert _texts(li["messages"]) == [
        ("user", "Plan Rome"), ("assistant", "Day 1: Colosseum."),
        ("user", "And day 2?"), ("assistant", "Vatican."), ("user", "next")]
