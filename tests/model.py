"""A plain Python reference model of memstore's documented behaviour.

Written from the README's rules, independently of memstore's own code (it does not import
memstore's validation or its in-process adapter), so the property tests compare every
backend against the specification rather than against another implementation of it.
A call returns its result or raises ``Expected(field)`` for an expected ValidationError.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

LOW = datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
HIGH = datetime(2038, 1, 19, 3, 14, 7, 999000, tzinfo=timezone.utc)
MS = timedelta(milliseconds=1)


class Expected(Exception):
    """The model's prediction: a ValidationError naming ``field``."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class ExpectedNotFound(Exception):
    """The model's prediction: a NotFoundError."""


def _bad_text(s: Any, max_chars: int | None = None) -> bool:
    if not isinstance(s, str):
        return True
    if "\x00" in s or any(0xD800 <= ord(c) <= 0xDFFF for c in s):
        return True
    return max_chars is not None and len(s) > max_chars


def check_id(name: str, value: Any, optional: bool = False) -> Any:
    if value is None and optional:
        return None
    if _bad_text(value, 255) or value == "":
        raise Expected(name)
    return value


def check_content(name: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        value = json.dumps(value, ensure_ascii=False)
    if _bad_text(value) or len(value.encode("utf-8")) > 8 * 1024 * 1024:
        raise Expected(name)
    return str(value)


def check_instant(name: str, value: Any) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise Expected(name)
    value = value.astimezone(timezone.utc)
    if value.microsecond % 1000 or not LOW <= value <= HIGH:
        raise Expected(name)
    return value


def check_limit(value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 10_000:
        raise Expected("limit")
    return value


def check_read_limit(value: Any) -> int | None:
    """get_messages: None (all) or any positive int."""
    if value is None:
        return None
    if type(value) is not int or not 1 <= value <= 2**63 - 1:
        raise Expected("limit")
    return value


def check_status(value: Any) -> str | None:
    """None (every message), "active" or "archived"."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in ("active", "archived"):
        raise Expected("status")
    return str(value)


def check_message_id(name: str, value: Any) -> int:
    if type(value) is not int or not 1 <= value <= 2**63 - 1:
        raise Expected(name)
    return value


@dataclass
class MMsg:
    id: int
    chat_id: str
    user_id: str | None
    role: str
    content: str
    timestamp: datetime


@dataclass
class MChat:
    chat_id: str
    user_id: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int


@dataclass
class Model:
    now: datetime
    wm: dict[str, tuple[str, str | None, str | None, str, datetime]] = field(default_factory=dict)
    messages: list[MMsg] = field(default_factory=list)
    chats: dict[str, MChat] = field(default_factory=dict)
    # Ids of the archived messages (README: every message is active until archived;
    # deleting a message deletes its status).
    archived: set[int] = field(default_factory=set)
    next_id: int = 1
    # The last instant given to a message saved without a timestamp: the next such message
    # gets max(now, that + 1 ms), so they are strictly ordered (README, ordering rules).
    last_stamp: datetime | None = None

    # working memory
    def _wm_key(self, scope: Any, chat_id: Any, user_id: Any) -> str:
        if scope not in ("chat", "user"):
            raise Expected("scope")
        check_id("chat_id", chat_id, optional=True)
        check_id("user_id", user_id, optional=True)
        if scope == "chat":
            if chat_id is None:
                raise Expected("chat_id")
            return f"chat:{chat_id}"
        if user_id is None:
            raise Expected("user_id")
        return f"user:{user_id}"

    def update_working_memory(self, scope: Any, chat_id: Any, user_id: Any, content: Any) -> None:
        key = self._wm_key(scope, chat_id, user_id)
        text = check_content("content", content)
        if key in self.wm:
            s, c, u, _, _ = self.wm[key]
            self.wm[key] = (s, c, u, text, self.now)
        else:
            self.wm[key] = (scope, chat_id, user_id, text, self.now)

    def get_working_memory(self, scope: Any, chat_id: Any, user_id: Any) -> Any:
        return self.wm.get(self._wm_key(scope, chat_id, user_id))

    # messages
    def save_messages(self, chat_id: Any, items: list[dict[str, Any]], user_id: Any,
                      single: bool) -> list[MMsg]:
        check_id("chat_id", chat_id)
        check_id("user_id", user_id, optional=True)
        if not items:
            raise Expected("messages")
        rows = []
        for i, item in enumerate(items):
            prefix = "" if single else f"messages[{i}]."
            if item["role"] not in ("user", "assistant", "system"):
                raise Expected(prefix + "role")
            text = check_content(prefix + "content", item["content"])
            ts = item.get("timestamp")
            ts = None if ts is None else check_instant(prefix + "timestamp", ts)
            rows.append((item["role"], text, ts))
        stamped = []
        for role, text, ts in rows:
            if ts is None:
                last = self.last_stamp
                ts = self.now if last is None or self.now > last else last + MS
                self.last_stamp = ts
            stamped.append((role, text, ts))
        rows = stamped
        out = []
        for role, text, ts in rows:
            out.append(MMsg(self.next_id, chat_id, user_id, role, text, ts))
            self.next_id += 1
        self.messages.extend(out)
        newest = max(m.timestamp for m in out)
        chat = self.chats.get(chat_id)
        if chat is None:
            self.chats[chat_id] = MChat(chat_id, user_id, None,
                                        min(m.timestamp for m in out), newest, len(out))
        else:
            if chat.user_id is None:  # a save that names a user claims an ownerless chat
                chat.user_id = user_id
            chat.message_count += len(out)
            chat.updated_at = max(chat.updated_at, newest)
        return out

    def _chat_order(self, chat_id: str) -> list[MMsg]:
        return sorted((m for m in self.messages if m.chat_id == chat_id),
                      key=lambda m: (m.timestamp, m.id))

    def get_messages(self, chat_id: Any, user_id: Any, limit: Any,
                     before_id: Any = None) -> list[MMsg]:
        check_id("chat_id", chat_id)
        check_id("user_id", user_id, optional=True)
        limit = check_read_limit(limit)
        if before_id is not None:
            check_message_id("before_id", before_id)
        rows = self._chat_order(chat_id)
        if before_id is not None:
            at = [i for i, m in enumerate(rows) if m.id == before_id]
            if not at:
                raise ExpectedNotFound()
            rows = rows[:at[0]]
        rows = [m for m in rows
                if user_id is None or m.user_id is None or m.user_id == user_id]
        return rows if limit is None else rows[-limit:]

    def get_messages_budget(self, chat_id: Any, user_id: Any, limit: Any,
                            max_tokens: Any) -> list[MMsg]:
        """get_messages(max_tokens=...): the newest whole turns (a turn starts at a user
        message; the rows before the first one are a turn too) whose tokens (UTF-8 bytes
        / 4, rounded up) and count fit; the newest turn always, whole."""
        check_id("chat_id", chat_id)
        check_id("user_id", user_id, optional=True)
        limit = check_read_limit(limit)
        if type(max_tokens) is not int or not 1 <= max_tokens <= 2**31 - 1:
            raise Expected("max_tokens")
        rows = [m for m in self._chat_order(chat_id)
                if user_id is None or m.user_id is None or m.user_id == user_id]
        turns: list[list[MMsg]] = []
        for m in rows:
            if m.role == "user" or not turns:
                turns.append([])
            turns[-1].append(m)
        out: list[MMsg] = []
        total = 0
        for turn in reversed(turns):
            tokens = sum((len(m.content.encode("utf-8")) + 3) // 4 for m in turn)
            if out and (total + tokens > max_tokens
                        or (limit is not None and len(out) + len(turn) > limit)):
                break
            out = turn + out
            total += tokens
        return out

    def replace_messages(self, chat_id: Any, items: list[dict[str, Any]],
                         user_id: Any) -> list[MMsg]:
        check_id("chat_id", chat_id)
        check_id("user_id", user_id, optional=True)
        if not items:
            self.clear_messages(chat_id)
            return []
        # validate everything before anything changes (one transaction)
        probe = Model(now=self.now, last_stamp=self.last_stamp, next_id=self.next_id)
        probe.save_messages(chat_id, items, user_id, single=False)
        self.clear_messages(chat_id)
        return self.save_messages(chat_id, items, user_id, single=False)

    def pop_message(self, chat_id: Any) -> MMsg | None:
        check_id("chat_id", chat_id)
        rows = self._chat_order(chat_id)
        if not rows:
            return None
        newest = rows[-1]
        self.messages.remove(newest)
        self._forget_deleted()
        chat = self.chats.get(chat_id)
        if chat is not None:
            chat.message_count = max(chat.message_count - 1, 0)
        return newest

    def clear_messages(self, chat_id: Any) -> int:
        check_id("chat_id", chat_id)
        gone = sum(1 for m in self.messages if m.chat_id == chat_id)
        self.messages = [m for m in self.messages if m.chat_id != chat_id]
        self._forget_deleted()
        if chat_id in self.chats:
            self.chats[chat_id].message_count = 0
        return gone

    def delete_messages(self, chat_id: Any, ids: Any) -> int:
        check_id("chat_id", chat_id)
        if isinstance(ids, (str, dict)):
            raise Expected("ids")
        for i, x in enumerate(ids):
            check_message_id(f"ids[{i}]", x)
        doomed = [m for m in self.messages if m.chat_id == chat_id and m.id in set(ids)]
        self.messages = [m for m in self.messages if m not in doomed]
        self._forget_deleted()
        if doomed and chat_id in self.chats:
            chat = self.chats[chat_id]
            chat.message_count = max(chat.message_count - len(doomed), 0)
        return len(doomed)

    def _forget_deleted(self) -> None:
        self.archived &= {m.id for m in self.messages}

    def _status(self, m: MMsg) -> str:
        return "archived" if m.id in self.archived else "active"

    def count_messages(self, chat_id: Any, status: Any = None) -> int:
        check_id("chat_id", chat_id)
        status = check_status(status)
        return sum(1 for m in self.messages if m.chat_id == chat_id
                   and (status is None or self._status(m) == status))

    def archive_messages(self, chat_id: Any, count: Any) -> list[MMsg]:
        check_id("chat_id", chat_id)
        if type(count) is not int or not 1 <= count <= 10_000:
            raise Expected("count")
        picked = [m for m in self._chat_order(chat_id) if m.id not in self.archived][:count]
        self.archived |= {m.id for m in picked}
        return picked

    def get_messages_window(self, chat_id: Any, status: Any, limit: Any,
                            offset: Any) -> list[MMsg]:
        check_id("chat_id", chat_id)
        status = check_status(status)
        limit = check_read_limit(limit)
        if type(offset) is not int or not 0 <= offset <= 2**31 - 1:
            raise Expected("offset")
        rows = [m for m in self._chat_order(chat_id)
                if status is None or self._status(m) == status]
        return rows[offset:] if limit is None else rows[offset:offset + limit]

    def chat_ids(self, user_id: Any, limit: Any) -> list[str]:
        check_id("user_id", user_id, optional=True)
        limit = check_limit(limit)
        ids = {m.chat_id for m in self.messages if user_id is None or m.user_id == user_id}
        return sorted(ids)[:limit]

    # chats
    def save_chat(self, chat_id: Any, user_id: Any, title: Any, created_at: Any,
                  updated_at: Any, message_count: Any) -> None:
        check_id("chat_id", chat_id)
        check_id("user_id", user_id, optional=True)
        if title is not None and _bad_text(title, 500):
            raise Expected("title")
        if message_count is not None and (type(message_count) is not int
                                          or not 0 <= message_count <= 2**31 - 1):
            raise Expected("message_count")
        created = self.now if created_at is None else check_instant("created_at", created_at)
        updated = self.now if updated_at is None else check_instant("updated_at", updated_at)
        chat = self.chats.get(chat_id)
        if chat is None:
            self.chats[chat_id] = MChat(chat_id, user_id, title, created, updated,
                                        message_count or 0)
            return
        if user_id is not None:
            chat.user_id = user_id
        if title is not None:
            chat.title = title
        if message_count is not None:
            chat.message_count = message_count
        chat.updated_at = updated

    def get_chat(self, chat_id: Any) -> MChat | None:
        check_id("chat_id", chat_id)
        return self.chats.get(chat_id)

    def get_chats(self, user_id: Any, search: Any, limit: Any) -> list[MChat]:
        check_id("user_id", user_id, optional=True)
        limit = check_limit(limit)
        if search is not None and _bad_text(search, 500):
            raise Expected("search")
        rows = [c for c in self.chats.values() if user_id is None or c.user_id == user_id]
        if search:
            rows = [c for c in rows if c.title is not None
                    and search.casefold() in c.title.casefold()]
        rows.sort(key=lambda c: (-c.updated_at.timestamp(), c.chat_id))
        return rows[:limit]

    def update_chat_title(self, chat_id: Any, title: Any) -> None:
        check_id("chat_id", chat_id)
        if _bad_text(title, 500):
            raise Expected("title")
        chat = self.chats.get(chat_id)
        if chat is None:
            self.chats[chat_id] = MChat(chat_id, None, title, self.now, self.now, 0)
        else:
            chat.title = title
            chat.updated_at = self.now

    def delete_chat(self, chat_id: Any) -> bool:
        check_id("chat_id", chat_id)
        had_messages = any(m.chat_id == chat_id for m in self.messages)
        self.messages = [m for m in self.messages if m.chat_id != chat_id]
        self._forget_deleted()
        self.wm.pop(f"chat:{chat_id}", None)
        return self.chats.pop(chat_id, None) is not None or had_messages

    def delete_user(self, user_id: Any) -> None:
        check_id("user_id", user_id)
        own = {c.chat_id for c in self.chats.values() if c.user_id == user_id}
        for m in self.messages:
            if m.user_id == user_id and m.chat_id not in own and m.chat_id in self.chats:
                self.chats[m.chat_id].message_count -= 1
        self.messages = [m for m in self.messages
                         if m.chat_id not in own and m.user_id != user_id]
        self._forget_deleted()
        self.wm = {k: v for k, v in self.wm.items()
                   if v[2] != user_id and k not in {f"chat:{c}" for c in own}}
        for c in own:
            del self.chats[c]

    # recall (docs/recall.md: what matches, the keyword score, ties newest first)
    def search_messages(self, query: Any, user_id: Any, chat_id: Any, limit: Any,
                        roles: Any = None, context: Any = 0) -> list[SHit]:
        if _bad_text(query, 10_000):
            raise Expected("query")
        words = list(dict.fromkeys(re.findall(r"[^\W_]+", _normalize(query))))
        if not words:
            raise Expected("query")
        check_id("chat_id", chat_id, optional=True)
        check_id("user_id", user_id, optional=True)
        if chat_id is None and user_id is None:
            raise Expected("user_id")
        if roles is not None and any(r not in ("user", "assistant", "system") for r in roles):
            raise Expected("roles")
        check_limit(limit)
        if type(context) is not int or not 0 <= context <= 20:
            raise Expected("context")
        found = []
        for m in self.messages:
            if (chat_id is not None and m.chat_id != chat_id) or \
                    (user_id is not None and m.user_id != user_id) or \
                    (roles is not None and m.role not in roles):
                continue
            text = _normalize(visible_text(m.content))
            if all(w in text for w in words):
                covered = sum(text.count(w) * len(w) for w in words)
                found.append((min(1.0, covered / len(text)) if text else 0.0, m))
        found.sort(key=lambda sm: (sm[0], sm[1].timestamp, sm[1].id), reverse=True)
        hits = []
        for score, m in found[:limit]:
            near = [n for n in self._chat_order(m.chat_id)
                    if user_id is None or n.user_id in (user_id, None)]
            at = next(i for i, n in enumerate(near) if n.id == m.id)
            before = near[max(0, at - context):at] if context else []
            after = near[at + 1:at + 1 + context] if context else []
            hits.append(SHit(m, score, before, after))
        return hits


@dataclass
class SHit:
    message: MMsg
    score: float
    before: list[MMsg]
    after: list[MMsg]


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def visible_text(content: str) -> str:
    """A row's visible text: a UIMessage's text parts, else the content itself."""
    if content.startswith("{"):
        try:
            value = json.loads(content)
        except ValueError:
            return content
        if isinstance(value, dict) and isinstance(value.get("parts"), list) \
                and value.get("role") in ("user", "assistant", "system"):
            return "\n".join(p["text"] for p in value["parts"] if isinstance(p, dict)
                             and p.get("type") == "text" and isinstance(p.get("text"), str))
    return content
