"""PydanticAI history and working memory in memstore: run
`python examples/pydantic_ai_history.py` (offline: a function model)."""

import asyncio

from pydantic_ai import Agent
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

import memstore
from memstore.integrations.pydantic_ai import load_messages, save_messages, working_memory_tool


# A function model so this runs offline: on the first turn it calls updateWorkingMemory.
# For a real model pass "openai:gpt-4o-mini" (pip install 'pydantic-ai-slim[openai]',
# set OPENAI_API_KEY).
def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    if len(messages) == 1:
        return ModelResponse(parts=[ToolCallPart("updateWorkingMemory",
                                                 {"content": "# Facts\n- name: Ada"})])
    return ModelResponse(parts=[TextPart(f"Noted ({len(messages)} messages in the history).")])


async def main() -> None:
    async with await memstore.connect_async("sqlite:///agent.db") as mem:
        await mem.init_schema()
        agent = Agent(FunctionModel(model), instructions="You are helpful.",
                      deps_type=dict, tools=[working_memory_tool(mem)])
        for text in ("My name is Ada.", "What is my name?"):
            history = await load_messages(mem, "chat-1", limit=50)
            result = await agent.run(text, message_history=history,
                                     deps={"chat_id": "chat-1"})
            await save_messages(mem, "chat-1", result.new_messages(), user_id="u1")
            print(result.output)
        wm = await mem.get_working_memory(scope="chat", chat_id="chat-1")
        print(wm.content if wm else None)

asyncio.run(main())
