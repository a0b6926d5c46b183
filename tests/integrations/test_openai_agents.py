"""MemstoreSession beyond the SDK's own tests: a real Runner.run with a tool call stores
what SQLiteSession stores, items round-trip exactly, rows are what a TS agents app reads,
foreign rows decode as text messages, the user id comes from the run context."""

from __future__ import annotations

import inspect
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


# Items of the TResponseInputItem types the SDK's tests never write as a literal (so
# sdk_items.json has none), shaped as their TypedDicts declare them.
CONSTRUCTED: list[dict[str, Any]] = [
    {"type": "additional_tools", "role": "developer", "id": "at_1",
     "tools": [{"type": "function", "name": "lookup", "parameters": {"type": "object"},
                "strict": True, "description": "Look up."}]},
    {"type": "configuration_update", "id": "cu_1", "reasoning": {"effort": "low"},
     "text": {"format": {"type": "text"}}},
    {"type": "compaction_trigger", "id": "ct_1"},
    {"id": "ig_2", "type": "image_generation_call", "status": "completed", "result": "aGk="},
    {"id": "ci_2", "type": "code_interpreter_call", "status": "completed", "code": "1+1",
     "container_id": "cntr", "outputs": [{"type": "logs", "logs": "2"}]},
    {"type": "item_reference", "id": "msg_0"},
]


def _sdk_items() -> list[dict[str, Any]]:
    """The items in sdk_items.json (extract_sdk_items.py), then :data:`CONSTRUCTED`."""
    data = json.loads((Path(__file__).with_name("sdk_items.json")).read_text())
    return [entry["item"] for entry in data["items"]] + CONSTRUCTED


def _union_members() -> list[tuple[str, set[str], set[str], set[str]]]:
    """(name, required keys, all keys, type literals) of each TResponseInputItem member."""
    import typing

    import typing_extensions as te
    from openai.types.responses.response_input_item_param import ResponseInputItemParam

    members = []
    for cls in typing.get_args(ResponseInputItemParam):
        hints = te.get_type_hints(cls, include_extras=True)
        required = {k for k, v in hints.items() if te.get_origin(v) is te.Required}
        literals: set[str] = set()
        pending = [te.get_type_hints(cls).get("type")]
        while pending:  # Literal["x"], or Optional[Literal["x"]] (item_reference)
            for arg in typing.get_args(pending.pop()):
                if isinstance(arg, str):
                    literals.add(arg)
                else:
                    pending.append(arg)
        members.append((cls.__name__, required, set(hints), literals))
    return members


def _member_of(item: dict[str, Any], member: tuple[str, set[str], set[str], set[str]]) -> bool:
    """Whether ``item`` has exactly the shape of the TypedDict ``member`` (its type, all
    its required keys, no key it does not declare)."""
    _, required, keys, literals = member
    kind = item.get("type")
    if (kind is None and "type" in required) or (kind is not None and kind not in literals):
        return False
    return required <= set(item) <= keys


def test_the_items_cover_every_type_of_the_tresponseinputitem_union() -> None:
    items = _sdk_items()
    members = _union_members()
    assert len(members) == 33  # openai 2.x as pinned with openai-agents 0.24.0
    missing = [m[0] for m in members if not any(_member_of(i, m) for i in items)]
    assert missing == []
    assert len(items) > 1000  # the SDK's own, not only ours


@pytest.mark.asyncio
async def test_every_item_of_the_sdk_tests_round_trips_exactly(store_backend: Databases) -> None:
    """add_items → get_items gives back each of the 1,100+ items of the SDK's tests (every
    TResponseInputItem type) with the same ``json.dumps(sort_keys=True)``; pop_item too,
    for one item of each type."""
    mem = await store_backend.open()
    items = cast(list[TResponseInputItem], _sdk_items())
    session = MemstoreSession("sdk-items", mem)
    await session.add_items(items)
    got = await session.get_items()
    assert _dumps(got) == _dumps(items)
    assert got == items
    assert _dumps(await session.get_items(limit=7)) == _dumps(items[-7:])

    # The rows a TS app reads: only message items go by their role; every other item,
    # with a role or not (additional_tools has role "developer"), is a hidden assistant row.
    rows = await mem.get_messages("sdk-items", limit=None)
    for item, row in zip(items, rows, strict=True):
        ui = json.loads(row.content)
        if item.get("type", "message") != "message":
            assert (row.role, ui["parts"]) == ("assistant", []), item

    # pop_item, newest first, for one item of each member type (and every message shape).
    members = _union_members()
    one_each = [next(i for i in items if _member_of(cast(dict[str, Any], i), m))
                for m in members]
    popping = MemstoreSession("sdk-pop", mem)
    await popping.add_items(one_each)
    popped = [await popping.pop_item() for _ in one_each]
    assert _dumps(popped) == _dumps(list(reversed(one_each)))
    assert await popping.pop_item() is None
    assert await popping.get_items() == []


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


@pytest.mark.asyncio
async def test_close_is_a_coroutine_as_in_the_sdks_async_sessions(
        store_backend: Databases) -> None:
    # The SDK's async sessions (Redis, MongoDB, Dapr, AsyncSQLiteSession) close with
    # `await session.close()`; code written for them works on memstore, aclose() as alias.
    from agents.extensions.memory.async_sqlite_session import AsyncSQLiteSession

    assert inspect.iscoroutinefunction(AsyncSQLiteSession.close)
    assert inspect.iscoroutinefunction(MemstoreSession.close)
    session = MemstoreSession("closing", store_backend.url("closing"))
    await session.add_items([{"role": "user", "content": "x"}])
    mem = await session.memory()
    await session.close()
    await session.close()  # twice is fine
    await session.aclose()  # the alias, after close
    with pytest.raises(memstore.ClosedError):
        await mem.count_messages("closing")
    for call in (session.get_items(), session.pop_item(), session.clear_session(),
                 session.add_items([{"role": "user", "content": "y"}]), session.memory()):
        with pytest.raises(memstore.ClosedError) as info:
            await call
        assert str(info.value) == ("this MemstoreSession is closed; "
                                   "create a new MemstoreSession")
    async with MemstoreSession("closing", store_backend.url("closing")) as again:
        assert [i.get("content") for i in await again.get_items()] == ["x"]
    with pytest.raises(memstore.ClosedError):
        await again.get_items()


@pytest.mark.asyncio
async def test_a_closed_session_over_your_memory_is_closed_and_the_memory_stays_open(
        store_backend: Databases) -> None:
    mine = await store_backend.open("yours")
    session = MemstoreSession("yours", mine)
    await session.add_items([{"role": "user", "content": "x"}])
    await session.close()
    with pytest.raises(memstore.ClosedError, match="this MemstoreSession is closed"):
        await session.get_items()
    assert await mine.count_messages("yours") == 1


@pytest.mark.asyncio
async def test_closed_memory_says_which_object_and_how_to_reopen(
        store_backend: Databases) -> None:
    mem = await store_backend.open()
    await mem.aclose()
    with pytest.raises(memstore.ClosedError) as info:
        await mem.count_messages("c")
    assert str(info.value) == ("this AsyncMemory is closed; open a new one with "
                               "memstore.connect_async()")


def test_session_satisfies_the_protocol() -> None:
    from agents.memory import Session
    from agents.memory.session import _session_accepts_wrapper

    session = MemstoreSession("p", "memory://")
    assert isinstance(session, Session)
    assert _session_accepts_wrapper(session)  # the runner passes it the run context


@pytest.mark.asyncio
async def test_cancelled_add_items_stores_all_or_nothing(store_backend: Databases) -> None:
    """add_items of 5,000 items cancelled part way (at several points of its measured
    duration, so some land inside the write): the chat has 0 or 5,000 more items once
    the cancelled call returns, still so a moment later (a cancelled caller waits for the
    write's outcome, as the SDK's own sessions do), and the session keeps working."""
    import asyncio
    import time

    mem = await store_backend.open()
    session = MemstoreSession("cancel", mem)
    items = cast(list[TResponseInputItem], [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"message {i}"}
        for i in range(5000)])

    started = time.perf_counter()
    await session.add_items(items)
    duration = time.perf_counter() - started
    await session.clear_session()

    outcomes = []
    for fraction in (None, 0.0, 0.1, 0.3, 0.5, 0.7, 0.9):
        before = await mem.count_messages("cancel")
        task = asyncio.ensure_future(session.add_items(items))
        if fraction is not None:  # None: cancelled before it starts
            await asyncio.sleep(duration * fraction)
        task.cancel()
        try:
            await task
            outcome = "done"
        except asyncio.CancelledError:
            outcome = "cancelled"
        added = await mem.count_messages("cancel") - before
        assert added in (0, 5000), (fraction, outcome, added)
        if outcome == "done":
            assert added == 5000
        await asyncio.sleep(0.05)
        assert await mem.count_messages("cancel") - before == added  # nothing lands later
        outcomes.append((fraction, outcome, added))

        # The session works after it: write, read, pop.
        await session.add_items([{"role": "user", "content": f"after {fraction}"}])
        assert await session.get_items(limit=1) == [
            {"role": "user", "content": f"after {fraction}"}]
        assert await session.pop_item() == {"role": "user", "content": f"after {fraction}"}
        if added:
            assert (await session.get_items(limit=1))[0] == items[-1]
    assert outcomes[0] == (None, "cancelled", 0)
    # Some cancellations landed while the write was under way (not all after it ended).
    assert any(o[1] == "cancelled" for o in outcomes[1:]), outcomes
    got = await session.get_items()
    assert len(got) % 5000 == 0 and got == items * (len(got) // 5000)
