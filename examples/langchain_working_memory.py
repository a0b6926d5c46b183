"""LangChain agent memory with working memory, offline: run
`python examples/langchain_working_memory.py`.

langchain-core's fake chat models cannot take tools (they have no bind_tools), and the
working memory reaches the model as a tool, updateWorkingMemory. This fake model accepts
the tool and answers from a script: first a call of updateWorkingMemory, then text. A real
model (langchain.chat_models.init_chat_model("openai:gpt-5-mini")) needs none of this.
"""

from collections.abc import Sequence
from typing import Any

from langchain.agents import create_agent
from langchain_core.language_models.fake_chat_models import FakeMessagesListChatModel
from langchain_core.messages import AIMessage

import memstore
from memstore.integrations.langchain import MemstoreContext, MemstoreMiddleware


class ScriptedToolModel(FakeMessagesListChatModel):
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self  # accept the middleware's tool; the script decides when to call it


with memstore.connect("sqlite:///lc_working_memory.db") as mem:
    mem.init_schema()
    mem.clear_messages("trip")  # start the demo afresh on every run
    model = ScriptedToolModel(responses=[
        AIMessage("", tool_calls=[{"name": "updateWorkingMemory", "id": "call-1",
                                   "args": {"content": "# Facts\n- travels in May"}}]),
        AIMessage("Noted: May."),
    ])
    agent = create_agent(model, [], middleware=[MemstoreMiddleware(mem)],  # working memory on
                         context_schema=MemstoreContext)
    ctx: MemstoreContext = {"chat_id": "trip", "user_id": "u1"}
    out = agent.invoke({"messages": [{"role": "user", "content": "I travel in May."}]},
                       context=ctx)
    print(out["messages"][-1].text)
    wm = mem.get_working_memory(scope="chat", chat_id="trip")
    print(wm.content if wm else None)
