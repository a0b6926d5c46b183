"""The values memstore returns. Datetimes are always timezone-aware UTC."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Scope = Literal["chat", "user"]
Role = Literal["user", "assistant", "system"]

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


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A validated message on its way into an adapter (no id yet)."""

    role: str
    content: str
    timestamp: datetime
