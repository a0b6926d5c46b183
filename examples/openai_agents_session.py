"""memstore as an OpenAI Agents SDK session, with the working-memory tool: run
`python examples/openai_agents_session.py` (offline: a scripted model)."""

import asyncio

from agents import Agent, Runner
from agents.testing import ScriptedModel, assistant_message, function_call

import memstore
from memstore.integrations.openai_agents import (
    MemstoreSession,
    working_memory_instructions,
    working_memory_tool,
)

# A scripted model so this runs offline: it calls updateWorkingMemory, then answers.
# For a real model leave model= out (OpenAI's default model; set OPENAI_API_KEY).
model = ScriptedModel([
    [function_call("updateWorkingMemory", {"content": "# Facts\n- name: Ada"}, call_id="c1")],
    [assistant_message("Nice to meet you, Ada.")],
])


async def main() -> None:
    async with await memstore.connect_async("sqlite:///agent.db") as mem:
        await mem.init_schema()
        agent = Agent(
            name="assistant", model=model,
            instructions=working_memory_instructions(mem, "You are helpful."),
            tools=[working_memory_tool(mem)],          # updateWorkingMemory, chat scope
        )
        session = MemstoreSession("chat-1", mem, user_id="u1")
        result = await Runner.run(agent, "My name is Ada.", session=session,
                                  context={"chat_id": "chat-1", "user_id": "u1"})
        print(result.final_output)
        wm = await mem.get_working_memory(scope="chat", chat_id="chat-1")
        print(wm.content if wm else None)

asyncio.run(main())
