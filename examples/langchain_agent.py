"""memstore as LangChain agent memory: run `python examples/langchain_agent.py` (offline)."""

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

import memstore
from memstore.integrations.langchain import (
    MemstoreChatMessageHistory,
    MemstoreContext,
    MemstoreMiddleware,
)

with memstore.connect("sqlite:///lc_example.db") as mem:
    mem.init_schema()
    mem.clear_messages("trip")  # start the demo afresh on every run

    # A fake model so the example runs offline; use a real one, e.g.
    # langchain.chat_models.init_chat_model("openai:gpt-5-mini"), and leave
    # working_memory at its default ("chat") to give it the updateWorkingMemory tool.
    model = FakeMessagesListChatModel(responses=[AIMessage("Rome: Colosseum, Vatican."),
                                                 AIMessage("Day 2: the Vatican.")])
    agent = create_agent(model, [], system_prompt="You plan trips.",
                         middleware=[MemstoreMiddleware(mem, limit=20, working_memory=None)],
                         context_schema=MemstoreContext)
    ctx: MemstoreContext = {"chat_id": "trip", "user_id": "u1"}
    agent.invoke({"messages": [{"role": "user", "content": "A weekend in Rome?"}]}, context=ctx)
    # A later run (another process, another day) starts from the stored chat:
    out = agent.invoke({"messages": [{"role": "user", "content": "And day 2?"}]}, context=ctx)
    print([f"{m.type}: {m.text}" for m in out["messages"]])

    # The same chat through the (deprecated) BaseChatMessageHistory interface:
    history = MemstoreChatMessageHistory(mem, "trip", user_id="u1", limit=10)
    print(len(history.messages), "messages;", mem.count_messages("trip"), "rows")
