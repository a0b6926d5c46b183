"""Migrating chat histories from other libraries' SQL tables into memstore.

* LangChain's ``SQLChatMessageHistory`` (langchain-community): one table (default
  ``message_store``) with ``id`` (autoincrement), ``session_id`` and ``message`` (the JSON of
  ``message_to_dict(message)``).
* The OpenAI Agents SDK's ``SQLiteSession`` and ``SQLAlchemySession``: ``agent_sessions``
  and ``agent_messages`` (``id`` autoincrement, ``session_id``, ``message_data`` the JSON of
  the item, ``created_at``).

Each source session becomes the memstore chat ``chat_id = session_id``; its messages keep
the source's order (by ``id``) and each is written as the integration writes it
(:mod:`memstore.integrations.codec`: a UIMessage row carrying the original object exactly),
so ``MemstoreChatMessageHistory(...).messages`` / ``MemstoreSession.get_items()`` return the
original messages / items and a TypeScript ``@ai-sdk-tools/agents`` app sees their text.

The source is read with the standard library's ``sqlite3`` (``sqlite:///file.db``) or
``psycopg`` (``postgresql://...``); SQLAlchemy-style URLs with a driver
(``sqlite+aiosqlite:///``, ``postgresql+psycopg://``) are accepted. Neither framework nor
SQLAlchemy is needed: the role and the visible text of each row are computed from the JSON
by the integrations' rules.

A session is checked whole before any of it is written, then written in one transaction
(the destination chat's messages are swapped for the source's, as ``replace_messages``
does, at any length): running a migration twice stores nothing twice. A row that is not
valid JSON (or not a message) raises :class:`MigrationError` naming the session and the
row id; nothing of that session is written (sessions migrated before it stay: fix the row
and re-run).
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from . import validate as v
from .connect import connect
from .errors import BackendError, MemstoreError, ValidationError
from .integrations import codec
from .models import MessageItem, Role
from .store import Memory

FRAMEWORKS: tuple[str, ...] = ("langchain", "openai-agents")
LANGCHAIN = "langchain"  # memstore.integrations.langchain.FRAMEWORK
OPENAI_AGENTS = "openai-agents"  # memstore.integrations.openai_agents.FRAMEWORK
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*)?")
# Stable UIMessage ids for rows whose object has no id: a re-run writes the same bytes.
_NAMESPACE = uuid.UUID("5b1f3c2e-8f0d-4c55-9c8e-6d1a7e0b3f21")


class MigrationError(MemstoreError):
    """A source row memstore cannot migrate: ``session_id``, ``row_id`` (the source's id)
    and ``reason``. Nothing of that session was written."""

    def __init__(self, table: str, session_id: str, row_id: object, reason: str) -> None:
        super().__init__(f"{table}: session {session_id!r}, row id {row_id}: {reason}")
        self.table = table
        self.session_id = session_id
        self.row_id = row_id
        self.reason = reason


@dataclass
class MigrateStats:
    """What a migration wrote."""

    sessions: int = 0
    messages: int = 0
    total_sessions: int | None = None  # known once the source's sessions are listed
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def summary(self) -> str:
        return (f"migrated {self.sessions} sessions, {self.messages} messages in "
                f"{self.seconds:.1f} s")

    def progress(self) -> tuple[int, int | None, dict[str, int]]:
        """For :class:`memstore.transfer.ProgressDisplay`: sessions done, of how many,
        the messages."""
        return self.sessions, self.total_sessions, {"messages": self.messages}


# -- the row format: the integrations' role and visible text, from the JSON ------------

_LC_USER = ("human", "HumanMessageChunk")
_LC_SYSTEM = ("system", "SystemMessageChunk")
_LC_CHAT = ("chat", "ChatMessageChunk")
_LC_AI = ("ai", "AIMessageChunk")
_LC_HIDDEN = ("tool", "function", "ToolMessageChunk", "FunctionMessageChunk")


def langchain_role(message: Mapping[str, Any]) -> Role:
    """``message_role`` of the integration, for ``message_to_dict`` output."""
    kind = message.get("type")
    if kind in _LC_USER:
        return "user"
    if kind in _LC_SYSTEM:
        return "system"
    if kind in _LC_CHAT:
        role = (message.get("data") or {}).get("role")
        if role in ("user", "human"):
            return "user"
        if role in ("system", "developer"):
            return "system"
    return "assistant"


_LC_TYPES = (*_LC_USER, *_LC_SYSTEM, *_LC_CHAT, *_LC_AI, *_LC_HIDDEN)


def _langchain_problem(message: Mapping[str, Any]) -> str | None:
    """Why LangChain could not load ``message`` (``messages_from_dict`` when langchain-core
    is installed, else the documented shape), or None. A row it cannot load would make the
    migrated chat unreadable whole, so migrate-from refuses it and names it."""
    try:
        from langchain_core.messages import messages_from_dict
    except ImportError:
        data = message["data"]
        if message["type"] not in _LC_TYPES:
            return f"unknown type {message['type']!r}"
        content = data.get("content")
        if not isinstance(content, (str, list)):
            return f"content must be a str or a list; got {type(content).__name__}"
        for key in ("tool_calls", "invalid_tool_calls"):
            if key in data and not isinstance(data[key], list):
                return f"{key} must be a list; got {type(data[key]).__name__}"
        return None
    try:
        messages_from_dict([dict(message)])
    except Exception as exc:  # ValueError, pydantic's ValidationError, AttributeError, ...
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"{type(exc).__name__}: {first[:200]}"
    return None


def langchain_text(message: Mapping[str, Any]) -> str | None:
    """``message_text`` of the integration (``BaseMessage.text``; None hides the row)."""
    kind = message.get("type")
    if kind in _LC_HIDDEN:
        return None
    content = (message.get("data") or {}).get("content")
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        text = "".join(b if isinstance(b, str) else b["text"] for b in content
                       if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text"
                                                 and isinstance(b.get("text"), str)))
    else:
        text = ""
    if kind in _LC_AI and not text:
        return None
    return text


def agents_role(item: Mapping[str, Any]) -> Role:
    """``item_role`` of the Agents SDK integration."""
    if item.get("type", "message") != "message":
        return "assistant"
    role = item.get("role")
    if role == "user":
        return "user"
    if role in ("system", "developer"):
        return "system"
    return "assistant"


def agents_text(item: Mapping[str, Any]) -> str | None:
    """``item_text`` of the Agents SDK integration (None hides the row)."""
    if "role" not in item or item.get("type", "message") != "message":
        return None
    content = item.get("content")
    if isinstance(content, str):
        return content or None
    if not isinstance(content, list):
        return None
    texts = []
    for part in content:
        if not isinstance(part, Mapping):
            continue
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text") and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "refusal" and isinstance(part.get("refusal"), str):
            texts.append(part["refusal"])
    return "\n".join(texts) or None


# -- the source -------------------------------------------------------------------------

def _driverless(url: str) -> str:
    """``postgresql+psycopg://...`` → ``postgresql://...`` (SQLAlchemy's driver suffix)."""
    scheme, sep, rest = url.partition(":")
    return f"{scheme.split('+', 1)[0].lower()}{sep}{rest}" if sep else url


def _quoted(name: str) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError("table", f"must be a table name like message_store or "
                              f"schema.message_store; got {name!r}")
    return ".".join(f'"{p}"' for p in name.split("."))


def _source_error(exc: Exception, url: str | None) -> BackendError:
    """A driver error reading the source as a BackendError (the URL's password never
    shown; the driver's exception is ``__cause__``)."""
    text = str(exc).strip()
    if url is not None:
        text = v.redact(text, url)
    return BackendError(f"reading the source database failed: {type(exc).__name__}: "
                        f"{text}")


class _Source:
    """A read-only connection to the source database (sqlite3 or psycopg)."""

    def __init__(self, url: str) -> None:
        plain = _driverless(url)
        if plain.partition(":")[0] in ("postgresql", "postgres"):
            v.url_parts(plain, "PostgreSQL", hosts=True)  # never quotes the password
        try:
            parts = urlsplit(plain)
        except ValueError:
            raise ValidationError("url", "not a valid URL: the host cannot be parsed") \
                from None
        self.conn: Any
        if parts.scheme == "sqlite":
            if parts.netloc:
                raise ValidationError("url", "a sqlite URL has no host: sqlite:///relative.db "
                                      "or sqlite:////absolute/path.db")
            path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
            if path in ("", ":memory:"):
                raise ValidationError("url", "an in-memory SQLite database has no tables "
                                      "to migrate from")
            if not Path(path).exists():
                raise MemstoreError(f"no SQLite database at {path}")
            self.dialect = "sqlite"
            self.param = "?"
            self.conn = sqlite3.connect(f"file:{quote(path)}?mode=ro", uri=True)
        elif parts.scheme in ("postgresql", "postgres"):
            try:
                import psycopg
            except ImportError:
                raise MemstoreError("reading PostgreSQL needs psycopg: "
                                    "pip install 'memstore-sql[postgres]'") from None
            from .adapters import postgres

            self.dialect = "postgres"
            self.param = "%s"
            options = postgres._connect_options(plain)  # a malformed URL: ValidationError
            try:
                self.conn = psycopg.connect(plain, autocommit=True, **options)
            except psycopg.Error as exc:
                raise _source_error(exc, plain) from exc
        else:
            raise ValidationError("url", f"migrate-from reads sqlite:// or postgresql:// URLs; "
                                  f"got {parts.scheme or '(no scheme)'!r}")

    def query(self, sql: str, *params: object) -> list[tuple[Any, ...]]:
        try:
            cur = self.conn.execute(sql.replace("?", self.param), params)
            rows: list[tuple[Any, ...]] = cur.fetchall()
            cur.close()
        except MemstoreError:
            raise
        except Exception as exc:  # sqlite3 / psycopg errors: a lost server, a locked file
            raise _source_error(exc, None) from exc
        return rows

    def columns(self, table: str) -> set[str]:
        cur = self.conn.execute(f"SELECT * FROM {_quoted(table)} LIMIT 0")
        names = {d[0] for d in cur.description}
        cur.close()
        return names

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True)
class _Layout:
    framework: str
    table: str
    data_column: str
    timestamps: bool


def _check_table(src: _Source, layout: _Layout) -> None:
    try:
        cols = src.columns(layout.table)
    except Exception as exc:  # sqlite3 / psycopg errors: no such table, no permission
        raise MemstoreError(f"cannot read the table {layout.table!r}: "
                            f"{str(exc).strip()}") from None
    need = {"id", "session_id", layout.data_column} | ({"created_at"} if layout.timestamps
                                                      else set())
    missing = sorted(need - cols)
    if missing:
        raise MemstoreError(f"the table {layout.table!r} is not a {layout.framework} table: "
                            f"it has no column {', '.join(missing)}")


def _sessions(src: _Source, layout: _Layout) -> list[str]:
    t = _quoted(layout.table)
    return [r[0] for r in src.query(
        f"SELECT DISTINCT session_id FROM {t} WHERE session_id IS NOT NULL ORDER BY session_id")]


def _rows(src: _Source, layout: _Layout, session_id: str) -> list[tuple[Any, ...]]:
    t = _quoted(layout.table)
    stamp = ", created_at" if layout.timestamps else ""
    return src.query(f"SELECT id, {layout.data_column}{stamp} FROM {t} "
                     "WHERE session_id = ? ORDER BY id", session_id)


# -- converting one session ---------------------------------------------------------------

def _instant(value: object) -> datetime | None:
    """A source ``created_at`` as an aware UTC datetime in memstore's precision (naive
    values, as both SDK schemas store them, are UTC)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if not isinstance(value, datetime):
        raise ValueError(f"created_at is not a timestamp: {value!r}")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    try:
        value = value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"created_at {value.isoformat()} is outside the years 1-9999 "
                         "in UTC") from None
    return value - timedelta(microseconds=value.microsecond % 1000)


def _convert(layout: _Layout, session_id: str, rows: list[tuple[Any, ...]],
             max_bytes: int) -> list[MessageItem]:
    """The ``replace_messages`` items of one session; MigrationError on a bad row."""
    items: list[MessageItem] = []
    n = len(rows)
    base = v.now()
    last: datetime | None = None
    for i, row in enumerate(rows):
        row_id, data = row[0], row[1]

        def bad(reason: str, row_id: object = row_id) -> MigrationError:
            return MigrationError(layout.table, session_id, row_id, reason)

        if isinstance(data, (bytes, bytearray, memoryview)):
            try:
                data = bytes(data).decode("utf-8")
            except UnicodeDecodeError:
                raise bad(f"{layout.data_column} is not UTF-8") from None
        if not isinstance(data, str):
            raise bad(f"{layout.data_column} is not text (got {type(data).__name__})")
        try:
            obj = json.loads(data)
        except ValueError as exc:
            raise bad(f"{layout.data_column} is not valid JSON: {exc}") from None
        except RecursionError:
            raise bad(f"{layout.data_column} {v.NESTED_TOO_DEEPLY}") from None
        if not isinstance(obj, dict):
            raise bad(f"{layout.data_column} must be a JSON object; got "
                      f"{type(obj).__name__}")
        stable_id = str(uuid.uuid5(_NAMESPACE, f"{layout.framework}/{session_id}/{row_id}"))
        if layout.framework == LANGCHAIN:
            if not isinstance(obj.get("type"), str) or not isinstance(obj.get("data"), dict):
                raise bad("message is not a LangChain message_to_dict() object "
                          "({'type': ..., 'data': {...}})")
            if problem := _langchain_problem(obj):
                raise bad(f"message is not one LangChain can load: {problem}")
            message_id = obj["data"].get("id")
            role = langchain_role(obj)
            try:
                content = codec.encode(LANGCHAIN, obj, role=role, text=langchain_text(obj),
                                       message_id=message_id if isinstance(message_id, str)
                                       and message_id else stable_id)
            except ValidationError as exc:
                raise bad(exc.reason) from None
        else:
            role = agents_role(obj)
            try:
                content = codec.encode(OPENAI_AGENTS, obj, role=role, text=agents_text(obj),
                                       message_id=stable_id)
            except ValidationError as exc:
                raise bad(exc.reason) from None
        try:
            v.content("content", content, max_bytes)
        except ValidationError as exc:
            raise bad(f"the encoded row {exc.reason}") from None
        if layout.timestamps:
            try:
                stamp = _instant(row[2])
            except ValueError as exc:
                raise bad(str(exc)) from None
            if stamp is None:
                stamp = last or base
            if last is not None and stamp < last:
                stamp = last  # never before the previous row: the order stays the source's
            try:
                stamp = v.instant("created_at", stamp)
            except ValidationError as exc:
                raise bad(f"created_at {exc.reason}") from None
        else:  # ordered instants ending now, a millisecond apart
            stamp = base - timedelta(milliseconds=n - 1 - i)
        last = stamp
        items.append({"role": role, "content": content, "timestamp": stamp})
    return items


# -- the API ----------------------------------------------------------------------------

Progress = Callable[[MigrateStats], None]


def migrate_from(framework: str, source: str, *, to: Any = None,
                 table: str | None = None, tables: Mapping[str, str] | None = None,
                 progress: Progress | None = None, init_schema: bool = True) -> MigrateStats:
    """Migrate every session of a LangChain ``SQLChatMessageHistory`` table
    (``framework="langchain"``, ``table`` default ``message_store``) or of an Agents SDK
    ``SQLiteSession`` / ``SQLAlchemySession`` messages table (``"openai-agents"``, ``table``
    default ``agent_messages``) at the URL ``source`` into memstore: ``to`` (a URL or
    connection as :func:`memstore.connect` takes it, or a ``Memory``), default the same
    database. ``tables``: memstore's table names, as ``connect`` takes them. Idempotent."""
    if framework not in FRAMEWORKS:
        raise ValidationError("framework", f"must be one of {', '.join(FRAMEWORKS)}; "
                              f"got {framework!r}")
    if framework == LANGCHAIN:
        layout = _Layout(LANGCHAIN, table or "message_store", "message", False)
    else:
        layout = _Layout(OPENAI_AGENTS, table or "agent_messages", "message_data", True)
    _quoted(layout.table)
    src = _Source(source)
    try:
        _check_table(src, layout)
        own = not isinstance(to, Memory)
        mem = to if isinstance(to, Memory) else connect(
            _driverless(source) if to is None else to, tables=tables)
        try:
            if init_schema:
                mem.init_schema()
            max_bytes = getattr(mem, "_max_bytes", v.MAX_CONTENT_BYTES)
            return _migrate(src, layout, mem, max_bytes, progress)
        finally:
            if own:
                mem.close()
    finally:
        src.close()


def _migrate(src: _Source, layout: _Layout, mem: Memory, max_bytes: int,
             progress: Progress | None) -> MigrateStats:
    sessions = _sessions(src, layout)
    stats = MigrateStats(total_sessions=len(sessions))
    for session_id in sessions:
        try:
            chat_id = v.ident("chat_id", session_id)
        except ValidationError as exc:
            raise MigrationError(layout.table, str(session_id), "-",
                                 f"the session id cannot be a memstore chat id: {exc.reason}"
                                 ) from None
        items = _convert(layout, chat_id, _rows(src, layout, session_id), max_bytes)
        # the session whole, in one transaction, whatever its length
        mem._run(mem._import_chat(chat_id, None, [(None, item) for item in items], None))
        stats.sessions += 1
        stats.messages += len(items)
        if progress is not None:
            progress(stats)
    stats.finished = time.monotonic()
    return stats


def migrate_langchain(source: str, *, to: Any = None, table: str = "message_store",
                      tables: Mapping[str, str] | None = None) -> MigrateStats:
    """:func:`migrate_from` for a LangChain ``SQLChatMessageHistory`` table."""
    return migrate_from(LANGCHAIN, source, to=to, table=table, tables=tables)


def migrate_openai_agents(source: str, *, to: Any = None, table: str = "agent_messages",
                          tables: Mapping[str, str] | None = None) -> MigrateStats:
    """:func:`migrate_from` for an Agents SDK ``SQLiteSession`` / ``SQLAlchemySession``
    messages table."""
    return migrate_from(OPENAI_AGENTS, source, to=to, table=table, tables=tables)
