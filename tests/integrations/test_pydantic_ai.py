"""PydanticAI history: a real run (FunctionModel, PydanticAI's own test model) with a
thinking part, a tool call and a binary part saves and loads back equal; rows are what a TS
agents app reads; rows written by others load as text messages."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic_ai import Agent, BinaryContent
from pydantic_ai.messages import (
    ModelMessage,
    ModelMessagesTypeAdapter,
    ModelRequest,
    ModelResponse,
    SystemPromptPart,
    TextPart,
    ThinkingPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo, FunctionModel

from memstore.integrations import codec
from memstore.integrations.pydantic_ai import (
    load_messages,
    load_messages_sync,
    save_messages,
    save_messages_sync,
)
from tests.integrations.conftest import Databases

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))


def _model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    last = messages[-1]
    if isinstance(last, ModelRequest) and any(isinstance(p, ToolReturnPart) for p in last.parts):
        return ModelResponse(parts=[TextPart("It is sunny in Rome.")])
    return ModelResponse(parts=[
        ThinkingPart("The user wants the weather.", signature="sig-1"),
        ToolCallPart("get_weather", {"city": "Rome"}, tool_call_id="call-1"),
    ])


def _agent() -> Agent[None, str]:
    agent = Agent(FunctionModel(_model), system_prompt="You are a weather bot.")

    @agent.tool_plain
    def get_weather(city: str) -> str:
        return f"sunny in {city}"

    return agent


def _one_json_trip(messages: list[ModelMessage]) -> list[ModelMessage]:
    """What PydanticAI itself gives back after JSON (BinaryContent(image/...) → BinaryImage)."""
    return ModelMessagesTypeAdapter.validate_python(
        ModelMessagesTypeAdapter.dump_python(messages, mode="json"))


@pytest.mark.asyncio
async def test_run_with_tool_call_thinking_and_binary_round_trips(
        store_backend: Databases) -> None:
    mem = await store_backend.open()
    agent = _agent()
    prompt: list[Any] = ["What is the weather here?",
                         BinaryContent(data=PNG, media_type="image/png")]
    first = await agent.run(prompt, message_history=await load_messages(mem, "pai"))
    assert first.output == "It is sunny in Rome."
    await save_messages(mem, "pai", first.new_messages(), user_id="u1")

    loaded = await load_messages(mem, "pai")
    assert loaded == _one_json_trip(first.all_messages())
    assert loaded != first.all_messages()  # the BinaryContent quirk is PydanticAI's own
    assert [type(m).__name__ for m in loaded] == [
        "ModelRequest", "ModelResponse", "ModelRequest", "ModelResponse"]
    assert any(isinstance(p, ThinkingPart) for p in loaded[1].parts)

    # After one trip it is stable: a second turn on the loaded history saves and loads equal.
    second = await agent.run("And tomorrow?", message_history=loaded)
    await save_messages(mem, "pai", second.new_messages(), user_id="u1")
    assert await load_messages(mem, "pai") == second.all_messages()
    assert await load_messages(mem, "pai", limit=2) == second.all_messages()[-2:]

    rows = await mem.get_messages("pai", limit=None)
    seen = [(r.role, [p["text"] for p in json.loads(r.content)["parts"]]) for r in rows]
    assert seen == [
        ("user", ["What is the weather here?"]),
        ("assistant", []),  # thinking + tool call
        ("assistant", []),  # tool return
        ("assistant", ["It is sunny in Rome."]),
        ("user", ["And tomorrow?"]),
        ("assistant", []),
        ("assistant", []),
        ("assistant", ["It is sunny in Rome."]),
    ]
    assert {r.user_id for r in rows} == {"u1"}


@pytest.mark.asyncio
async def test_messages_without_binary_round_trip_exactly(store_backend: Databases) -> None:
    mem = await store_backend.open()
    result = await _agent().run("Weather in Rome?")
    await save_messages(mem, "exact", result.all_messages())
    assert await load_messages(mem, "exact") == result.all_messages()


def test_sync_twins(store_backend: Databases) -> None:
    import memstore

    with memstore.connect(store_backend.url("sync")) as mem:
        result = _agent().run_sync("Weather in Rome?")
        save_messages_sync(mem, "sync", result.all_messages())
        assert load_messages_sync(mem, "sync") == result.all_messages()
        assert save_messages_sync(mem, "sync", []) == []


@pytest.mark.asyncio
async def test_rows_written_by_others_load_as_text(store_backend: Databases) -> None:
    mem = await store_backend.open()
    await mem.save_messages("mixed", [
        {"role": "system", "content": "plain system text"},
        {"role": "user", "content": "plain user text"},
        {"role": "assistant", "content": "plain assistant text"},
        {"role": "user", "content": codec.ui_message("user", "TS user")},
        {"role": "assistant", "content": codec.ui_message("assistant", "TS answer")},
        {"role": "assistant", "content": codec.encode(
            "openai-agents", {"type": "function_call", "call_id": "c"}, role="assistant",
            text=None)},
        {"role": "assistant", "content": codec.encode(
            "openai-agents", {"role": "assistant", "content": "agents text"},
            role="assistant", text="agents text")},
    ])
    loaded = await load_messages(mem, "mixed")
    flat = [(type(m).__name__, type(p).__name__, p.content) for m in loaded for p in m.parts]
    assert flat == [
        ("ModelRequest", "SystemPromptPart", "plain system text"),
        ("ModelRequest", "UserPromptPart", "plain user text"),
        ("ModelResponse", "TextPart", "plain assistant text"),
        ("ModelRequest", "UserPromptPart", "TS user"),
        ("ModelResponse", "TextPart", "TS answer"),
        ("ModelResponse", "TextPart", "agents text"),
    ]
    # Valid history for a run.
    result = await _agent().run("Weather?", message_history=loaded)
    assert result.output == "It is sunny in Rome."


@pytest.mark.asyncio
async def test_system_only_request_is_a_system_row(store_backend: Databases) -> None:
    mem = await store_backend.open()
    msg = ModelRequest(parts=[SystemPromptPart("Be brief.")])
    await save_messages(mem, "sys", [msg])
    (row,) = await mem.get_messages("sys")
    assert row.role == "system"
    assert json.loads(row.content)["parts"] == [{"type": "text", "text": "Be brief."}]
    assert await load_messages(mem, "sys") == [msg]
    assert isinstance((await load_messages(mem, "sys"))[0].parts[0], SystemPromptPart)
    _ = UserPromptPart  # imported for readers comparing with the TS test
