"""Naive UTC datetimes (PostgreSQL TIMESTAMP and MySQL TIMESTAMP(3)/DATETIME columns, as
psycopg and PyMySQL return and take them) to aware UTC ones and back.

By arithmetic, not ``datetime.replace``: on CPython 3.11 ``replace(tzinfo=...)`` costs
about 1.3 µs (keyword parsing, and a constructor call through the type), ``epoch + (value -
epoch)`` about 0.1 µs, and this runs once for every time value of every row read or written.
"""

from __future__ import annotations

from datetime import datetime, timezone

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
