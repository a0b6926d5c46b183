"""memstore quick start on the embedded SQLite default: run `python examples/quickstart.py`."""

from pathlib import Path

import memstore

# A demo should print the same thing every time you run it, so each run starts from a
# fresh quickstart.db (in the current directory) instead of adding to the last run's data.
# The file stays afterwards: `memstore chats sqlite:///quickstart.db` shows what is in it.
for name in ("quickstart.db", "quickstart.db-wal", "quickstart.db-shm"):
    Path(name).unlink(missing_ok=True)

with memstore.connect("sqlite:///quickstart.db") as mem:
    mem.init_schema()  # creates the tables; safe to run on every start

    mem.update_working_memory(scope="user", user_id="u1", content="# Facts\n- likes Rome")
    mem.save_messages("trip", [
        {"role": "user", "content": "Plan a weekend in Rome"},
        {"role": "assistant", "content": "Day 1: Colosseum. Day 2: Vatican."},
    ], user_id="u1")
    mem.update_chat_title("trip", "Weekend in Rome")

    wm = mem.get_working_memory(scope="user", user_id="u1")
    print("working memory:", repr(wm.content) if wm else None)
    for m in mem.get_messages("trip", limit=10):
        print(f"message #{m.id} {m.role}: {m.content}")
    for chat in mem.get_chats(user_id="u1", search="rome"):
        print(f"chat {chat.chat_id!r}: {chat.title!r}, {chat.message_count} messages, "
              f"updated {chat.updated_at.isoformat()}")
