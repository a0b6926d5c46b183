"""MemstoreSession beyond the SDK's own tests: a real Runner.run with a tool call stores
what SQLiteSession stores, items round-trip exactly, rows are what a TS agents app reads,
foreign rows decode as text messages, the user id comes from the run context."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import pytest
from agents import Agent, Runner, SQLiteSession, TResponseInputItem, function_tool
from agents.testing import ScriptedModel

import memstore
from memstore.integrations import codec
from memstore.integrations.openai_agents import MemstoreSession
from tests.integrations.conftest import Databases
from tests.integrations.sdk_helpers import get_function_tool_call, get_text_message

# Items of every kind the Responses API puts into a session (shapes as the SDK's types
# declare them), each checked to read back exactly.
ITEMS: list[dict[str, Any]] = [
    {"role": "user", "content": "Hello"},
    {"role": "user", "content": [{"type": "input_text", "text": "Look"},
                                 {"type": "input_image", "detail": "auto",
                                  "image_url": "data:image/png;base64,iVBORw0KGgo="}]},
    {"role": "system", "content": "Be brief."},
    {"role": "developer", "content": "Tools first."},
    {"role": "assistant", "content": "Hi there!"},
    {"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
     "content": [{"type": "output_text", "text": "Answer", "annotations": [], "logprobs": []}]},
    {"id": "msg_2", "type": "message", "role": "assistant", "status": "completed",
     "content": [{"type": "refusal", "refusal": "No."}]},
    {"id": "fc_1", "type": "function_call", "call_id": "call_1", "name": "get_weather",
     "arguments": "{\"city\": \"Rome\"}", "status": "completed"},
    {"type": "function_call_output", "call_id": "call_1", "output": "sunny, 24 °C"},
    {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "think"}],
     "encrypted_content": "gAAAA..."},
    {"id": "ws_1", "type": "web_search_call", "status": "completed",
     "action": {"type": "search", "query": "rome weather"}},
    {"id": "fs_1", "type": "file_search_call", "status": "completed", "queries": ["q"],
     "results": None},
    {"id": "cc_1", "type": "computer_call", "call_id": "c1", "status": "completed",
     "action": {"type": "click", "button": "left", "x": 1, "y": 2},
     "pending_safety_checks": []},
    {"type": "computer_call_output", "call_id": "c1",
     "output": {"type": "computer_screenshot", "image_url": "data:image/png;base64,AA=="}},
    {"id": "ig_1", "type": "image_generation_call", "status": "completed", "result": None},
    {"id": "ci_1", "type": "code_interpreter_call", "status": "completed", "code": "1+1",
     "container_id": "cntr", "outputs": [{"type": "logs", "logs": "2"}]},
    {"id": "ls_1", "type": "local_shell_call", "call_id": "l1", "status": "completed",
     "action": {"type": "exec", "command": ["ls"], "env": {}}},
    {"id": "mcp_1", "type": "mcp_list_tools", "server_label": "s", "tools": []},
    {"type": "item_reference", "id": "msg_0"},
    {"id": "cmp_1", "type": "compaction", "encrypted_content": "opaque"},
    {"role": "user", "content": "ünïcødé 😊 'quotes' \"and\" \\ backslash\nnewline"},
]


@function_tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"sunny in {city}"


async def _run(session: Any, model: ScriptedModel, text: str, **kwargs: Any) -> Any:
    agent = Agent(name="weather", model=model, tools=[get_weather])
    return await Runner.run(agent, text, session=session, **kwargs)


def _script(model: ScriptedModel) -> None:
    model.enqueue([get_function_tool_call("get_weather", json.dumps({"city": "Rome"}))])
    model.enqueue([get_text_message("It is sunny in Rome.")])
    model.enqueue([get_text_message("You asked about Rome.")])


def _dumps(items: list[Any]) -> list[str]:
    return [json.dumps(item, sort_keys=True) for item in items]


@pytest.mark.asyncio
async def test_runner_with_tool_call_stores_what_sqlite_session_stores(
        store_backend: Databases, tmp_path: Path) -> None:
    mem = await store_backend.open()
    ours = MemstoreSession("trip", mem)
    theirs = SQLiteSession("trip", tmp_path / "theirs.db")
    try:
        for session in (ours, theirs):
            model = ScriptedModel()
            _script(model)
            result = await _run(session, model, "Weather in Rome?")
            assert result.final_output == "It is sunny in Rome."
            result = await _run(session, model, "What did I ask?")
            assert result.final_output == "You asked about Rome."
            # The second turn's model input: the first turn's history, then the question.
            assert model.calls[-1].input == (await session.get_items())[:-1]
        got, want = await ours.get_items(), await theirs.get_items()
        assert [item.get("type") for item in got] == [  # type: ignore[union-attr]
            None, "function_call", "function_call_output", "message", None, "message"]
        assert got == want
        assert _dumps(got) == _dumps(want)
        assert await ours.get_items(limit=2) == await theirs.get_items(limit=2)

        # pop_item: the same item, then the same history, on both.
        assert await ours.pop_item() == await theirs.pop_item()
        assert await ours.get_items() == await theirs.get_items()

        # A retry rewind as the runner does it: pop the newest items and compare them with
        # what it wrote (json.dumps(..., sort_keys=True)), then write them again.
        for session in (ours, theirs):
            popped = [await session.pop_item() for _ in range(3)]
            assert _dumps(popped) == _dumps(list(reversed(want[2:5])))
            await session.add_items(list(reversed(cast(list[TResponseInputItem], popped))))
        assert await ours.get_items() == await theirs.get_items() == want[:5]
        assert await mem.count_messages("trip") == 5
    finally:
        theirs.close()


@pytest.mark.asyncio
async def test_every_item_kind_round_trips_exactly(store_backend: Databases) -> None:
    mem = await store_backend.open()
    session = MemstoreSession("kinds", mem)
    items = cast(list[TResponseInputItem], ITEMS)
    await session.add_items(items)
    got = await session.get_items()
    assert got == items and _dumps(got) == _dumps(items)
    assert await session.get_items(limit=3) == items[-3:]
    assert await session.pop_item() == items[-1]


@pytest.mark.asyncio
async def test_rows_are_ui_messages_a_ts_app_reads(store_backend: Databases) -> None:
    mem = await store_backend.open()
    await MemstoreSession("ts", mem).add_items(cast(list[TResponseInputItem], ITEMS[:10]))
    rows = await mem.get_messages("ts", limit=None)
    seen = []
    for row in rows:
        ui = json.loads(row.content)
        assert ui["role"] == row.role
        assert ui["metadata"]["memstore"]["framework"] == "openai-agents"
        seen.append((row.role, [p["text"] for p in ui["parts"]]))
    assert seen == [
        ("user", ["Hello"]), ("user", ["Look"]), ("system", ["Be brief."]),
        ("system", ["Tools first."]), ("assistant", ["Hi there!"]), ("assistant", ["Answer"]),
        ("assistant", ["No."]),
        ("assistant", []), ("assistant", []), ("assistant", []),  # call, output, reasoning
    ]


@pytest.mark.asyncio
async def test_rows_it_did_not_write_read_as_text_messages(store_backend: Databases) -> None:
    mem = await store_backend.open()
    await mem.save_messages("mixed", [
        {"role": "user", "content": "plain text from the plain API"},
        {"role": "user", "content": codec.ui_message("user", "from a TS app")},
        {"role": "assistant", "content": json.dumps({
            "id": "a1", "role": "assistant",
            "parts": [{"type": "text", "text": "TS answer"},
                      {"type": "tool-weather", "toolCallId": "t", "state": "output-available"}]})},
        {"role": "assistant", "content": codec.encode("pydantic-ai", {"kind": "response"},
                                                      role="assistant", text="PAI text")},
    ])
    session = MemstoreSession("mixed", mem)
    assert await session.get_items() == [
        {"role": "user", "content": "plain text from the plain API"},
        {"role": "user", "content": "from a TS app"},
        {"role": "assistant", "content": "TS answer"},
        {"role": "assistant", "content": "PAI text"},
    ]


@pytest.mark.asyncio
async def test_user_id_from_the_run_context(store_backend: Databases) -> None:
    mem = await store_backend.open()
    model = ScriptedModel()
    _script(model)
    await _run(MemstoreSession("ctx", mem), model, "Weather?", context={"user_id": "u-ctx"})
    chat = await mem.get_chat("ctx")
    assert chat is not None and chat.user_id == "u-ctx"
    assert {m.user_id for m in await mem.get_messages("ctx", limit=None)} == {"u-ctx"}

    class Ctx:
        def __init__(self) -> None:
            self.metadata = {"userId": "u-meta"}  # as @ai-sdk-tools/agents spells it

    model = ScriptedModel()
    _script(model)
    await _run(MemstoreSession("ctx2", mem), model, "Weather?", context=Ctx())
    assert {m.user_id for m in await mem.get_messages("ctx2", limit=None)} == {"u-meta"}

    # Given explicitly, it wins over the context.
    model = ScriptedModel()
    _script(model)
    await _run(MemstoreSession("ctx3", mem, user_id="u-arg"), model, "Weather?",
               context={"user_id": "u-ctx"})
    assert {m.user_id for m in await mem.get_messages("ctx3", limit=None)} == {"u-arg"}


@pytest.mark.asyncio
async def test_clear_session_keeps_chat_row_and_working_memory(store_backend: Databases) -> None:
    mem = await store_backend.open()
    session = MemstoreSession("keep", mem, user_id="u1")
    await session.add_items([{"role": "user", "content": "hi"}])
    await mem.update_chat_title("keep", "Kept title")
    await mem.update_working_memory(scope="chat", chat_id="keep", content="# facts")
    await session.clear_session()
    assert await session.get_items() == []
    chat = await mem.get_chat("keep")
    assert chat is not None and chat.title == "Kept title" and chat.user_id == "u1"
    assert chat.message_count == 0
    wm = await mem.get_working_memory(scope="chat", chat_id="keep")
    assert wm is not None and wm.content == "# facts"


@pytest.mark.asyncio
async def test_bad_item_is_refused_before_anything_is_written(store_backend: Databases) -> None:
    mem = await store_backend.open()
    session = MemstoreSession("bad", mem)
    bad = cast(TResponseInputItem, {"role": "user", "content": object()})
    with pytest.raises(memstore.ValidationError):
        await session.add_items([{"role": "user", "content": "ok"}, bad])
    assert await session.get_items() == []
    await session.add_items([{"role": "user", "content": "after failure"}])
    assert [i.get("content") for i in await session.get_items()] == ["after failure"]


@pytest.mark.asyncio
async def test_url_session_owns_and_closes_its_memory(store_backend: Databases) -> None:
    session = MemstoreSession("owned", store_backend.url("owned"))
    await session.add_items([{"role": "user", "content": "x"}])
    mem = await session.memory()
    await session.aclose()
    await session.aclose()  # twice is fine
    with pytest.raises(memstore.ClosedError):
        await mem.count_messages("owned")
    with pytest.raises(memstore.ClosedError):
        await session.get_items()
    # One passed in stays open.
    mine = await store_backend.open("owned")
    session = MemstoreSession("owned", mine)
    await session.aclose()
    assert await mine.count_messages("owned") == 1


def test_session_satisfies_the_protocol() -> None:
    from agents.memory import Session
    from agents.memory.session import _session_accepts_wrapper

    session = MemstoreSession("p", "memory://")
    assert isinstance(session, Session)
    assert _session_accepts_wrapper(session)  # the runner passes it the run context
