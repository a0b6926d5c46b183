"""LlamaIndex's search_memory FunctionTool, called through llama-index-core's own tool
interface (call / acall, as an agent calls it): one user's past messages only."""

from __future__ import annotations

import asyncio

import pytest

import memstore
from memstore.integrations import search_tool as st
from memstore.integrations.llama_index import search_memory_tool


def test_sync_and_async_calls_search_the_users_messages(memory: memstore.Memory) -> None:
    memory.save_message("old", "user", "our deploy target is Fly.io", user_id="u1")
    memory.save_message("theirs", "user", "deploy secrets", user_id="u2")
    tool = search_memory_tool(memory, user_id="u1")
    assert tool.metadata.name == "search_memory"
    assert tool.metadata.description.startswith(st.TOOL_DESCRIPTION)
    out = tool.call(query="deploy")
    assert "chat old, user: our deploy target is Fly.io" in str(out) and "secrets" not in str(out)
    assert str(tool.call(query="?!")) == "error: ValidationError"

    async def body() -> str:
        amem = await memstore.connect_async("memory://")
        await amem.save_message("c", "assistant", "the invoice is overdue", user_id="u1")
        out = await search_memory_tool(amem, user_id="u1").acall(query="invoice")
        await amem.aclose()
        return str(out)

    assert asyncio.run(body()).endswith("chat c, assistant: the invoice is overdue")


def test_the_user_is_required() -> None:
    with pytest.raises(memstore.ValidationError) as info:
        search_memory_tool("memory://", user_id="")
    assert info.value.field == "user_id"
