"""The values memstore returns. Datetimes are always timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, TypedDict

Scope = Literal["chat", "user"]
Role = Literal["user", "assistant", "system"]
# What may be stored as content: text, or a dict/list stored as its JSON text.
Content = str | dict[str, Any] | list[Any]


class _MessageFields(TypedDict):
    role: Role
    content: Content


class MessageItem(_MessageFields, total=False):
    """One item of ``save_messages`` / ``replace_messages``, for type checkers (at run
    time any mapping with these keys is accepted)."""

    timestamp: datetime | None

SCOPES: tuple[str, ...] = ("chat", "user")
ROLES: tuple[str, ...] = ("user", "assistant", "system")


@dataclass(frozen=True, slots=True)
class WorkingMemory:
    scope: str
    chat_id: str | None
    user_id: str | None
    content: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    chat_id: str
    user_id: str | None
    role: str
    content: str
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class Chat:
    chat_id: str
    user_id: str | None
    title: str | None
    created_at: datetime
    updated_at: datetime
    message_count: int


class NewMessage(NamedTuple):
    """A validated message on its way into an adapter (no id yet). Internal, and built
    once per message of every save: a named tuple costs a third of a frozen dataclass."""

    role: str
    content: str
    timestamp: datetime


def _slot_setters(cls: type, names: str) -> list[Any]:
    return [getattr(cls, name).__set__ for name in names.split()]


_new = object.__new__
_m_id, _m_chat, _m_user, _m_role, _m_content, _m_time = _slot_setters(
    Message, "id chat_id user_id role content timestamp")


def message_from_row(
    id: int, chat_id: str, user_id: str | None, role: str, content: str, timestamp: datetime,
) -> Message:
    """``Message(...)`` for a row read back, built through the slots directly. The frozen
    dataclass's ``__init__`` sets each field with ``object.__setattr__``, which costs
    about twice as much, and this runs once for every message of every read."""
    m = _new(Message)
    _m_id(m, id)
    _m_chat(m, chat_id)
    _m_user(m, user_id)
    _m_role(m, role)
    _m_content(m, content)
    _m_time(m, timestamp)
    return m


_c_chat, _c_user, _c_title, _c_created, _c_updated, _c_count = _slot_setters(
    Chat, "chat_id user_id title created_at updated_at message_count")


def chat_from_row(
    chat_id: str, user_id: str | None, title: str | None, created_at: datetime,
    updated_at: datetime, message_count: int,
) -> Chat:
    """``Chat(...)`` for a row read back, built as :func:`message_from_row` builds."""
    c = _new(Chat)
    _c_chat(c, chat_id)
    _c_user(c, user_id)
    _c_title(c, title)
    _c_created(c, created_at)
    _c_updated(c, updated_at)
    _c_count(c, message_count)
    return c


_w_scope, _w_chat, _w_user, _w_content, _w_updated = _slot_setters(
    WorkingMemory, "scope chat_id user_id content updated_at")


def working_memory_from_row(
    scope: str, chat_id: str | None, user_id: str | None, content: str, updated_at: datetime,
) -> WorkingMemory:
    """``WorkingMemory(...)`` for a row read back, built as :func:`message_from_row` builds."""
    w = _new(WorkingMemory)
    _w_scope(w, scope)
    _w_chat(w, chat_id)
    _w_user(w, user_id)
    _w_content(w, content)
    _w_updated(w, updated_at)
    return w
