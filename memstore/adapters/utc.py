"""Naive UTC datetimes (PostgreSQL TIMESTAMP and MySQL TIMESTAMP(3)/DATETIME columns, as
psycopg and PyMySQL return and take them) to aware UTC ones and back.

By arithmetic, not ``datetime.replace``: on CPython 3.11 ``replace(tzinfo=...)`` costs
about 1.3 µs (keyword parsing, and a constructor call through the type), ``epoch + (value -
epoch)`` about 0.1 µs, and this runs once for every time value of every row read or written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from ..models import Message, message_from_row

UTC = timezone.utc
_NAIVE_EPOCH = datetime(1970, 1, 1)
_AWARE_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_aware(value: datetime) -> datetime:
    """A naive UTC datetime as an aware one (tzinfo ``timezone.utc``), truncated to the
    millisecond: memstore's instants are milliseconds, and a finer value (written by hand,
    or by the database's now()) is read as the TS package reads it."""
    if value.microsecond % 1000:
        value = value.replace(microsecond=value.microsecond // 1000 * 1000)
    return _AWARE_EPOCH + (value - _NAIVE_EPOCH)


def to_naive(value: datetime) -> datetime:
    """An aware datetime as naive UTC (memstore hands dialects UTC already:
    validate.instant)."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return _NAIVE_EPOCH + (value - _AWARE_EPOCH)


class _NotPlain(Exception):
    """A time value the inline path of messages_oldest_first does not take."""


def _not_plain() -> datetime:
    raise _NotPlain


def messages_oldest_first(rows: Sequence[Sequence[Any]]) -> list[Message] | None:
    """Rows (id, chat_id, user_id, role, content, timestamp), newest first, whose times
    are naive UTC datetimes to the millisecond (what memstore and the TS package write),
    as Messages oldest first; None when a time value is anything else (the dialect's
    general decoding then names it or converts it). to_aware inline: two calls less a row
    on every read of PostgreSQL and MySQL."""
    build, aware, naive = message_from_row, _AWARE_EPOCH, _NAIVE_EPOCH
    try:
        return [build(i, c, u, r, t, aware + (ts - naive)
                      if type(ts) is datetime and ts.tzinfo is None and not ts.microsecond % 1000
                      else _not_plain())
                for i, c, u, r, t, ts in reversed(rows)]
    except _NotPlain:
        return None
