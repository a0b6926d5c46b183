"""memstore as a LlamaIndex chat store: run `python examples/llama_index_chat_store.py`."""

from llama_index.core.llms import ChatMessage
from llama_index.core.memory import ChatMemoryBuffer

import memstore
from memstore.integrations.llama_index import MemstoreChatStore

with memstore.connect("sqlite:///li_example.db") as mem:
    mem.init_schema()
    store = MemstoreChatStore(mem, user_id="u1")
    store.set_messages("trip", [  # replaces the chat's messages in one transaction
        ChatMessage(role="user", content="A weekend in Rome?"),
        ChatMessage(role="assistant", content="Day 1: the Colosseum."),
    ])
    # The default memory of FunctionAgent, over memstore:
    memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="trip",
                                            token_limit=3000)
    memory.put(ChatMessage(role="user", content="And day 2?"))
    print([str(m) for m in memory.get()])
    print(store.get_keys(), store.delete_last_message("trip"))
