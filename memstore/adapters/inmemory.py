"""``memory://``: an in-process store for tests and development.

Behaves like the SQL adapters (same ordering, same chat bookkeeping); nothing survives
the process. Every ``connect("memory://")`` gets a fresh, private store. Thread-safe.
"""

from __future__ import annotations

import bisect
import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, ParamSpec, TypeVar

from ..errors import NotFoundError
from ..models import Chat, Message, NewMessage, WorkingMemory
from ..plan import Plan, Unit, done
from .base import Candidate, ChatImport, Dialect

T = TypeVar("T")
P = ParamSpec("P")


def immediate(method: Callable[P, T]) -> Callable[P, Plan[T]]:
    """The method as a plan that runs no statement: the store does the work directly,
    under its lock, so ``Memory`` and ``AsyncMemory`` drive it like any dialect's."""

    @functools.wraps(method)
    def plan(*args: P.args, **kwargs: P.kwargs) -> Plan[T]:
        return done(method(*args, **kwargs))

    return plan


def _read_order(m: Message) -> tuple[datetime, int]:
    return m.timestamp, m.id


class InMemoryDialect(Dialect):
    dialect = "memory"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._wm: dict[str, WorkingMemory] = {}
        # Each chat's messages in read order, (timestamp, id): the last N are a slice.
        self._chat_messages: dict[str, list[Message]] = {}
        self._chats: dict[str, Chat] = {}
        # Ids of the ARCHIVED messages (the status table); every other message is ACTIVE.
        self._archived: set[int] = set()
        self._next_id = 1
        # recall's side tables: normalized visible text by message id, and vectors by
        # (message id, model); like the SQL ones, only read through live messages.
        self._bodies: dict[int, str] = {}
        self._vectors: dict[tuple[int, str], bytes] = {}
        # budgeted reads' token counts by (message id, counter)
        self._tokens: dict[tuple[int, str], int] = {}

    @immediate
    def init_schema(self) -> None:
        pass  # nothing to create

    @immediate
    def doctor(self) -> list[str]:
        return []

    @immediate
    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> None:
        with self._lock:
            self._upsert_wm(wm_id, WorkingMemory(scope, chat_id, user_id, content, updated_at))

    def _upsert_wm(self, wm_id: str, wm: WorkingMemory) -> None:
        # under the caller's lock
        old = self._wm.get(wm_id)
        self._wm[wm_id] = wm if old is None else replace(old, content=wm.content,
                                                         updated_at=wm.updated_at)

    @immediate
    def get_working_memory(self, wm_id: str) -> WorkingMemory | None:
        with self._lock:
            return self._wm.get(wm_id)

    @immediate
    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        with self._lock:
            return self._save(chat_id, user_id, messages)

    def _save(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        # under the caller's lock
        ids = []
        stored = self._chat_messages.setdefault(chat_id, [])
        for m in messages:
            new = Message(self._next_id, chat_id, user_id, m.role, m.content, m.timestamp)
            # ids only grow, so a message no older than the last one goes at the end
            if not stored or stored[-1].timestamp <= new.timestamp:
                stored.append(new)
            else:
                bisect.insort(stored, new, key=_read_order)
            ids.append(self._next_id)
            self._next_id += 1
        newest = max(m.timestamp for m in messages)
        chat = self._chats.get(chat_id)
        if chat is None:
            oldest = min(m.timestamp for m in messages)
            self._chats[chat_id] = Chat(chat_id, user_id, None, oldest, newest, len(ids))
        else:
            self._chats[chat_id] = replace(
                chat, user_id=chat.user_id if chat.user_id is not None else user_id,
                message_count=chat.message_count + len(ids),
                updated_at=max(chat.updated_at, newest))
        return ids

    @immediate
    def last_messages(self, chat_id: str, user_id: str | None, limit: int | None,
                      before_id: int | None = None) -> list[Message]:
        with self._lock:
            stored = self._chat_messages.get(chat_id, [])
            end = len(stored)
            if before_id is not None:
                end = next((i for i, m in enumerate(stored) if m.id == before_id), -1)
                if end < 0:
                    raise NotFoundError(f"before_id: message {before_id} is not a message "
                                        f"of chat {chat_id!r}")
            if user_id is None:
                return stored[max(0, end - limit) if limit is not None else 0:end]
            found = []
            for m in reversed(stored[:end]):
                if m.user_id == user_id or m.user_id is None:
                    found.append(m)
                    if len(found) == limit:
                        break
        found.reverse()
        return found

    @immediate
    def pop_message(self, chat_id: str) -> Message | None:
        with self._lock:
            stored = self._chat_messages.get(chat_id)
            if not stored:
                return None
            newest = stored.pop()
            self._archived.discard(newest.id)
            self._uncount(chat_id, 1)
            return newest

    def _uncount(self, chat_id: str, n: int) -> None:
        chat = self._chats.get(chat_id)
        if chat is not None and n:
            self._chats[chat_id] = replace(chat, message_count=max(chat.message_count - n, 0))

    @immediate
    def clear_messages(self, chat_id: str) -> int:
        with self._lock:
            return self._clear(chat_id)

    def _clear(self, chat_id: str) -> int:
        doomed = self._chat_messages.pop(chat_id, [])
        self._archived.difference_update(m.id for m in doomed)
        gone = len(doomed)
        chat = self._chats.get(chat_id)
        if chat is not None:
            self._chats[chat_id] = replace(chat, message_count=0)
        return gone

    @immediate
    def replace_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        with self._lock:
            self._clear(chat_id)
            return self._save(chat_id, user_id, messages) if messages else []

    @immediate
    def delete_messages(self, chat_id: str, ids: Sequence[int]) -> int:
        doomed = set(ids)
        with self._lock:
            stored = self._chat_messages.get(chat_id, [])
            kept = [m for m in stored if m.id not in doomed]
            gone = len(stored) - len(kept)
            if gone:
                self._chat_messages[chat_id] = kept
                self._archived.difference_update(m.id for m in stored if m.id in doomed)
                self._uncount(chat_id, gone)
            return gone

    def _status(self, m: Message) -> str:
        return "archived" if m.id in self._archived else "active"

    @immediate
    def count_messages(self, chat_id: str, status: str | None = None) -> int:
        with self._lock:
            stored = self._chat_messages.get(chat_id, [])
            if status is None:
                return len(stored)
            return sum(1 for m in stored if self._status(m) == status)

    @immediate
    def archive_messages(self, chat_id: str, count: int) -> list[Message]:
        with self._lock:
            picked = [m for m in self._chat_messages.get(chat_id, [])
                      if m.id not in self._archived][:count]
            self._archived.update(m.id for m in picked)
            return picked

    @immediate
    def messages_window(self, chat_id: str, status: str | None, limit: int | None,
                        offset: int) -> list[Message]:
        with self._lock:
            stored = self._chat_messages.get(chat_id, [])
            rows = stored if status is None else [m for m in stored
                                                  if self._status(m) == status]
            return rows[offset:] if limit is None else rows[offset:offset + limit]

    @immediate
    def chat_ids(self, user_id: str | None, limit: int) -> list[str]:
        with self._lock:
            ids = [c for c, stored in self._chat_messages.items() if stored
                   and (user_id is None or any(m.user_id == user_id for m in stored))]
        return sorted(ids)[:limit]

    @immediate
    def export_chats(self, user_id: str | None, after: str | None,
                     limit: int) -> list[tuple[str, bool]]:
        with self._lock:
            if user_id is None:
                found = {c: True for c in self._chats}
                found.update((c, True) for c, stored in self._chat_messages.items() if stored)
                found.update((wm.chat_id, True) for wm in self._wm.values()
                             if wm.scope == "chat" and wm.chat_id is not None)
            else:
                found = {c: False for c, stored in self._chat_messages.items()
                         if any(m.user_id == user_id for m in stored)}
                found.update((c.chat_id, True) for c in self._chats.values()
                             if c.user_id == user_id)
        return sorted(item for item in found.items() if after is None or item[0] > after
                      )[:limit]

    @immediate
    def user_working_memories(self, after: str,
                              limit: int) -> list[tuple[str, WorkingMemory]]:
        with self._lock:
            found = [(k, wm) for k, wm in self._wm.items() if after < k < "user;"]
        return sorted(found, key=lambda item: item[0])[:limit]

    @immediate
    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> None:
        with self._lock:
            self._save_chat(Chat(chat_id, user_id, title, created_at, updated_at,
                                 message_count or 0), message_count is None)

    def _save_chat(self, row: Chat, keep_count: bool) -> None:
        # under the caller's lock; a None user_id/title (or keep_count) keeps the stored one
        old = self._chats.get(row.chat_id)
        if old is None:
            self._chats[row.chat_id] = row
        else:
            self._chats[row.chat_id] = replace(
                old,
                user_id=old.user_id if row.user_id is None else row.user_id,
                title=old.title if row.title is None else row.title,
                updated_at=row.updated_at,
                message_count=old.message_count if keep_count else row.message_count)

    @immediate
    def import_chat(self, chat: ChatImport) -> None:
        with self._lock:
            self._clear(chat.chat_id)
            if chat.row is not None:
                self._save_chat(chat.row, False)
            for user_id, messages in chat.runs:
                self._save(chat.chat_id, user_id, messages)
            if chat.row is not None:
                self._save_chat(chat.row, False)
            if (wm := chat.working_memory) is not None:
                self._upsert_wm(f"chat:{chat.chat_id}", wm)

    @immediate
    def get_chat(self, chat_id: str) -> Chat | None:
        with self._lock:
            return self._chats.get(chat_id)

    def _ordered_chats(self, user_id: str | None) -> list[Chat]:
        with self._lock:
            chats = [c for c in self._chats.values() if user_id is None or c.user_id == user_id]
        # updated_at descending, then chat_id ascending: sort by the secondary key first.
        chats.sort(key=lambda c: c.chat_id)
        chats.sort(key=lambda c: c.updated_at, reverse=True)
        return chats

    @immediate
    def list_chats(self, user_id: str | None, limit: int) -> list[Chat]:
        return self._ordered_chats(user_id)[:limit]

    @immediate
    def search_chats(
        self, user_id: str | None, match: Callable[[str], bool], limit: int
    ) -> list[Chat]:
        found = [c for c in self._ordered_chats(user_id)
                 if c.title is not None and match(c.title)]
        return found[:limit]

    @immediate
    def rename_chat(self, chat_id: str, title: str, now: datetime) -> None:
        with self._lock:
            old = self._chats.get(chat_id)
            self._chats[chat_id] = (Chat(chat_id, None, title, now, now, 0) if old is None
                                    else replace(old, title=title, updated_at=now))

    @immediate
    def delete_chat(self, chat_id: str) -> bool:
        with self._lock:
            doomed = self._chat_messages.pop(chat_id, [])
            self._archived.difference_update(m.id for m in doomed)
            existed = self._chats.pop(chat_id, None) is not None
            self._wm.pop(f"chat:{chat_id}", None)
            return existed or bool(doomed)

    @immediate
    def delete_user(self, user_id: str) -> None:
        with self._lock:
            own = {c.chat_id for c in self._chats.values() if c.user_id == user_id}
            for chat_id, stored in self._chat_messages.items():
                if chat_id in own:
                    continue  # goes whole, below
                kept = [m for m in stored if m.user_id != user_id]
                if len(kept) == len(stored):
                    continue
                self._archived.difference_update(m.id for m in stored
                                                 if m.user_id == user_id)
                self._chat_messages[chat_id] = kept  # same key: safe while iterating
                chat = self._chats.get(chat_id)
                if chat is not None:
                    self._chats[chat_id] = replace(
                        chat, message_count=chat.message_count - (len(stored) - len(kept)))
            own_keys = {f"chat:{c}" for c in own}  # once, not once per working memory
            for key, wm in list(self._wm.items()):
                if wm.user_id == user_id or key in own_keys:
                    del self._wm[key]
            for c in own:
                del self._chats[c]
                doomed = self._chat_messages.pop(c, [])
                self._archived.difference_update(m.id for m in doomed)


    # -- recall (memstore.recall drives these, as it drives the SQL dialects') ----------

    def _scope_messages(self, scope: Any) -> list[Message]:
        # under the caller's lock; scope None: every message. Ordered by id.
        if scope is not None and scope.chat_id is not None:
            found = list(self._chat_messages.get(scope.chat_id, []))
        else:
            found = [m for stored in self._chat_messages.values() for m in stored
                     if scope is None or m.user_id == scope.user_id]
        return sorted(found, key=lambda m: m.id)

    @immediate
    def search_pending(self, scope: Any, after: int,
                       limit: int) -> list[tuple[int, str, str | None, str, str]]:
        with self._lock:
            return [(m.id, m.chat_id, m.user_id, m.role, m.content)
                    for m in self._scope_messages(scope)
                    if m.id > after and m.id not in self._bodies][:limit]

    @immediate
    def search_store(self, rows: Sequence[tuple[int, str, str | None, str]]) -> None:
        with self._lock:
            for i, _, _, text in rows:
                self._bodies.setdefault(i, text)

    @immediate
    def search_candidates(self, scope: Any, match: str | None,
                          pattern: str) -> list[Candidate]:
        # Every message of the scope with its text: the caller applies the rule.
        with self._lock:
            return [Candidate(m.id, m.chat_id, m.user_id, m.role, m.timestamp,
                              self._bodies[m.id])
                    for m in self._scope_messages(scope) if m.id in self._bodies]

    @immediate
    def search_messages_by_id(self, ids: Sequence[int]) -> dict[int, Message]:
        wanted = set(ids)
        with self._lock:
            return {m.id: m for stored in self._chat_messages.values() for m in stored
                    if m.id in wanted}

    @immediate
    def vector_pending(self, scope: Any, model: str, after: int,
                       limit: int) -> list[tuple[int, str, str | None, str, str]]:
        with self._lock:
            return [(m.id, m.chat_id, m.user_id, m.role, m.content)
                    for m in self._scope_messages(scope)
                    if m.id > after and (m.id, model) not in self._vectors][:limit]

    @immediate
    def vector_store(self, model: str,
                     rows: Sequence[tuple[int, str, str | None, int, bytes]]) -> None:
        with self._lock:
            for i, _, _, _, blob in rows:
                self._vectors.setdefault((i, model), blob)

    @immediate
    def vectors(self, scope: Any, model: str) -> list[Candidate]:
        with self._lock:
            return [Candidate(m.id, m.chat_id, m.user_id, m.role, m.timestamp,
                              self._vectors[m.id, model])
                    for m in self._scope_messages(scope) if (m.id, model) in self._vectors]

    @immediate
    def messages_around(self, message: Message, user_id: str | None,
                        count: int) -> tuple[list[Message], list[Message]]:
        with self._lock:
            near = [m for m in self._chat_messages.get(message.chat_id, [])
                    if user_id is None or m.user_id in (user_id, None)]
        key = _read_order(message)
        before = [m for m in near if _read_order(m) < key]
        after = [m for m in near if _read_order(m) > key]
        return before[max(0, len(before) - count):], after[:count]

    @immediate
    def budget_page(self, chat_id: str, user_id: str | None, counter: str,
                    before: tuple[Any, int] | None,
                    limit: int) -> list[tuple[Message, int | None, tuple[Any, int]]]:
        with self._lock:
            rows = [m for m in reversed(self._chat_messages.get(chat_id, []))
                    if (user_id is None or m.user_id in (user_id, None))
                    and (before is None or _read_order(m) < before)][:limit]
            return [(m, self._tokens.get((m.id, counter)), _read_order(m)) for m in rows]

    @immediate
    def tokens_store(self, counter: str, rows: Sequence[tuple[int, str, int]]) -> None:
        with self._lock:
            for i, _, n in rows:
                self._tokens.setdefault((i, counter), n)

    @immediate
    def search_status(self) -> tuple[int, int]:
        with self._lock:
            live = {m.id for stored in self._chat_messages.values() for m in stored}
            return len(live - self._bodies.keys()), len(self._bodies.keys() - live)

    @immediate
    def search_orphans(self) -> int:
        with self._lock:
            live = {m.id for stored in self._chat_messages.values() for m in stored}
            text = [i for i in self._bodies if i not in live]
            vectors = [k for k in self._vectors if k[0] not in live]
            for i in text:
                del self._bodies[i]
            for k in vectors:
                del self._vectors[k]
        return len(text) + len(vectors)

class NoRunner:
    """The runner of the in-process store: its plans run no statement."""

    def execute(self, unit: Unit) -> list[Any]:
        raise AssertionError("the in-process store runs no statement")

    def close(self) -> None:
        pass


class NoAsyncRunner:
    """``NoRunner`` for ``AsyncMemory``."""

    async def execute(self, unit: Unit) -> list[Any]:
        raise AssertionError("the in-process store runs no statement")

    async def aclose(self) -> None:
        pass
