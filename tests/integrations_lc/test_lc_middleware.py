"""MemstoreMiddleware through real ``create_agent`` runs with langchain-core's fake chat
model; a callback records every message list the model is called with."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain.agents import create_agent
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.checkpoint.memory import InMemorySaver

import memstore
from memstore.integrations import codec
from memstore.integrations import working_memory as wm_text
from memstore.integrations.langchain import (
    MemstoreChatMessageHistory,
    MemstoreContext,
    MemstoreMiddleware,
)
from tests.backends import Backend
from tests.integrations_lc.conftest import run_async

CTX: MemstoreContext = {"chat_id": "c1", "user_id": "u1"}


class Recorder(BaseCallbackHandler):
    """Every message list a chat model was called with."""

    def __init__(self) -> None:
        self.calls: list[list[BaseMessage]] = []

    def on_chat_model_start(self, serialized: dict[str, Any],
                            messages: list[list[BaseMessage]], **kwargs: Any) -> None:
        self.calls.append(messages[0])


class ToolModel(FakeMessagesListChatModel):
    """langchain-core's fake model; create_agent binds the middleware's tool to it."""

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


def seen(messages: list[BaseMessage]) -> list[str]:
    """type:text of each message, the system prompt left out."""
    return [f"{m.type}:{m.text}" for m in messages if m.type != "system"]


def agent_for(mem: Any, responses: list[BaseMessage], **options: Any) -> Any:
    model = ToolModel(responses=responses)
    checkpointer = options.pop("checkpointer", None)
    return create_agent(model, [], middleware=[MemstoreMiddleware(mem, **options)],
                        system_prompt="Be brief.", context_schema=MemstoreContext,
                        checkpointer=checkpointer)


def test_two_turns_second_call_sees_the_first_once(memory: memstore.Memory) -> None:
    rec = Recorder()
    agent = agent_for(memory, [AIMessage("a1"), AIMessage("a2")], working_memory=None)
    agent.invoke({"messages": [HumanMessage("q1")]}, {"callbacks": [rec]}, context=CTX)
    out = agent.invoke({"messages": [HumanMessage("q2")]}, {"callbacks": [rec]}, context=CTX)
    assert [seen(c) for c in rec.calls] == [
        ["human:q1"],
        ["human:q1", "ai:a1", "human:q2"],
    ]
    assert rec.calls[1][0].type == "system" and rec.calls[1][0].text == "Be brief."
    # Stored: each message once, in order, owned by the context's user, exactly as in the
    # agent's final state.
    rows = memory.get_messages("c1", limit=None)
    assert [r.role for r in rows] == ["user", "assistant", "user", "assistant"]
    assert {r.user_id for r in rows} == {"u1"}
    assert MemstoreChatMessageHistory(memory, "c1").messages == out["messages"]


def test_history_written_elsewhere_loads_before_the_input(memory: memstore.Memory) -> None:
    MemstoreChatMessageHistory(memory, "c1").add_messages(
        [HumanMessage(f"old{i}") for i in range(5)])
    memory.save_message("c1", "assistant", codec.ui_message("assistant", "from TS"))
    rec = Recorder()
    agent = agent_for(memory, [AIMessage("a1")], working_memory=None, limit=3)
    agent.invoke({"messages": [HumanMessage("new")]}, {"callbacks": [rec]}, context=CTX)
    assert seen(rec.calls[0]) == ["human:old3", "human:old4", "ai:from TS", "human:new"]
    # Only the run's messages were added; the loaded ones were not stored again.
    assert memory.count_messages("c1") == 8


def test_other_chats_stay_apart(memory: memstore.Memory) -> None:
    rec = Recorder()
    agent = agent_for(memory, [AIMessage("a")], working_memory=None)
    agent.invoke({"messages": [HumanMessage("in c1")]}, {"callbacks": [rec]}, context=CTX)
    agent.invoke({"messages": [HumanMessage("in c2")]}, {"callbacks": [rec]},
                 context={"chat_id": "c2"})
    assert seen(rec.calls[1]) == ["human:in c2"]
    assert memory.count_messages("c1") == 2 and memory.count_messages("c2") == 2


def test_async_run_on_async_memory(backend: Backend) -> None:
    async def body(amem: memstore.AsyncMemory) -> list[list[str]]:
        rec = Recorder()
        agent = agent_for(amem, [AIMessage("a1"), AIMessage("a2")], working_memory=None)
        await agent.ainvoke({"messages": [HumanMessage("q1")]}, {"callbacks": [rec]},
                            context=CTX)
        await agent.ainvoke({"messages": [HumanMessage("q2")]}, {"callbacks": [rec]},
                            context=CTX)
        assert await amem.count_messages("c1") == 4
        return [seen(c) for c in rec.calls]

    assert run_async(backend, body) == [["human:q1"], ["human:q1", "ai:a1", "human:q2"]]


def test_with_a_checkpointer_nothing_loads_or_stores_twice(memory: memstore.Memory) -> None:
    rec = Recorder()
    MemstoreChatMessageHistory(memory, "c1").add_messages([HumanMessage("before")])
    agent = agent_for(memory, [AIMessage("a1"), AIMessage("a2"), AIMessage("a3")],
                      working_memory=None, checkpointer=InMemorySaver())
    t1 = {"callbacks": [rec], "configurable": {"thread_id": "t1"}}
    agent.invoke({"messages": [HumanMessage("q1")]}, t1, context=CTX)
    agent.invoke({"messages": [HumanMessage("q2")]}, t1, context=CTX)
    # A new thread on the same chat starts from memstore.
    t2 = {"callbacks": [rec], "configurable": {"thread_id": "t2"}}
    agent.invoke({"messages": [HumanMessage("q3")]}, t2, context=CTX)
    assert [seen(c) for c in rec.calls] == [
        ["human:before", "human:q1"],
        ["human:before", "human:q1", "ai:a1", "human:q2"],
        ["human:before", "human:q1", "ai:a1", "human:q2", "ai:a2", "human:q3"],
    ]
    assert [m.text for m in MemstoreChatMessageHistory(memory, "c1").messages] == \
        ["before", "q1", "a1", "q2", "a2", "q3", "a3"]


def test_tool_calls_and_results_are_stored_hidden_from_ts(memory: memstore.Memory) -> None:
    rec = Recorder()
    call = AIMessage("", tool_calls=[{"name": "updateWorkingMemory",
                                      "args": {"content": "# Facts\n- likes Rome"},
                                      "id": "call_1"}])
    agent = agent_for(memory, [call, AIMessage("Noted."), AIMessage("You like Rome.")])
    agent.invoke({"messages": [HumanMessage("I like Rome")]}, {"callbacks": [rec]},
                 context=CTX)
    wm = memory.get_working_memory(scope="chat", chat_id="c1")
    assert wm is not None and wm.content == "# Facts\n- likes Rome"
    stored = MemstoreChatMessageHistory(memory, "c1").messages
    assert [type(m) for m in stored] == [HumanMessage, AIMessage, ToolMessage, AIMessage]
    assert stored[1].tool_calls[0]["args"] == {"content": "# Facts\n- likes Rome"}  # type: ignore[attr-defined]
    assert stored[2].content == "success"
    parts = [json.loads(r.content)["parts"] for r in memory.get_messages("c1")]
    assert parts[1] == [] and parts[2] == []  # what TS must not see
    # The model call after the tool, and the next run, have the working memory in the
    # system prompt, after the agent's own.
    agent.invoke({"messages": [HumanMessage("What do I like?")]}, {"callbacks": [rec]},
                 context=CTX)
    first, after_tool, next_run = (c[0] for c in rec.calls)
    # The TS agents package's prompt, byte for byte: instructions, then the stored memory.
    assert first.text == wm_text.system_prompt("Be brief.", memory=None)
    assert "## Working Memory\n\n# Facts" not in first.text
    for system in (after_tool, next_run):
        assert system.text == wm_text.system_prompt("Be brief.", memory="# Facts\n- likes Rome")
        assert system.text.endswith("\n## Working Memory\n\n# Facts\n- likes Rome\n")


def test_user_scope_working_memory_spans_chats(memory: memstore.Memory) -> None:
    memory.update_working_memory(scope="user", user_id="u1", content="# Name: Ada")
    rec = Recorder()
    agent = agent_for(memory, [AIMessage("hi")], working_memory="user")
    agent.invoke({"messages": [HumanMessage("hello")]}, {"callbacks": [rec]},
                 context={"chat_id": "other", "user_id": "u1"})
    assert rec.calls[0][0].text.endswith("# Name: Ada\n")
    with pytest.raises(memstore.MemstoreError, match="user id"):
        agent.invoke({"messages": [HumanMessage("x")]}, context={"chat_id": "c9"})


def test_async_tool_updates_working_memory() -> None:
    async def body() -> str | None:
        amem = await memstore.connect_async("memory://")
        call = AIMessage("", tool_calls=[{"name": "updateWorkingMemory",
                                          "args": {"content": "async notes"}, "id": "c"}])
        agent = agent_for(amem, [call, AIMessage("ok")])
        await agent.ainvoke({"messages": [HumanMessage("remember")]}, context=CTX)
        wm = await amem.get_working_memory(scope="chat", chat_id="c1")
        await amem.aclose()
        return wm.content if wm else None

    assert asyncio.run(body()) == "async notes"


def test_tool_answers_error_when_the_update_fails(memory: memstore.Memory,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(**kwargs: object) -> None:
        raise memstore.BackendError("server gone")

    monkeypatch.setattr(memory, "update_working_memory", fail)
    call = AIMessage("", tool_calls=[{"name": "updateWorkingMemory",
                                      "args": {"content": "# notes"}, "id": "t"}])
    agent = agent_for(memory, [call, AIMessage("sorry")])
    out = agent.invoke({"messages": [HumanMessage("remember")]}, context=CTX)
    assert [m.content for m in out["messages"] if m.type == "tool"] == ["error"]
    assert memory.get_working_memory(scope="chat", chat_id="c1") is None
    assert memory.count_messages("c1") == 4  # the turn is stored all the same


def test_without_a_chat_id_the_run_fails_clearly(memory: memstore.Memory) -> None:
    agent = agent_for(memory, [AIMessage("a")], working_memory=None)
    with pytest.raises(memstore.MemstoreError, match="chat id"):
        agent.invoke({"messages": [HumanMessage("q")]}, context={"user_id": "u1"})
    assert memory.chat_ids() == []


def test_context_object_and_metadata_forms() -> None:
    mw = MemstoreMiddleware(memstore.connect("memory://"))

    class Ctx:
        def __init__(self) -> None:
            self.chatId = "c7"  # the TS spelling
            self.metadata = {"userId": "u7"}

    assert mw.ids(Ctx()) == ("c7", "u7")
    assert mw.ids({"metadata": {"chat_id": "c8"}}) == ("c8", None)
    tools: list[BaseTool] = list(mw.tools)
    assert [t.name for t in tools] == ["updateWorkingMemory"]
    assert MemstoreMiddleware(memstore.connect("memory://"), working_memory=None).tools == []


def test_search_tool_finds_the_users_past_messages(memory: memstore.Memory) -> None:
    memory.save_message("old", "user", "our deploy target is Fly.io", user_id="u1")
    memory.save_message("theirs", "user", "deploy secrets", user_id="u2")
    call = AIMessage("", tool_calls=[{"name": "search_memory", "args": {"query": "deploy"},
                                      "id": "call_s"}])
    agent = agent_for(memory, [call, AIMessage("On Fly.io.")], search=True)
    assert [t.name for t in MemstoreMiddleware(memory, search=True).tools] == [
        "updateWorkingMemory", "search_memory"]
    out = agent.invoke({"messages": [HumanMessage("Where do we deploy?")]}, context=CTX)
    (result,) = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert "chat old, user: our deploy target is Fly.io" in result.text
    assert "secrets" not in result.text
    agent = agent_for(memory, [call, AIMessage("?")], search=True)
    out = agent.invoke({"messages": [HumanMessage("Where?")]}, context={"chat_id": "c2"})
    assert [m.text for m in out["messages"] if isinstance(m, ToolMessage)] == [
        "error: no user"]


def test_async_search_tool() -> None:
    async def body() -> list[str]:
        amem = await memstore.connect_async("memory://")
        await amem.save_message("old", "user", "the invoice is overdue", user_id="u1")
        call = AIMessage("", tool_calls=[{"name": "search_memory",
                                          "args": {"query": "invoice"}, "id": "c"}])
        agent = agent_for(amem, [call, AIMessage("ok")], search=True)
        out = await agent.ainvoke({"messages": [HumanMessage("bills?")]}, context=CTX)
        await amem.aclose()
        return [m.text for m in out["messages"] if isinstance(m, ToolMessage)]

    [text] = asyncio.run(body())
    assert text.endswith("chat old, user: the invoice is overdue")
