"""A chat whose rows are damaged in every way issue 26 (finding 10) found one damaged row
could make a whole chat unreadable through an integration: items of each integration that
their framework cannot load, Agents items that are no JSON object, a role column no
memstore API writes, content stored as a BLOB. Written on SQLite with sqlite3 directly
(memstore's API refuses such rows)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import memstore
from memstore.integrations import codec

T0 = 1_780_000_000  # Unix seconds


def damaged_chat(tmp_path: Path, chat_id: str = "c") -> str:
    """A SQLite URL whose chat ``chat_id`` holds, in order: a plain user message "hello";
    a LangChain item {"type": "human"} (no data) showing "visible lc"; a LlamaIndex item
    that is no ChatMessage showing "visible li"; a PydanticAI item that is no message
    showing "visible pa"; an Agents item 5 showing "visible 5"; an Agents item [1, 2]
    with no visible text (role assistant); a plain row of role "bogus" saying "from bogus";
    a user row whose content is the UTF-8 BLOB "blob text"."""
    path = tmp_path / "damaged.db"
    url = f"sqlite:///{path}"
    rows = [
        ("user", "hello"),
        ("user", codec.encode("langchain", {"type": "human"}, role="user", text="visible lc")),
        ("user", codec.encode("llama-index", {"role": 5, "blocks": "x"}, role="user",
                              text="visible li")),
        ("assistant", codec.encode("pydantic-ai", {"kind": "nope"}, role="assistant",
                                   text="visible pa")),
        ("user", codec.encode("openai-agents", 5, role="user", text="visible 5")),
        ("assistant", codec.encode("openai-agents", [1, 2], role="assistant", text=None)),
        ("bogus", "from bogus"),
        ("user", b"blob text"),
    ]
    with memstore.connect(url) as mem:
        mem.init_schema()
    db = sqlite3.connect(path)
    with db:
        for i, (role, content) in enumerate(rows):
            db.execute("INSERT INTO conversation_messages (chat_id, user_id, role, content, "
                       "timestamp) VALUES (?, NULL, ?, ?, ?)", (chat_id, role, content, T0 + i))
    db.close()
    return url


def add_bad_blob(url: str, chat_id: str = "c") -> int:
    """A row whose content is a BLOB that is not UTF-8; its id."""
    db = sqlite3.connect(url.removeprefix("sqlite:///"))
    with db:
        cur = db.execute("INSERT INTO conversation_messages (chat_id, user_id, role, content, "
                         "timestamp) VALUES (?, NULL, 'user', ?, ?)",
                         (chat_id, b"\xff\xfe", T0 + 100))
    db.close()
    assert cur.lastrowid is not None
    return cur.lastrowid
