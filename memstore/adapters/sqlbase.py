"""The SQL dialects' shared plans: named statements, parameter encoding, row mapping.

A dialect subclass supplies how instants are encoded in its columns, and overrides an
operation only where its SQL can do the work in fewer statements than the generic
sequence below (PostgreSQL's one-statement writes, MySQL's multi-row INSERT).
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from .. import sqlfiles
from ..errors import NotFoundError
from ..models import (
    Chat,
    Message,
    NewMessage,
    WorkingMemory,
    chat_from_row,
    message_from_row,
    working_memory_from_row,
)
from ..plan import Kind, Plan, Stmt, Unit, Want, done
from . import utc
from .base import Candidate, ChatImport, Dialect

Row = Sequence[Any]
# The statements of a batch insert, and how to read the new ids from their results.
Inserts = tuple[list[Stmt], Callable[[list[Any]], list[int]]]
# Rows per keyset page when a read returns more than one page (get_messages with a large
# limit or limit=None): the result list is all a long read holds in memory.
MESSAGE_PAGE = 1000
# How many chats a title search reads per page: small enough that a search that is
# answered by the first rows stops early, big enough that a long search is few queries.
SEARCH_PAGE = 200


class SqlDialect(Dialect):
    # The sql/<folder> of the statements when it is not ``dialect`` (libSQL speaks SQLite).
    sql_dialect: str = ""
    # The driver returns times as naive UTC datetimes (PostgreSQL TIMESTAMP, MySQL
    # TIMESTAMP(3)): rows of messages take utc.messages_oldest_first's inline path.
    naive_utc_times: bool = False

    def __init__(self, tables: Mapping[str, str]) -> None:
        self.tables = dict(tables)
        folder = self.sql_dialect or self.dialect
        self.schema = sqlfiles.load(folder, self.tables, file="schema")
        self.sql = sqlfiles.load(folder, self.tables, file="queries")
        self.catalog = sqlfiles.load(folder, self.tables, file="catalog")
        self.tx = sqlfiles.load(folder, self.tables, file="tx")

    @abstractmethod
    def encode_time(self, value: datetime) -> Any: ...

    @abstractmethod
    def decode_time(self, value: Any) -> datetime: ...

    # -- building units --------------------------------------------------------------

    def stmt(self, name: str, params: Mapping[str, Any] | None = None,
             want: Want = "none") -> Stmt:
        return Stmt(self.sql[name], params or {}, want)

    def unit(self, kind: Kind, *stmts: Stmt) -> Unit:
        return Unit(kind, stmts)

    def read(self, name: str, params: Mapping[str, Any]) -> Unit:
        """One read statement wanting its rows: ``(rows,) = yield self.read(...)``. (A
        unit, not a sub-plan: every read is this, and a generator more costs each call.)"""
        return Unit("read", (Stmt(self.sql[name], params, "rows"),))

    def one(self, name: str, params: Mapping[str, Any]) -> Plan[Any]:
        """One writing statement, as its own atomic unit; what it returns by ``want``."""
        (result,) = yield Unit("write_one", (Stmt(self.sql[name], params),))
        return result

    def messages_from_rows(self, rows: Sequence[Row]) -> list[Message]:
        """Rows (id, chat_id, user_id, role, content, timestamp), newest first, as Messages
        oldest first. The hot path of every read: kept to one comprehension."""
        if self.naive_utc_times and (plain := utc.messages_oldest_first(rows)) is not None:
            return plain
        decode, build = self.decode_time, message_from_row
        return [build(i, c, u, r, t, decode(ts)) for i, c, u, r, t, ts in reversed(rows)]

    def chat_from_row(self, row: Row) -> Chat:
        chat_id, user_id, title, created_at, updated_at, count = row
        decode = self.decode_time
        return chat_from_row(chat_id, user_id, title, decode(created_at), decode(updated_at),
                             int(count))

    # -- schema --------------------------------------------------------------------

    def init_schema(self) -> Plan[None]:
        yield Unit("write", tuple(Stmt(s, {}) for s in self.schema.values()))

    # -- working memory ------------------------------------------------------------

    def upsert_working_memory(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> Plan[None]:
        stmt = yield from self.working_memory_stmt(wm_id, scope, chat_id, user_id, content,
                                                   updated_at)
        yield Unit("write_one", (stmt,))

    def working_memory_stmt(
        self, wm_id: str, scope: str, chat_id: str | None, user_id: str | None,
        content: str, updated_at: datetime,
    ) -> Plan[Stmt]:
        """The upsert of one working memory (a sub-plan: MySQL checks sizes first)."""
        return done(self.stmt("upsert_working_memory", {
            "id": wm_id, "scope": scope, "chat_id": chat_id, "user_id": user_id,
            "content": content, "updated_at": self.encode_time(updated_at)}))

    def get_working_memory(self, wm_id: str) -> Plan[WorkingMemory | None]:
        (rows,) = yield self.read("get_working_memory", {"id": wm_id})
        if not rows:
            return None
        scope, chat_id, user_id, content, updated_at = rows[0]
        return working_memory_from_row(scope, chat_id, user_id, content,
                                       self.decode_time(updated_at))

    # -- messages ------------------------------------------------------------------

    def insert_stmts(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[Inserts]:
        """The statements that insert a batch and keep its chat row true, and how to get
        the ids from their results: one INSERT per message, then touch_chat_for_messages.
        A sub-plan, so a dialect that must first read a server setting can."""
        insert, encode = self.sql["insert_message"], self.encode_time
        stamps = [encode(m.timestamp) for m in messages]
        stmts = [Stmt(insert, {"chat_id": chat_id, "user_id": user_id, "role": m.role,
                               "content": m.content, "timestamp": stamp}, "lastrowid")
                 for m, stamp in zip(messages, stamps, strict=True)]
        stmts.append(Stmt(self.sql["touch_chat_for_messages"],
                          self.touch_params(chat_id, user_id, stamps)))
        return done((stmts, lambda results: [int(i) for i in results[:-1]]))

    def save_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[list[int]]:
        stmts, ids_of = yield from self.insert_stmts(chat_id, user_id, messages)
        results = yield Unit("write" if len(stmts) > 1 else "write_one", tuple(stmts))
        return ids_of(results)

    def replace_messages(
        self, chat_id: str, user_id: str | None, messages: Sequence[NewMessage]
    ) -> Plan[list[int]]:
        """Clear the chat's messages and save ``messages`` in one transaction: a reader
        sees the old list or the new one."""
        stmts, ids_of = (yield from self.insert_stmts(chat_id, user_id, messages)) \
            if messages else ([], lambda results: [])
        results = yield Unit("write", (
            self.stmt("clear_chat_messages", {"chat_id": chat_id}),
            self.stmt("reset_message_count", {"chat_id": chat_id}),
            self.stmt("clear_chat_status", {"chat_id": chat_id}), *stmts))
        return ids_of(results[3:])

    def touch_params(self, chat_id: str, user_id: str | None,
                     stamps: Sequence[Any]) -> dict[str, Any]:
        """touch_chat_for_messages' parameters for a batch whose timestamps, encoded, are
        ``stamps`` (every dialect's encoding keeps the order of instants, so the oldest
        and newest are found among the encoded values: encoded once, not again)."""
        return {"chat_id": chat_id, "user_id": user_id, "created_at": min(stamps),
                "updated_at": max(stamps), "message_count": len(stamps)}

    def last_messages(self, chat_id: str, user_id: str | None, limit: int | None,
                      before_id: int | None = None) -> Plan[list[Message]]:
        """The newest ``limit`` messages (all with None), or those just older than message
        ``before_id``, oldest first. More than one page is read in keyset pages, newest
        first, each starting where the last one ended."""
        suffix = "" if user_id is None else "_of_user"
        before: Row | None = None
        if before_id is not None:
            (found,) = yield self.read("message_position",
                                         {"id": before_id, "chat_id": chat_id})
            if not found:
                raise NotFoundError(f"before_id: message {before_id} is not a message of "
                                    f"chat {chat_id!r}")
            before = found[0]
        collected: list[Row] = []
        while True:
            size = MESSAGE_PAGE if limit is None else min(MESSAGE_PAGE, limit - len(collected))
            params: dict[str, Any] = {"chat_id": chat_id, "limit": size}
            if user_id is not None:
                params["user_id"] = user_id  # only the parameters the statement names
            if before is None:
                (rows,) = yield self.read("last_messages" + suffix, params)
            else:
                params["before_ts"], params["before_id"] = before[0], before[1]
                (rows,) = yield self.read("messages_before" + suffix, params)
            collected += rows
            if len(rows) < size or (limit is not None and len(collected) >= limit):
                return self.messages_from_rows(collected)
            last = rows[-1]
            before = (last[5], last[0])

    def pop_message(self, chat_id: str) -> Plan[Message | None]:
        _, rows, _ = yield Unit("write", (
            self.stmt("uncount_newest_message", {"chat_id": chat_id}),
            self.stmt("delete_newest_message", {"chat_id": chat_id}, "rows"),
            self.stmt("forget_deleted_status", {"chat_id": chat_id})))
        return self.messages_from_rows(rows)[0] if rows else None

    def clear_messages(self, chat_id: str) -> Plan[int]:
        deleted, _, _ = yield Unit("write", (
            self.stmt("clear_chat_messages", {"chat_id": chat_id}, "rowcount"),
            self.stmt("reset_message_count", {"chat_id": chat_id}),
            self.stmt("clear_chat_status", {"chat_id": chat_id})))
        return int(deleted)

    def delete_messages(self, chat_id: str, ids: Sequence[int]) -> Plan[int]:
        params = {"chat_id": chat_id, "ids": self.id_list(ids)}
        _, deleted, _ = yield Unit("write", (
            self.stmt("uncount_messages_by_id", params),
            self.stmt("delete_messages_by_id", params, "rowcount"),
            self.stmt("forget_deleted_status", {"chat_id": chat_id})))
        return int(deleted)

    def id_list(self, ids: Sequence[int]) -> Any:
        """A list of ids as one bound parameter: a JSON array, which SQLite's json_each
        and MySQL's JSON_TABLE read (PostgreSQL binds an int[] instead)."""
        return json.dumps(list(ids))

    def count_messages(self, chat_id: str, status: str | None = None) -> Plan[int]:
        if status is None:
            (rows,) = yield self.read("count_messages", {"chat_id": chat_id})
        else:
            (rows,) = yield self.read("count_messages_with_status",
                                        {"chat_id": chat_id, "status": status})
        return int(rows[0][0])

    def oldest_first(self, rows: Sequence[Row]) -> list[Message]:
        """Rows (id, chat_id, user_id, role, content, timestamp), oldest first, as Messages."""
        decode, build = self.decode_time, message_from_row
        return [build(i, c, u, r, t, decode(ts)) for i, c, u, r, t, ts in rows]

    def archive_messages(self, chat_id: str, count: int) -> Plan[list[Message]]:
        """Three statements in one transaction: mark the oldest ``count`` active messages
        'archiving' (a mark no other transaction sees), read the marked ones, make them
        'archived'. So the messages returned are exactly those this call archived."""
        params = {"chat_id": chat_id}
        _, rows, _ = yield Unit("write", (
            self.stmt("archive_oldest_messages", {**params, "limit": count}),
            self.stmt("archiving_messages", params, "rows"),
            self.stmt("finish_archiving", params)))
        return self.oldest_first(rows)

    def messages_window(self, chat_id: str, status: str | None, limit: int | None,
                        offset: int) -> Plan[list[Message]]:
        """The first page from ``offset``; more than one page in keyset pages, each
        starting after the last row of the one before."""
        collected: list[Row] = []
        params: dict[str, Any] = {"chat_id": chat_id, "status": status, "offset": offset}
        name = "messages_window"
        while True:
            size = MESSAGE_PAGE if limit is None else min(MESSAGE_PAGE, limit - len(collected))
            (rows,) = yield self.read(name, {**params, "limit": size})
            collected += rows
            if len(rows) < size or (limit is not None and len(collected) >= limit):
                return self.oldest_first(collected)
            last = rows[-1]
            name = "messages_window_after"
            params = {"chat_id": chat_id, "status": status,
                      "after_ts": last[5], "after_id": last[0]}

    def chat_ids(self, user_id: str | None, limit: int) -> Plan[list[str]]:
        if user_id is None:
            (rows,) = yield self.read("chat_ids", {"limit": limit})
        else:
            (rows,) = yield self.read("chat_ids_of_user", {"user_id": user_id, "limit": limit})
        return [r[0] for r in rows]

    def export_chats(self, user_id: str | None, after: str | None,
                     limit: int) -> Plan[list[tuple[str, bool]]]:
        if user_id is None:
            (rows,) = yield self.read("export_chat_page", {"after": after, "limit": limit})
        else:
            (rows,) = yield self.read("export_chat_page_of_user",
                                      {"user_id": user_id, "after": after, "limit": limit})
        return [(r[0], bool(r[1])) for r in rows]

    def user_working_memories(self, after: str,
                              limit: int) -> Plan[list[tuple[str, WorkingMemory]]]:
        (rows,) = yield self.read("user_working_memory_page", {"after": after, "limit": limit})
        decode = self.decode_time
        return [(wm_id, working_memory_from_row(scope, chat_id, user_id, content,
                                                decode(updated_at)))
                for wm_id, scope, chat_id, user_id, content, updated_at in rows]

    # -- chats ---------------------------------------------------------------------

    def save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> Plan[None]:
        yield Unit("write_one", (self.chat_stmt(chat_id, user_id, title, created_at,
                                                updated_at, message_count),))

    def chat_stmt(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime, updated_at: datetime, message_count: int | None,
    ) -> Stmt:
        return self.stmt("upsert_chat", {
            "chat_id": chat_id, "user_id": user_id, "title": title,
            "created_at": self.encode_time(created_at),
            "updated_at": self.encode_time(updated_at), "message_count": message_count})

    def import_chat(self, chat: ChatImport) -> Plan[None]:
        """One write unit: clear the chat's messages (and their status, and the count),
        upsert the row, insert each run (their touches move updated_at and the count),
        upsert the row again so it ends as the file says, upsert the working memory."""
        cid, row = chat.chat_id, chat.row
        stmts = [self.stmt("clear_chat_messages", {"chat_id": cid}),
                 self.stmt("reset_message_count", {"chat_id": cid}),
                 self.stmt("clear_chat_status", {"chat_id": cid})]
        fixed = row and self.chat_stmt(cid, row.user_id, row.title, row.created_at,
                                       row.updated_at, row.message_count)
        if fixed:
            stmts.append(fixed)
        for user_id, messages in chat.runs:
            inserts, _ = yield from self.insert_stmts(cid, user_id, messages)
            stmts += inserts
        if fixed:
            stmts.append(fixed)
        if (wm := chat.working_memory) is not None:
            stmts.append((yield from self.working_memory_stmt(
                f"chat:{cid}", "chat", cid, wm.user_id, wm.content, wm.updated_at)))
        yield Unit("write", tuple(stmts))

    def get_chat(self, chat_id: str) -> Plan[Chat | None]:
        (rows,) = yield self.read("get_chat", {"chat_id": chat_id})
        return self.chat_from_row(rows[0]) if rows else None

    def list_chats(self, user_id: str | None, limit: int) -> Plan[list[Chat]]:
        if user_id is None:
            (rows,) = yield self.read("list_chats", {"limit": limit})
        else:
            (rows,) = yield self.read("list_chats_of_user", {"user_id": user_id,
                                                               "limit": limit})
        return [self.chat_from_row(r) for r in rows]

    def search_chats(
        self, user_id: str | None, match: Callable[[str], bool], limit: int
    ) -> Plan[list[Chat]]:
        # Keyset pages in list order: each page starts after the last row of the one
        # before, so the search reads only as far as its matches go, on every backend
        # (a client-side cursor would have received the whole result first).
        suffix = "" if user_id is None else "_of_user"
        # only the parameters the statement names (some drivers refuse others)
        owner = {} if user_id is None else {"user_id": user_id}
        params: dict[str, Any] = {**owner, "limit": SEARCH_PAGE}
        name = "scan_chats" + suffix
        found: list[Chat] = []
        while True:
            (rows,) = yield self.read(name, params)
            for row in rows:
                if match(row[2]):
                    found.append(self.chat_from_row(row))
                    if len(found) == limit:
                        return found
            if len(rows) < SEARCH_PAGE:
                return found
            last = rows[-1]
            name = "scan_chats_after" + suffix
            params = {**owner, "limit": SEARCH_PAGE,
                      "after_updated_at": last[4], "after_chat_id": last[0]}

    def rename_chat(self, chat_id: str, title: str, now: datetime) -> Plan[None]:
        yield from self.one("rename_chat",
                            {"chat_id": chat_id, "title": title, "now": self.encode_time(now)})

    def delete_chat(self, chat_id: str) -> Plan[bool]:
        messages, chats, _, _ = yield Unit("write", (
            self.stmt("delete_chat_messages", {"chat_id": chat_id}, "rowcount"),
            self.stmt("delete_chat_row", {"chat_id": chat_id}, "rowcount"),
            self.stmt("delete_working_memory", {"id": f"chat:{chat_id}"}),
            self.stmt("delete_chat_status", {"chat_id": chat_id})))
        return bool(messages or chats)

    def delete_user(self, user_id: str) -> Plan[None]:
        params = {"user_id": user_id}
        yield Unit("write", tuple(self.stmt(name, params) for name in (
            "uncount_user_messages_elsewhere", "delete_user_status", "delete_user_messages",
            "delete_user_working_memory", "delete_user_chats")))

    # -- recall (memstore.recall drives these; see its docstring) ----------------------

    # SQLite's format has an FTS5 trigram index beside the keyword side table; the others
    # find candidates by a LIKE scan of the scope's rows.
    fts_trigram: bool = False

    def _scoped(self, base: str, scope: Any) -> tuple[str, dict[str, Any]]:
        """The statement of ``base`` for ``scope`` (a chat's, else a user's; None: every
        message) and its scope parameters. A chat and a user: the chat's statement (the
        search keeps that user's messages of it)."""
        if scope is None:
            return base + "_all", {}
        if scope.chat_id is not None:
            return base + "_of_chat", {"chat_id": scope.chat_id}
        return base + "_of_user", {"user_id": scope.user_id}

    def search_pending(self, scope: Any, after: int,
                       limit: int) -> Plan[list[tuple[int, str, str | None, str, str]]]:
        name, params = self._scoped("search_pending", scope)
        (rows,) = yield self.read(name, {**params, "after_id": after, "limit": limit})
        return [(int(i), c, u, r, t) for i, c, u, r, t in rows]

    def search_store(self, rows: Sequence[tuple[int, str, str | None, str]]) -> Plan[None]:
        sql = self.sql["search_store"]
        yield Unit("write" if len(rows) > 1 else "write_one", tuple(
            Stmt(sql, {"message_id": i, "chat_id": c, "user_id": u, "body": b})
            for i, c, u, b in rows))

    def search_candidates(self, scope: Any, match: str | None,
                          pattern: str) -> Plan[list[Candidate]]:
        """Messages of the scope that may match: a superset of the matches (the caller
        applies the rule), each with its normalized visible text, without its content."""
        if self.fts_trigram and match is not None:
            name, params = self._scoped("search_match", scope)
            params["match"] = match
        else:
            name, params = self._scoped("search_scan", scope)
            params["pattern"] = pattern
        (rows,) = yield self.read(name, params)
        return self._candidates(rows)

    def _candidates(self, rows: Sequence[Row]) -> list[Candidate]:
        """Rows (id, chat_id, user_id, role, timestamp, extra) as Candidates."""
        decode = self.decode_time
        return [Candidate(int(i), c, u, r, decode(ts), x) for i, c, u, r, ts, x in rows]

    def search_messages_by_id(self, ids: Sequence[int]) -> Plan[dict[int, Message]]:
        """The messages with these ids that still exist, by id."""
        (rows,) = yield self.read("search_messages_by_id", {"ids": self.id_list(ids)})
        return {m.id: m for m in self.oldest_first(rows)}

    def vector_pending(self, scope: Any, model: str, after: int,
                       limit: int) -> Plan[list[tuple[int, str, str | None, str, str]]]:
        name, params = self._scoped("vector_pending", scope)
        (rows,) = yield self.read(name, {**params, "model": model, "after_id": after,
                                         "limit": limit})
        return [(int(i), c, u, r, t) for i, c, u, r, t in rows]

    def vector_store(self, model: str,
                     rows: Sequence[tuple[int, str, str | None, int, bytes]]) -> Plan[None]:
        sql = self.sql["vector_store"]
        yield Unit("write" if len(rows) > 1 else "write_one", tuple(
            Stmt(sql, {"message_id": i, "model": model, "chat_id": c, "user_id": u,
                       "dim": d, "vector": v})
            for i, c, u, d, v in rows))

    def vectors(self, scope: Any, model: str) -> Plan[list[Candidate]]:
        """The scope's messages with a vector of ``model`` (the vector as ``extra``)."""
        name, params = self._scoped("vectors", scope)
        (rows,) = yield self.read(name, {**params, "model": model})
        return self._candidates(rows)

    def messages_around(self, message: Message, user_id: str | None,
                        count: int) -> Plan[tuple[list[Message], list[Message]]]:
        """Up to ``count`` messages of the chat just before and just after ``message``
        (with ``user_id``: that user's and those with no user), oldest first."""
        suffix = "" if user_id is None else "_of_user"
        params: dict[str, Any] = {"chat_id": message.chat_id, "limit": count,
                                  "ts": self.encode_time(message.timestamp),
                                  "id": message.id}
        if user_id is not None:
            params["user_id"] = user_id
        before, after = yield Unit("read", (
            self.stmt("search_context_before" + suffix, params, "rows"),
            self.stmt("search_context_after" + suffix, params, "rows")))
        return self.messages_from_rows(before), self.oldest_first(after)

    def search_orphans(self) -> Plan[int]:
        """Remove the side rows of messages that are gone (deleted by another writer, or
        by memstore: every search joins back to the message, so they are never found)."""
        text, vectors = yield Unit("write", (
            self.stmt("search_orphans", {}, "rowcount"),
            self.stmt("vector_orphans", {}, "rowcount")))
        return int(text) + int(vectors)

    def search_status(self) -> Plan[tuple[int, int]]:
        """(messages the keyword side table has not seen, its rows of deleted messages)."""
        lag, orphans = yield Unit("read", (self.stmt("search_lag", {}, "rows"),
                                           self.stmt("search_orphan_count", {}, "rows")))
        return int(lag[0][0]), int(orphans[0][0])

    # -- budgeted reads (memstore.budget drives these) ---------------------------------

    def budget_page(self, chat_id: str, user_id: str | None, counter: str,
                    before: tuple[Any, int] | None,
                    limit: int) -> Plan[list[tuple[Message, int | None, tuple[Any, int]]]]:
        """Up to ``limit`` messages of the chat newest first (older than ``before``, a
        position this returned), each with its count under ``counter`` (None: none yet)
        and its position."""
        params: dict[str, Any] = {"chat_id": chat_id, "counter": counter, "limit": limit}
        name = "budget_page"
        if before is not None:
            name += "_before"
            params["before_ts"], params["before_id"] = before
        if user_id is not None:
            name += "_of_user"
            params["user_id"] = user_id
        (rows,) = yield self.read(name, params)
        decode = self.decode_time
        return [(message_from_row(int(i), c, u, r, t, decode(ts)),
                 None if tokens is None else int(tokens), (ts, int(i)))
                for i, c, u, r, t, ts, tokens in rows]

    def tokens_store(self, counter: str,
                     rows: Sequence[tuple[int, str, int]]) -> Plan[None]:
        sql = self.sql["tokens_store"]
        yield Unit("write" if len(rows) > 1 else "write_one", tuple(
            Stmt(sql, {"message_id": i, "counter": counter, "chat_id": c, "tokens": n})
            for i, c, n in rows))
