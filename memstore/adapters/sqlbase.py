"""Shared plumbing of the SQL adapters: named statements, row mapping, the operations.

A dialect subclass supplies the driver-specific parts: how to open a read and a write
(the transaction rule), how instants are encoded in its columns, and how driver errors
map to memstore errors. It overrides an operation only where its SQL can do the work in
fewer round trips than the generic sequence of named statements below.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any

from .. import sqlfiles
from ..models import Chat, Message, NewMessage, WorkingMemory, chat_from_row, message_from_row
from .base import Adapter

Row = Sequence[Any]
Cursor = Any  # a DB-API cursor of the dialect's driver


class SqlAdapter(Adapter):
    # The sql/<folder> of the statements when it is not ``dialect`` (libSQL speaks SQLite).
    sql_dialect: str = ""

    def __init__(self, tables: Mapping[str, str]) -> None:
        self.tables = dict(tables)
        folder = self.sql_dialect or self.dialect
        self.schema = sqlfiles.load(folder, self.tables, file="schema")
        self.sql = sqlfiles.load(folder, self.tables, file="queries")

    # -- what a dialect provides ---------------------------------------------------

    @abstractmethod
    def reading(self) -> AbstractContextManager[Cursor]:
        """A cursor for reads that leaves no transaction open afterwards."""

    @abstractmethod
    def writing(self) -> AbstractContextManager[Cursor]:
        """A cursor inside an atomic unit: its own transaction, or a savepoint when the
        caller's connection already has one open. Driver errors become memstore errors."""

    def writing_one(self) -> AbstractContextManager[Cursor]:
        """A cursor for a write that is exactly one statement. The database makes a single
        statement atomic by itself, so a dialect may skip its explicit transaction here
        when no caller's transaction is open (it costs round trips: MySQL START
        TRANSACTION and COMMIT are two more). By default, ``writing()``."""
        return self.writing()

    def check_content(self, key: str, contents: Sequence[str],
                      where: Callable[[int], str]) -> None:
        """Refuse content the actual ``key`` table cannot hold, before anything is written
        (``where(i)`` names the field of ``contents[i]``). Runs inside the write, where a
        dialect has read its tables' shape. Nothing to check by default: the columns hold
        what validate accepts."""

    @abstractmethod
    def encode_time(self, value: datetime) -> Any: ...

    @abstractmethod
    def decode_time(self, value: Any) -> datetime: ...

    # -- helpers -------------------------------------------------------------------

    def run(self, cur: Cursor, name: str, params: Mapping[str, Any] | None = None) -> Cursor:
        cur.execute(self.sql[name], params or {})
        return cur

    def fetch(self, name: str, params: Mapping[str, Any]) -> list[Row]:
        with self.reading() as cur:
            return list(self.run(cur, name, params).fetchall())

    def messages_from_rows(self, rows: Sequence[Row]) -> list[Message]:
        """Rows (id, chat_id, user_id, role, content, timestamp), newest first, as Messages
        oldest first. The hot path of every read: kept to one comprehension."""
        decode, build = self.decode_time, message_from_row
        return [build(i, c, u, r, t, decode(ts)) for i, c, u, r, t, ts in reversed(rows)]

    def chat_from_row(self, row: Row) -> Chat:
        chat_id, user_id, title, created_at, updated_at, count = row
        decode = self.decode_time
        return chat_from_row(chat_id, user_id, title, decode(created_at), decode(updated_at),
                             int(count))

    # -- schema --------------------------------------------------------------------

    def init_schema(self) -> None:
        with self.writing() as cur:
            for statement in self.schema.values():
                cur.execute(statement)

    # -- working memory ------------------------------------------------------------

    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> None:
        params = {"id": wm_id, "scope": scope, "chat_id": chat_id, "user_id": user_id,
                  "content": content, "updated_at": self.encode_time(updated_at)}
        with self.writing_one() as cur:
            self.check_content("working_memory", [content], lambda i: "content")
            self.run(cur, "upsert_working_memory", params)

    def get_working_memory(self, wm_id: str) -> WorkingMemory | None:
        rows = self.fetch("get_working_memory", {"id": wm_id})
        if not rows:
            return None
        scope, chat_id, user_id, content, updated_at = rows[0]
        return WorkingMemory(scope, chat_id, user_id, content, self.decode_time(updated_at))

    # -- messages ------------------------------------------------------------------

    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> list[int]:
        ids: list[int] = []
        with self.writing() as cur:
            for m in messages:
                self.run(cur, "insert_message", {
                    "chat_id": chat_id, "user_id": user_id, "role": m.role,
                    "content": m.content, "timestamp": self.encode_time(m.timestamp)})
                ids.append(int(cur.lastrowid))
            self.run(cur, "touch_chat_for_messages", self.touch_params(chat_id, user_id, messages))
        return ids

    def touch_params(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> dict[str, Any]:
        stamps = [m.timestamp for m in messages]
        return {"chat_id": chat_id, "user_id": user_id,
                "created_at": self.encode_time(min(stamps)),
                "updated_at": self.encode_time(max(stamps)),
                "message_count": len(messages)}

    def last_messages(self, chat_id: str, user_id: str | None, limit: int) -> list[Message]:
        if user_id is None:
            rows = self.fetch("last_messages", {"chat_id": chat_id, "limit": limit})
        else:
            rows = self.fetch("last_messages_of_user",
                              {"chat_id": chat_id, "user_id": user_id, "limit": limit})
        return self.messages_from_rows(rows)

    # -- chats ---------------------------------------------------------------------

    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> None:
        params = {"chat_id": chat_id, "user_id": user_id, "title": title,
                  "created_at": self.encode_time(created_at),
                  "updated_at": self.encode_time(updated_at), "message_count": message_count}
        with self.writing_one() as cur:
            self.run(cur, "upsert_chat", params)

    def get_chat(self, chat_id: str) -> Chat | None:
        rows = self.fetch("get_chat", {"chat_id": chat_id})
        return self.chat_from_row(rows[0]) if rows else None

    def list_chats(self, user_id: str | None, limit: int) -> list[Chat]:
        if user_id is None:
            rows = self.fetch("list_chats", {"limit": limit})
        else:
            rows = self.fetch("list_chats_of_user", {"user_id": user_id, "limit": limit})
        return [self.chat_from_row(r) for r in rows]

    def search_chats(
        self, user_id: str | None, match: Callable[[str], bool], limit: int
    ) -> list[Chat]:
        found: list[Chat] = []
        with self.reading() as cur:
            if user_id is None:
                self.run(cur, "scan_chats")
            else:
                self.run(cur, "scan_chats_of_user", {"user_id": user_id})
            for row in iter_rows(cur):
                if match(row[2]):
                    found.append(self.chat_from_row(row))
                    if len(found) == limit:
                        break
        return found

    def rename_chat(self, chat_id: str, title: str, now: datetime) -> None:
        params = {"chat_id": chat_id, "title": title, "now": self.encode_time(now)}
        with self.writing_one() as cur:
            self.run(cur, "rename_chat", params)

    def delete_chat(self, chat_id: str) -> bool:
        with self.writing() as cur:
            messages = self.run(cur, "delete_chat_messages", {"chat_id": chat_id}).rowcount
            chats = self.run(cur, "delete_chat_row", {"chat_id": chat_id}).rowcount
            self.run(cur, "delete_working_memory", {"id": f"chat:{chat_id}"})
        return bool(messages or chats)

    def delete_user(self, user_id: str) -> None:
        params = {"user_id": user_id}
        with self.writing() as cur:
            for name in ("uncount_user_messages_elsewhere", "delete_user_messages",
                         "delete_user_working_memory", "delete_user_chats"):
                self.run(cur, name, params)


def iter_rows(cur: Cursor, size: int = 256) -> Iterator[Row]:
    """Stream a result in batches, so a search stops reading once it has enough."""
    while True:
        batch = cur.fetchmany(size)
        if not batch:
            return
        yield from batch
