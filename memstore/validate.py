"""Every input rule, checked before any SQL runs.

The limits are the intersection of what every backend can hold, so that a value one
backend accepts is accepted by all of them and comes back byte-identical:

* ids: 1..255 characters (the TS package's MySQL schema uses VARCHAR(255));
* titles: at most 500 characters (its MySQL ``title VARCHAR(500)``);
* content: at most 8 MiB of UTF-8 by default (``MAX_CONTENT_BYTES``; ``connect(...,
  max_content_bytes=)`` sets it, up to ``HARD_MAX_CONTENT_BYTES``, what a MySQL MEDIUMTEXT holds);
* no NUL (PostgreSQL text cannot hold it) and no lone surrogates (not valid UTF-8);
* instants: millisecond precision between 1970-01-01T00:00:01Z and
  2038-01-19T03:14:07.999Z, which is what a MySQL ``TIMESTAMP(3)`` column holds.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from urllib.parse import SplitResult, unquote, urlsplit

from .errors import ValidationError
from .models import ROLES, SCOPES, NewMessage

MAX_ID_CHARS = 255
MAX_TITLE_CHARS = 500
MAX_SEARCH_CHARS = 500
# Agent items carry base64 images and long tool outputs (1.2 MB seen): 8 MiB by default.
MAX_CONTENT_BYTES = 8 * 1024 * 1024
HARD_MAX_CONTENT_BYTES = 16 * 1024 * 1024 - 1  # MySQL MEDIUMTEXT, the narrowest column
MAX_LIMIT = 10_000
MAX_MESSAGE_COUNT = 2**31 - 1  # INTEGER / INT columns
MAX_BATCH = 10_000
MAX_ID = 2**63 - 1  # message ids are BIGINT-safe integers; larger cannot be an id

# json.dumps / json.loads recurse once per level: past Python's recursion limit (about
# 1,000 levels) they raise RecursionError, which memstore reports as this.
NESTED_TOO_DEEPLY = ("is nested too deeply to be JSON memstore can read or write "
                     "(about 1,000 levels of lists and objects at most)")

MIN_INSTANT = datetime(1970, 1, 1, 0, 0, 1, tzinfo=timezone.utc)
MAX_INSTANT = datetime(2038, 1, 19, 3, 14, 7, 999000, tzinfo=timezone.utc)


def text(field: str, value: object, *, max_chars: int | None = None) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, f"must be a str; got {type(value).__name__}")
    # str methods in C instead of a regex: this runs over every byte of every message.
    if "\x00" in value:
        raise ValidationError(field, f"contains a NUL character at index {value.index(chr(0))}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValidationError(
                field, f"contains a lone surrogate at index {exc.start}") from None
    if max_chars is not None and len(value) > max_chars:
        raise ValidationError(field, f"is {len(value)} characters; the maximum is {max_chars}")
    return value


def ident(field: str, value: object) -> str:
    """A chat or user id: non-empty text of at most 255 characters."""
    s = text(field, value, max_chars=MAX_ID_CHARS)
    if s == "":
        raise ValidationError(field, "must not be empty")
    return s


def optional_ident(field: str, value: object) -> str | None:
    return None if value is None else ident(field, value)


def title(field: str, value: object) -> str:
    return text(field, value, max_chars=MAX_TITLE_CHARS)


def content(field: str, value: object, max_bytes: int = MAX_CONTENT_BYTES) -> str:
    """Message or working-memory content. A dict or list is stored as JSON text."""
    if isinstance(value, (dict, list)):
        try:
            # allow_nan=False: json.dumps would otherwise write NaN/Infinity, which no JSON
            # parser (JSON.parse in the TS package included) reads back.
            value = json.dumps(value, ensure_ascii=False, allow_nan=False)
        except ValueError as exc:
            if "float" not in str(exc):  # e.g. "Circular reference detected"
                raise ValidationError(field, f"is not JSON-serialisable: {exc}") from None
            raise ValidationError(
                field, "contains NaN or Infinity (a float value or key), which are not JSON; "
                "store them as strings or null") from None
        except TypeError as exc:
            raise ValidationError(field, f"is not JSON-serialisable: {exc}") from None
        except RecursionError:
            raise ValidationError(field, NESTED_TOO_DEEPLY) from None
    elif not isinstance(value, str):
        raise ValidationError(field, f"must be a str, dict or list; got {type(value).__name__}")
    s = text(field, value)
    # Cheap upper bound first: a str of n characters is at most 4n bytes of UTF-8.
    if len(s) * 4 > max_bytes:
        size = len(s.encode("utf-8"))
        if size > max_bytes:
            raise ValidationError(
                field, f"is {size} bytes of UTF-8; the maximum is {max_bytes} "
                "(connect(..., max_content_bytes=) sets it)")
    return s


def role(field: str, value: object) -> str:
    if value not in ROLES or not isinstance(value, str):
        raise ValidationError(field, f"must be one of {', '.join(ROLES)}; got {value!r}")
    return value


def scope(field: str, value: object) -> str:
    if value not in SCOPES or not isinstance(value, str):
        raise ValidationError(field, f"must be one of {', '.join(SCOPES)}; got {value!r}")
    return value


def bounded_int(field: str, value: object, low: int, high: int) -> int:
    # bool is an int subclass; True as a limit is a bug in the caller, not a 1.
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, f"must be an int; got {type(value).__name__}")
    if not low <= value <= high:
        raise ValidationError(field, f"must be between {low} and {high}; got {value}")
    return value


def limit(field: str, value: object) -> int:
    return bounded_int(field, value, 1, MAX_LIMIT)


def content_limit(field: str, value: object) -> int:
    return bounded_int(field, value, 1, HARD_MAX_CONTENT_BYTES)


STATUSES: tuple[str, ...] = ("active", "archived")


def message_status(field: str, value: object) -> str | None:
    """None (every message) or one of STATUSES, as a plain str (a str enum such as
    LlamaIndex's MessageStatus passes by its value)."""
    if value is None:
        return None
    if isinstance(value, str) and value in STATUSES:
        return STATUSES[STATUSES.index(value)]
    raise ValidationError(field, f"must be None, 'active' or 'archived'; got {value!r}")


def read_limit(field: str, value: object) -> int | None:
    """How many messages a read returns: None for all, else at least 1. No upper cap
    beyond the INTEGER range: reads past one page go in keyset pages."""
    return None if value is None else bounded_int(field, value, 1, MAX_ID)


def message_id(field: str, value: object) -> int:
    return bounded_int(field, value, 1, MAX_ID)


def message_ids(field: str, value: object) -> list[int]:
    """Distinct message ids, in the order given (at most MAX_BATCH)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(field, f"must be a list of message ids; got {type(value).__name__}")
    ids = list(value)
    if len(ids) > MAX_BATCH:
        raise ValidationError(field, f"has {len(ids)} ids; the maximum is {MAX_BATCH}")
    for i, item in enumerate(ids):
        message_id(f"{field}[{i}]", item)
    return list(dict.fromkeys(ids))


def instant(field: str, value: object) -> datetime:
    """An aware datetime inside the range and precision every backend holds, as UTC."""
    if not isinstance(value, datetime):
        raise ValidationError(field, f"must be a datetime; got {type(value).__name__}")
    if value.tzinfo is not timezone.utc and (value.tzinfo is None or value.utcoffset() is None):
        raise ValidationError(
            field, "must be timezone-aware (e.g. datetime.now(timezone.utc)); got a naive datetime"
        )
    try:
        utc = value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)
    except OverflowError:  # e.g. 0001-01-01T00:30+01:00 is before year 1 in UTC
        raise ValidationError(
            field,
            f"must be between {MIN_INSTANT.isoformat()} and {MAX_INSTANT.isoformat()} "
            "(the range a MySQL TIMESTAMP column holds); got " + value.isoformat()
            + ", which is outside the years 1-9999 in UTC",
        ) from None
    if utc.microsecond % 1000:
        raise ValidationError(
            field,
            "has sub-millisecond precision, which not every backend stores; "
            "round it to whole milliseconds",
        )
    if not MIN_INSTANT <= utc <= MAX_INSTANT:
        raise ValidationError(
            field,
            f"must be between {MIN_INSTANT.isoformat()} and {MAX_INSTANT.isoformat()} "
            "(the range a MySQL TIMESTAMP column holds); got " + utc.isoformat(),
        )
    return utc


def now() -> datetime:
    """The current instant as memstore's own clock gives it: an aware UTC datetime
    truncated (not rounded, so never in the future) to the millisecond precision memstore
    stores. Pass it as a timestamp and it is stored unchanged; it always passes
    :func:`instant` (until 2038, the end of the range)."""
    t = datetime.now(timezone.utc)
    return t - timedelta(microseconds=t.microsecond % 1000)


# The older name, kept as the same object: Memory skips re-validating its default clock by
# identity (``clock is now_utc``), which then holds for either name.
now_utc = now


MAX_SECONDS = 365 * 24 * 3600  # 31,536,000: a timeout longer than a year is a typo


def seconds(field: str, value: str | float, *, what: str) -> float:
    """A duration option (timeouts in a URL or a keyword argument): a finite number of
    seconds, more than 0 and at most ``MAX_SECONDS`` (one year), given as a number or as
    its text (``"2.5"``). Anything else, including ``-1``, ``0``, ``nan``, ``inf``, a bool
    and garbage, raises ``ValidationError(field, "<what> must be a positive number of
    seconds; got '...'")``: drivers read 0 or a negative timeout as "no timeout" or fail
    later with their own message, and nan compares false with everything.

    Example: ``seconds("url", "10", what="connect_timeout")`` is ``10.0``."""
    number: float | None = None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # ValueError: garbage text; OverflowError: an int beyond float's range.
        with contextlib.suppress(ValueError, OverflowError):
            number = float(value)
    if number is None or not math.isfinite(number) or not 0 < number <= MAX_SECONDS:
        shown = value if isinstance(value, str) else repr(value)
        shown = shown if len(shown) <= 40 else shown[:40] + "..."
        too_long = number is not None and math.isfinite(number) and number > MAX_SECONDS
        note = f" (the maximum is {MAX_SECONDS}, one year)" if too_long else ""
        raise ValidationError(
            field, f"{what} must be a positive number of seconds; got '{shown}'{note}")
    return number


_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_IPV6_HOST = re.compile(r"\[[^\[\]]+\](:[^\[\]]*)?")


def url_parts(url: str, kind: str, *, hosts: bool = False) -> SplitResult:
    """``urlsplit(url)`` for a database URL, every malformed part refused with a
    ``ValidationError("url", "not a valid <kind> URL: the <part> ...")`` that names the
    part and never quotes the URL or any part of it (the URL may hold a password).

    Checked: percent-escapes in the user name, password, host, path and query (``%`` not
    followed by two hex digits; ``%00``, a NUL no database takes), IPv6 hosts in brackets,
    and the port (a number from 0 to 65535). ``hosts=True`` allows libpq's list of hosts
    (``h1:5432,h2:5433``), whose ports libpq checks itself."""
    def bad(part: str, reason: str) -> ValidationError:
        return ValidationError("url", f"not a valid {kind} URL: the {part} {reason}")

    rest = url.partition("://")[2]
    netloc = re.split(r"[/?#]", rest, maxsplit=1)[0]
    userinfo, _, hostport = netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    after = rest[len(netloc):]
    path, _, query = after.split("#", 1)[0].partition("?")
    for part, value in (("user name", user), ("password", password), ("host", hostport),
                        ("path", path), ("query string", query)):
        if _BAD_PERCENT.search(value):
            raise bad(part, "has a '%' that is not followed by two hex digits (write a "
                      "literal % as %25)")
        if "%00" in value:
            raise bad(part, "contains %00, a NUL character, which no database accepts")
    for host in hostport.split(",") if hosts else [hostport]:
        if "[" in host or "]" in host:
            if "[]" in host:
                raise bad("host", "is an empty IPv6 address []")
            if not _IPV6_HOST.fullmatch(host):
                raise bad("host", "has an unbalanced '[' or ']' (write an IPv6 address "
                          "as [::1])")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise bad("host", "cannot be parsed") from None
    if not hosts:
        try:
            parts.port  # noqa: B018  (parses the port; ValueError when it is not one)
        except ValueError:
            raise bad("port", "must be a number from 0 to 65535") from None
    return parts


def redact(text: str, url: str) -> str:
    """``text`` (a driver's message about ``url``) without the URL or its password."""
    parts = url.partition("://")[2]
    userinfo = re.split(r"[/?#]", parts, maxsplit=1)[0].rpartition("@")[0]
    password = userinfo.partition(":")[2]
    for secret in sorted({url, password, unquote(password)} - {""}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def new_message(item: object, now: datetime,
                max_bytes: int = MAX_CONTENT_BYTES) -> NewMessage:
    """One item of a save: a mapping with ``role``, ``content`` and optionally
    ``timestamp`` (``now`` when missing or None). Error fields are relative to the item
    (``role``; ``""`` for the item itself); the caller says which item it was."""
    if type(item) is not dict and not isinstance(item, Mapping):  # the ABC check is slow
        raise ValidationError(
            "", f"must be a mapping with role and content; got {type(item).__name__}")
    if not item.keys() <= _MESSAGE_KEYS:
        unknown = sorted(map(str, item.keys() - _MESSAGE_KEYS))
        raise ValidationError("", f"has unknown keys {unknown}")
    try:
        raw_role, raw_content = item["role"], item["content"]
    except KeyError as exc:
        raise ValidationError(str(exc.args[0]), "is required") from None
    stamp = item.get("timestamp")
    return NewMessage(role("role", raw_role), content("content", raw_content, max_bytes),
                      now if stamp is None else instant("timestamp", stamp))


_MESSAGE_KEYS = frozenset({"role", "content", "timestamp"})


def callable_name(field: str, func: object, name: object, attributes: tuple[str, ...]) -> str:
    """The name a user's callable (an embedder, a token counter) is recorded under with
    what it computed, so results of two callables never mix: ``name`` when given, else
    the first of its ``attributes`` it has, else its qualified name."""
    if name is None:
        name = next((getattr(func, a) for a in attributes if getattr(func, a, None)), None)
    if name is None:
        module = getattr(func, "__module__", "") or ""
        qualname = getattr(func, "__qualname__", None) or type(func).__qualname__
        name = f"{module}.{qualname}" if module else qualname
    if not isinstance(name, str) or not name or len(name) > 255 or "\x00" in name:
        raise ValidationError(field, "must be a non-empty str of at most 255 characters "
                              "(the name recorded with what it computed)")
    return name
