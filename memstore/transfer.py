"""Moving memstore data between databases: export to JSON Lines, import from it, copy.

The file format ("memstore JSON Lines", version 1) is one JSON object per line, UTF-8,
each line ended by ``\\n`` (a line break inside a text is escaped by JSON, and U+0085,
U+2028 and U+2029 are written as ``\\u`` escapes too, so any line reader sees one record a
line). In order:

* line 1, the header: ``{"format": "memstore", "version": 1, "exported_at": ...,
  "source": "<dialect>", "scope": "all" | "user" | "chat", "user_id": ..., "chat_id": ...}``
* per chat, a group, in ascending ``chat_id`` (code point) order:

  - ``{"type": "chat", "chat_id", "row", "user_id", "title", "created_at", "updated_at",
    "message_count", "messages", "partial"}``: the chat row (``row`` false when the
    source had messages but no ``chat_sessions`` row, as a TS app writes them; the row
    fields are then null), ``messages`` how many message records follow, ``partial``
    true when they are only some of the chat's messages (a user export's messages in
    another user's chat; no row then);
  - that many ``{"type": "message", "chat_id", "id", "user_id", "role", "content",
    "timestamp"}`` in ``(timestamp, id)`` order; ``id`` is the id in the source database;
  - optionally the chat's ``{"type": "working_memory", "scope": "chat", ...}``;

* user-scope ``{"type": "working_memory", "scope": "user", "chat_id", "user_id",
  "content", "updated_at"}`` records;
* last, ``{"type": "end", "chats", "messages", "working_memories"}``: the counts, so a
  truncated file is told from a complete one.

Datetimes are ISO 8601 UTC with milliseconds (``2026-12-01T15:29:43.535Z``); contents are
the stored text exactly. Both directions stream: export holds one chat's messages at a
time plus one keyset page of chat ids (``CHAT_PAGE``), however many chats the database
has; import holds one chat's group. A full export has the user-scope working memory of
every user, also of users with no chat and no message.

Import writes through the public ``Memory`` API, so every value is checked by the very
rules the API applies (a bad record raises :class:`RecordError` naming the line and the
field before anything of its chat is written). A complete chat is written as: the chat
row (``save_chat``), its messages (``replace_messages``: the destination's messages of
that chat are swapped for the file's, so importing twice stores nothing twice), a second
``save_chat`` when the saves moved ``updated_at`` / ``message_count`` away from the file's
values, and its working memory (an upsert). Each call is atomic; see docs/transfer.md for what
that means across calls (a chat interrupted between calls is finished by re-running).

Every function has an ``AsyncMemory`` twin: ``aexport_records``, ``aexport``,
``aimport_records``, ``aimport_``, ``acopy``. Both run the same code: the export and the
import are generators that yield the API calls they need and receive the results, driven
by a loop that calls them (``Memory``) or calls and awaits them (``AsyncMemory``).
"""

from __future__ import annotations

import importlib
import inspect
import json
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import IO, Any, Protocol, TextIO, TypeVar

from . import validate as v
from .connect import connect, connect_async
from .errors import MemstoreError, ValidationError
from .models import Chat, Message, MessageItem, WorkingMemory
from .store import AsyncMemory, Memory, working_memory_id

FORMAT = "memstore"
VERSION = 1
# Chats (and user-scope working memories) an export lists per keyset page: what the
# listing holds in memory, however many chats the database has.
CHAT_PAGE = 1000
# One JSON line: a 16 MiB content escaped as \\uXXXX (6 bytes a character) plus the rest.
MAX_LINE_BYTES = 6 * v.HARD_MAX_CONTENT_BYTES + 64 * 1024

CHAT_KEYS = frozenset({"type", "chat_id", "row", "user_id", "title", "created_at",
                       "updated_at", "message_count", "messages", "partial"})
MESSAGE_KEYS = frozenset({"type", "chat_id", "id", "user_id", "role", "content", "timestamp"})
WM_KEYS = frozenset({"type", "scope", "chat_id", "user_id", "content", "updated_at"})
END_KEYS = frozenset({"type", "chats", "messages", "working_memories"})
HEADER_KEYS = frozenset({"format", "version", "exported_at", "source", "scope", "user_id",
                         "chat_id"})

T = TypeVar("T")
Record = dict[str, Any]
Progress = Callable[["Stats"], None]


class RecordError(ValidationError):
    """A record of an import that breaks a rule: ``line`` (1-based), ``field`` (the
    record's key) and ``reason``. Nothing of the chat that record belongs to was written."""

    def __init__(self, line: int, field: str, reason: str) -> None:
        super().__init__(field, reason)
        self.line = line
        self.args = (f"line {line}: {field}: {reason}" if field else f"line {line}: {reason}",)


@dataclass
class Stats:
    """What an export, import or copy moved so far."""

    chats: int = 0
    messages: int = 0
    working_memories: int = 0
    total_chats: int | None = None  # known for export and copy (from the chat listing)
    started: float = field(default_factory=time.monotonic)
    finished: float | None = None

    @property
    def seconds(self) -> float:
        return (self.finished or time.monotonic()) - self.started

    def summary(self, verb: str) -> str:
        return (f"{verb} {self.chats} chats, {self.messages} messages, "
                f"{self.working_memories} working memories in {self.seconds:.1f} s")

    def progress(self) -> tuple[int, int | None, dict[str, int]]:
        """For :class:`ProgressDisplay`: chats done, of how many, the other counts."""
        return self.chats, self.total_chats, {"messages": self.messages,
                                              "working memories": self.working_memories}


def iso(dt: datetime) -> str:
    """``2026-12-01T15:29:43.535Z``: the file's datetime form."""
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


# -- one implementation, two drivers ----------------------------------------------------
#
# Export, import and copy are written once, as generators ("steps") that yield calls of the
# memory's API (``partial(mem.get_chat, chat_id)``) and receive their results; an export
# also yields its records. The sync driver calls each call (``Memory``); the async one calls
# and awaits it (``AsyncMemory``). The same code runs for both, so they cannot drift.

Call = Callable[[], Any]
Steps = Generator[Call, Any, T]
ExportSteps = Generator["Call | Record", Any, None]
# Where an import reads its records: (line, record) pairs, and during a copy also the
# export's calls, which the import passes on to its driver.
Source = Generator["Call | tuple[int, Record]", Any, None]
AnyMemory = Memory | AsyncMemory


def _run_sync(steps: Generator[Any, Any, T]) -> Generator[Any, None, T]:
    """Drive ``steps`` on a ``Memory``: make every call it yields, send it the result (or
    throw in the exception, so its cleanup runs); yield what else it yields."""
    send: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = steps.send(send) if error is None else steps.throw(error)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            send = error = None
            if not callable(item):
                yield item
                continue
            try:
                send = item()
            except BaseException as exc:  # handed to the steps
                error = exc
    finally:
        steps.close()


def _drive(steps: Steps[T]) -> T:
    gen = _run_sync(steps)
    try:
        item = next(gen)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    raise AssertionError(f"steps yielded {item!r}, not a call")


async def _run_async(steps: Generator[Any, Any, Any],
                     result: list[Any] | None = None) -> AsyncIterator[Any]:
    """:func:`_run_sync` on an ``AsyncMemory`` (each call awaited); the steps' value is
    appended to ``result``."""
    send: Any = None
    error: BaseException | None = None
    try:
        while True:
            try:
                item = steps.send(send) if error is None else steps.throw(error)
            except StopIteration as stop:
                if result is not None:
                    result.append(stop.value)
                return
            send = error = None
            if not callable(item):
                yield item
                continue
            try:
                send = item()
                if inspect.isawaitable(send):
                    send = await send
            except BaseException as exc:  # handed to the steps
                error = exc
    finally:
        steps.close()


async def _adrive(steps: Steps[T]) -> T:
    result: list[T] = []
    async for item in _run_async(steps, result):
        raise AssertionError(f"steps yielded {item!r}, not a call")
    return result[0]


def _sync_memory(mem: object, field: str, instead: str) -> Memory:
    if isinstance(mem, AsyncMemory):
        raise ValidationError(field, f"is an AsyncMemory; use transfer.{instead} with it")
    if not isinstance(mem, Memory):
        raise ValidationError(field, f"must be a memstore.Memory; got {type(mem).__name__}")
    return mem


def _async_memory(mem: object, field: str, instead: str) -> AsyncMemory:
    if isinstance(mem, Memory):
        raise ValidationError(field, f"is a Memory; use transfer.{instead} with it")
    if not isinstance(mem, AsyncMemory):
        raise ValidationError(field, f"must be a memstore.AsyncMemory; got "
                              f"{type(mem).__name__}")
    return mem


# -- export -----------------------------------------------------------------------------

def _chat_page(mem: AnyMemory, user_id: str | None, after: str | None) -> Call:
    """One keyset page of the chats an export covers: ``[(chat_id, whole)]``."""
    return partial(mem._run, mem._export_chats(user_id, after, CHAT_PAGE))


def _count_steps(mem: AnyMemory, user_id: str | None) -> Steps[int]:
    """How many chats an export covers (a copy's progress total), page by page."""
    total, after = 0, None
    while True:
        page = yield _chat_page(mem, user_id, after)
        total += len(page)
        if len(page) < CHAT_PAGE:
            return total
        after = page[-1][0]


def _message(m: Message) -> Record:
    return {"type": "message", "chat_id": m.chat_id, "id": m.id, "user_id": m.user_id,
            "role": m.role, "content": m.content, "timestamp": iso(m.timestamp)}


def _working_memory(wm: WorkingMemory) -> Record:
    return {"type": "working_memory", "scope": wm.scope, "chat_id": wm.chat_id,
            "user_id": wm.user_id, "content": wm.content, "updated_at": iso(wm.updated_at)}


def _chat_group(mem: AnyMemory, cid: str, whole: bool, user_id: str | None,
                counts: Stats) -> ExportSteps:
    """A chat's records: its chat record, its messages, its working memory."""
    if whole:
        row = yield partial(mem.get_chat, cid)
        messages = yield partial(mem.get_messages, cid, limit=None)
    else:
        row = None
        messages = [m for m in (yield partial(mem.get_messages, cid, user_id=user_id,
                                              limit=None))
                    if m.user_id == user_id]
    yield {"type": "chat", "chat_id": cid, "row": row is not None,
           "user_id": row.user_id if row else None, "title": row.title if row else None,
           "created_at": iso(row.created_at) if row else None,
           "updated_at": iso(row.updated_at) if row else None,
           "message_count": row.message_count if row else None,
           "messages": len(messages), "partial": not whole}
    counts.chats += 1
    for m in messages:
        yield _message(m)
    counts.messages += len(messages)
    del messages
    if whole:
        wm = yield partial(mem.get_working_memory, scope="chat", chat_id=cid)
        if wm is not None:
            counts.working_memories += 1
            yield _working_memory(wm)


def _export_steps(mem: AnyMemory, user_id: str | None, chat_id: str | None) -> ExportSteps:
    user_id = v.optional_ident("user_id", user_id)
    if user_id is not None and chat_id is not None:
        raise ValidationError("chat_id", "give user_id or chat_id, not both")
    if chat_id is not None:
        chat_id = v.ident("chat_id", chat_id)
        if ((yield partial(mem.get_chat, chat_id)) is None
                and (yield partial(mem.count_messages, chat_id)) == 0
                and (yield partial(mem.get_working_memory, scope="chat",
                                   chat_id=chat_id)) is None):
            raise MemstoreError(f"chat {chat_id!r} has no chat row, no messages and no "
                                "working memory")
    scope = "user" if user_id is not None else "chat" if chat_id is not None else "all"
    yield {"format": FORMAT, "version": VERSION, "exported_at": iso(v.now()),
           "source": mem.dialect, "scope": scope, "user_id": user_id, "chat_id": chat_id}
    counts = Stats()
    if chat_id is not None:
        yield from _chat_group(mem, chat_id, True, None, counts)
    else:
        # keyset pages of CHAT_PAGE chats: the listing holds one page, however many chats
        after: str | None = None
        while True:
            page = yield _chat_page(mem, user_id, after)
            for cid, whole in page:
                yield from _chat_group(mem, cid, whole, user_id, counts)
            if len(page) < CHAT_PAGE:
                break
            after = page[-1][0]
    if user_id is not None:
        wm = yield partial(mem.get_working_memory, scope="user", user_id=user_id)
        if wm is not None:
            counts.working_memories += 1
            yield _working_memory(wm)
    elif chat_id is None:  # every user's, whether or not they have chats or messages
        wm_after = "user:"
        while True:
            rows = yield partial(mem._run, mem._user_working_memories(wm_after, CHAT_PAGE))
            for _, user_wm in rows:
                counts.working_memories += 1
                yield _working_memory(user_wm)
            if len(rows) < CHAT_PAGE:
                break
            wm_after = rows[-1][0]
    yield {"type": "end", "chats": counts.chats, "messages": counts.messages,
           "working_memories": counts.working_memories}


def export_records(mem: Memory, *, user_id: str | None = None,
                   chat_id: str | None = None) -> Iterator[Record]:
    """The records of an export, header first and end record last (a generator: one
    chat's messages are read at a time). ``user_id``: a data-subject export (the user's
    chats whole, their messages in other chats, their and their chats' working memory);
    ``chat_id``: one chat and its working memory; neither: everything reachable (see
    docs/transfer.md)."""
    return _run_sync(_export_steps(_sync_memory(mem, "mem", "aexport_records"),
                                   user_id, chat_id))


def aexport_records(mem: AsyncMemory, *, user_id: str | None = None,
                    chat_id: str | None = None) -> AsyncIterator[Record]:
    """:func:`export_records` for an ``AsyncMemory``: ``async for record in ...``."""
    return _run_async(_export_steps(_async_memory(mem, "mem", "export_records"),
                                    user_id, chat_id))


# Characters str.splitlines() (and JavaScript's line terminators) break a line at, which
# json.dumps(ensure_ascii=False) leaves raw; escaped, any line reader sees one record a line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def record_line(record: Record) -> bytes:
    """One record as a line of the file: UTF-8 JSON, line breaks escaped, "\\n" ended."""
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_LINE_BREAKS).encode("utf-8") + b"\n"


def _count(stats: Stats, record: Record) -> None:
    kind = record.get("type")
    if kind == "chat":
        stats.chats += 1
    elif kind == "message":
        stats.messages += 1
    elif kind == "working_memory":
        stats.working_memories += 1


def dump(records: Iterable[Record], out: IO[bytes]) -> Stats:
    """Write records as JSON Lines (UTF-8) to a binary stream; what was written."""
    stats = Stats()
    for r in records:
        out.write(record_line(r))
        _count(stats, r)
    out.flush()
    stats.finished = time.monotonic()
    return stats


def export(mem: Memory, out: IO[bytes], *, user_id: str | None = None,
           chat_id: str | None = None) -> Stats:
    """Export to a binary stream (see :func:`export_records`)."""
    return dump(export_records(mem, user_id=user_id, chat_id=chat_id), out)


async def aexport(mem: AsyncMemory, out: IO[bytes], *, user_id: str | None = None,
                  chat_id: str | None = None) -> Stats:
    """:func:`export` for an ``AsyncMemory`` (``out`` is written with blocking calls, as
    a file is)."""
    stats = Stats()
    async for r in aexport_records(mem, user_id=user_id, chat_id=chat_id):
        out.write(record_line(r))
        _count(stats, r)
    out.flush()
    stats.finished = time.monotonic()
    return stats


# -- reading a file ---------------------------------------------------------------------

def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise ValueError(f"the key {k!r} appears twice")
            seen.add(k)
    return d


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_records(stream: IO[bytes]) -> Iterator[tuple[int, Record]]:
    """``(line number, record)`` for every line of a memstore JSON Lines stream; a line
    that is not a JSON object raises :class:`RecordError`. The header is checked here."""
    lineno = 0
    while True:
        raw = stream.readline(MAX_LINE_BYTES + 1)
        if not raw:
            if lineno == 0:
                raise RecordError(1, "", "the file is empty; expected the memstore header")
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES:
            raise RecordError(lineno, "", f"is longer than {MAX_LINE_BYTES:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RecordError(lineno, "", f"is not UTF-8 (byte {exc.start})") from None
        if not text.strip():
            raise RecordError(lineno, "", "is empty; every line is one JSON record")
        try:
            record = json.loads(text, object_pairs_hook=_no_duplicate_keys,
                                parse_constant=_no_constant)
        except ValueError as exc:  # json.JSONDecodeError too
            hint = "" if raw.endswith(b"\n") else " (the file ends mid-line: truncated?)"
            raise RecordError(lineno, "", f"is not valid JSON: {exc}{hint}") from None
        except RecursionError:
            raise RecordError(lineno, "", v.NESTED_TOO_DEEPLY) from None
        if not isinstance(record, dict):
            raise RecordError(lineno, "", f"must be a JSON object; got {type(record).__name__}")
        if lineno == 1:
            _check_header(record)
        yield lineno, record


def _check_header(h: Record) -> None:
    if h.get("format") != FORMAT:
        raise RecordError(1, "format", f"must be {FORMAT!r}: this is not a memstore export "
                          f"(got {h.get('format')!r})")
    if h.get("version") != VERSION:
        raise RecordError(1, "version", f"is {h.get('version')!r}; this memstore reads "
                          f"version {VERSION}")
    unknown = sorted(h.keys() - HEADER_KEYS)
    if unknown:
        raise RecordError(1, "", f"the header has unknown keys {unknown}")


# -- import -----------------------------------------------------------------------------

class _Clock:
    """The destination's clock: now, or the instant a working memory must keep as its
    ``updated_at`` (the API stamps an update with its clock)."""

    def __init__(self) -> None:
        self.at: datetime | None = None

    def __call__(self) -> datetime:
        return self.at if self.at is not None else v.now()


_Msg = tuple[str | None, str, str, datetime]


@dataclass
class _Chat:
    line: int
    chat_id: str
    row: bool
    user_id: str | None
    title: str | None
    created_at: datetime | None
    updated_at: datetime | None
    message_count: int | None
    expected: int
    partial: bool
    messages: list[_Msg] = field(default_factory=list)  # (user_id, role, content, time)
    ids: dict[int, int] = field(default_factory=dict)  # source id -> line
    wm: tuple[int, Record] | None = None


class _Checker:
    """Checks records with the API's rules; field errors become RecordError(line, key)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes

    @staticmethod
    def keys(line: int, r: Record, allowed: frozenset[str]) -> None:
        unknown = sorted(r.keys() - allowed)
        if unknown:
            raise RecordError(line, "", f"has unknown keys {unknown}")
        missing = sorted(allowed - r.keys())
        if missing:
            raise RecordError(line, missing[0], "is required")

    @staticmethod
    def call(line: int, check: Callable[..., Any], key: str, *args: Any) -> Any:
        try:
            return check(key, *args)
        except ValidationError as exc:
            raise RecordError(line, exc.field or key, exc.reason) from None

    def instant(self, line: int, key: str, value: object) -> datetime:
        if not isinstance(value, str):
            raise RecordError(line, key, "must be an ISO 8601 string like "
                              f"2026-12-01T15:29:43.535Z; got {type(value).__name__}")
        try:
            parsed = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z")
                                            else value)
        except ValueError:
            raise RecordError(line, key, f"is not an ISO 8601 datetime: {value[:40]!r}") \
                from None
        return self.call(line, v.instant, key, parsed)  # type: ignore[no-any-return]

    def text_content(self, line: int, key: str, value: object) -> str:
        if not isinstance(value, str):  # the stored text exactly, never a JSON value
            raise RecordError(line, key, f"must be a str; got {type(value).__name__}")
        return self.call(line, v.content, key, value, self.max_bytes)  # type: ignore[no-any-return]

    def flag(self, line: int, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            raise RecordError(line, key, f"must be true or false; got {value!r}")
        return value

    def chat(self, line: int, r: Record) -> _Chat:
        self.keys(line, r, CHAT_KEYS)
        chat_id = self.call(line, v.ident, "chat_id", r["chat_id"])
        row = self.flag(line, "row", r["row"])
        partial = self.flag(line, "partial", r["partial"])
        expected = self.call(line, v.bounded_int, "messages", r["messages"], 0, v.MAX_ID)
        fields = ("user_id", "title", "created_at", "updated_at", "message_count")
        if not row:
            for key in fields:
                if r[key] is not None:
                    raise RecordError(line, key, "must be null when row is false")
            return _Chat(line, chat_id, False, None, None, None, None, None, expected, partial)
        if partial:
            raise RecordError(line, "partial", "a chat with its row is never partial")
        title = r["title"]
        return _Chat(
            line, chat_id, True, self.call(line, v.optional_ident, "user_id", r["user_id"]),
            None if title is None else self.call(line, v.title, "title", title),
            self.instant(line, "created_at", r["created_at"]),
            self.instant(line, "updated_at", r["updated_at"]),
            self.call(line, v.bounded_int, "message_count", r["message_count"], 0,
                      v.MAX_MESSAGE_COUNT),
            expected, False)

    def message(self, line: int, r: Record, chat: _Chat | None) -> None:
        self.keys(line, r, MESSAGE_KEYS)
        chat_id = self.call(line, v.ident, "chat_id", r["chat_id"])
        if chat is None or chat_id != chat.chat_id:
            raise RecordError(line, "chat_id", f"{chat_id!r}: a message must follow its "
                              "chat record (and the chat's other messages)")
        if len(chat.messages) >= chat.expected:
            raise RecordError(line, "", f"chat {chat.chat_id!r} declares {chat.expected} "
                              f"messages (line {chat.line}); this is one more")
        source_id = self.call(line, v.message_id, "id", r["id"])
        if source_id in chat.ids:
            raise RecordError(line, "id", f"{source_id} appears twice in chat "
                              f"{chat.chat_id!r} (lines {chat.ids[source_id]} and {line})")
        chat.ids[source_id] = line
        chat.messages.append((self.call(line, v.optional_ident, "user_id", r["user_id"]),
                              self.call(line, v.role, "role", r["role"]),
                              self.text_content(line, "content", r["content"]),
                              self.instant(line, "timestamp", r["timestamp"])))

    def working_memory(self, line: int, r: Record) -> Record:
        self.keys(line, r, WM_KEYS)
        scope = self.call(line, v.scope, "scope", r["scope"])
        chat_id = self.call(line, v.optional_ident, "chat_id", r["chat_id"])
        user_id = self.call(line, v.optional_ident, "user_id", r["user_id"])
        try:
            working_memory_id(scope, chat_id, user_id)
        except ValidationError as exc:
            raise RecordError(line, exc.field, exc.reason) from None
        return {"scope": scope, "chat_id": chat_id, "user_id": user_id,
                "content": self.text_content(line, "content", r["content"]),
                "updated_at": self.instant(line, "updated_at", r["updated_at"])}


class _Writer:
    """Writes checked chats and working memories through the public API (steps: see
    "one implementation, two drivers")."""

    def __init__(self, mem: AnyMemory, clock: _Clock | None) -> None:
        self.mem = mem
        self.clock = clock

    def working_memory(self, wm: Record) -> Steps[None]:
        if self.clock is not None:
            self.clock.at = wm["updated_at"]
        try:
            yield partial(self.mem.update_working_memory, scope=wm["scope"],
                          content=wm["content"], chat_id=wm["chat_id"], user_id=wm["user_id"])
        finally:
            if self.clock is not None:
                self.clock.at = None

    def chat(self, c: _Chat, wm: Record | None) -> Steps[None]:
        """A whole chat (its row, messages and working memory) in one transaction; a
        partial one (no row, no working memory) merged into what the destination has."""
        if c.partial:
            yield from self._merge(c)
            return
        mem = self.mem
        row = None
        if c.row:
            assert c.created_at is not None and c.updated_at is not None
            row = Chat(c.chat_id, c.user_id, c.title, c.created_at, c.updated_at,
                       c.message_count or 0)
        memory = None if wm is None else WorkingMemory(
            "chat", c.chat_id, wm["user_id"], wm["content"], wm["updated_at"])
        items = [(user_id, {"role": role, "content": content, "timestamp": stamp})
                 for user_id, role, content, stamp in c.messages]
        yield partial(mem._run, mem._import_chat(c.chat_id, row, items, memory))

    def _merge(self, c: _Chat) -> Steps[None]:
        """A partial chat (some users' messages of another user's chat): add the
        messages the destination does not hold yet, compared by (user, role, content,
        timestamp); the chat's other messages stay."""
        have = yield partial(self.mem.get_messages, c.chat_id, limit=None)
        stored = Counter((m.user_id, m.role, m.content, m.timestamp) for m in have)
        del have
        missing: list[_Msg] = []
        for m in c.messages:
            if stored[m] > 0:
                stored[m] -= 1
            else:
                missing.append(m)
        for user_id, items in _runs(missing):
            yield partial(self.mem.save_messages, c.chat_id, items, user_id=user_id)


def _runs(messages: list[_Msg]) -> list[tuple[str | None, list[MessageItem]]]:
    """Consecutive messages of one user, in batches the API takes (at most 10,000)."""
    runs: list[tuple[str | None, list[MessageItem]]] = []
    for user_id, role, content, stamp in messages:
        if not runs or runs[-1][0] != user_id or len(runs[-1][1]) >= v.MAX_BATCH:
            runs.append((user_id, []))
        item: Any = {"role": role, "content": content, "timestamp": stamp}
        runs[-1][1].append(item)
    return runs


def _source(records: Iterable[tuple[int, Record]]) -> Source:
    yield from records


def _exported(steps: ExportSteps) -> Source:
    """An export's records numbered as the lines of its file, its calls passed on."""
    line = 0
    send: Any = None
    while True:
        try:
            item = steps.send(send)
        except StopIteration:
            return
        send = None
        if callable(item):
            send = yield item
        else:
            line += 1
            yield line, item


def _import_steps(mem: AnyMemory | None, source: Source, *, clock: _Clock | None = None,
                  progress: Progress | None = None,
                  max_content_bytes: int = v.MAX_CONTENT_BYTES,
                  total_chats: int | None = None) -> Steps[Stats]:
    if mem is not None:  # the destination's own limit (connect(max_content_bytes=))
        max_content_bytes = getattr(mem, "_max_bytes", max_content_bytes)
    checker = _Checker(max_bytes=max_content_bytes)
    writer = _Writer(mem, clock) if mem is not None else None
    stats = Stats(total_chats=total_chats)
    seen = Stats()  # counts of the records read, checked against the end record
    pending: _Chat | None = None
    last_chat_id: str | None = None
    end_line = 0
    last_line = 0

    def flush() -> Steps[None]:
        nonlocal pending
        c = pending
        if c is None:
            return
        pending = None
        if len(c.messages) != c.expected:
            raise RecordError(c.line, "messages", f"chat {c.chat_id!r} declares {c.expected} "
                              f"messages but {len(c.messages)} follow (truncated or edited)")
        wm = checker.working_memory(*c.wm) if c.wm else None
        if writer is not None:
            yield from writer.chat(c, wm)
        stats.chats += 1
        stats.messages += len(c.messages)
        stats.working_memories += wm is not None
        if progress is not None:
            progress(stats)

    send: Any = None
    while True:
        try:
            item = source.send(send)
        except StopIteration:
            break
        send = None
        if callable(item):  # a copy's export reading the source: pass it on
            send = yield item
            continue
        line, r = item
        last_line = line
        if line == 1:
            continue  # the header, checked by read_records (or made by the export)
        if end_line:
            raise RecordError(line, "", f"follows the end record (line {end_line})")
        kind = r.get("type")
        if kind == "message":
            checker.message(line, r, pending)
            seen.messages += 1
            continue
        if kind == "working_memory":
            seen.working_memories += 1
            if (pending is not None and pending.wm is None and not pending.partial
                    and r.get("scope") == "chat" and r.get("chat_id") == pending.chat_id):
                pending.wm = (line, r)  # written with its chat, after it is checked
                continue
            yield from flush()
            wm = checker.working_memory(line, r)
            if writer is not None:
                yield from writer.working_memory(wm)
            stats.working_memories += 1
            if progress is not None:
                progress(stats)
            continue
        yield from flush()
        if kind == "chat":
            c = checker.chat(line, r)
            if last_chat_id is not None and not c.chat_id > last_chat_id:
                raise RecordError(line, "chat_id", f"{c.chat_id!r} comes after "
                                  f"{last_chat_id!r}: chats must be in ascending chat_id "
                                  "order, each once (as export writes them)")
            last_chat_id = c.chat_id
            seen.chats += 1
            pending = c
        elif kind == "end":
            checker.keys(line, r, END_KEYS)
            for key, count in (("chats", seen.chats), ("messages", seen.messages),
                               ("working_memories", seen.working_memories)):
                if r[key] != count:
                    raise RecordError(line, key, f"says {r[key]!r} but the file has {count}")
            end_line = line
        else:
            raise RecordError(line, "type", f"must be chat, message, working_memory or end; "
                              f"got {kind!r}")
    yield from flush()
    if not end_line:
        raise RecordError(last_line + 1, "", "the file ends without its end record: it is "
                          "truncated (every chat before this line was imported whole; "
                          "import the complete file again)")
    stats.finished = time.monotonic()
    return stats


def import_records(mem: Memory | None, records: Iterable[tuple[int, Record]], *,
                   clock: _Clock | None = None, progress: Progress | None = None,
                   max_content_bytes: int = v.MAX_CONTENT_BYTES,
                   total_chats: int | None = None) -> Stats:
    """Check and write ``(line, record)`` pairs (header first). ``mem`` None only checks.
    ``progress(stats)`` is called after each chat and each working memory written; an
    exception it raises stops the import there (what was written stays: re-run)."""
    if mem is not None:
        _sync_memory(mem, "mem", "aimport_records")
    return _drive(_import_steps(mem, _source(records), clock=clock, progress=progress,
                                max_content_bytes=max_content_bytes,
                                total_chats=total_chats))


async def aimport_records(mem: AsyncMemory | None, records: Iterable[tuple[int, Record]], *,
                          clock: _Clock | None = None, progress: Progress | None = None,
                          max_content_bytes: int = v.MAX_CONTENT_BYTES,
                          total_chats: int | None = None) -> Stats:
    """:func:`import_records` into an ``AsyncMemory``."""
    if mem is not None:
        _async_memory(mem, "mem", "import_records")
    return await _adrive(_import_steps(mem, _source(records), clock=clock, progress=progress,
                                       max_content_bytes=max_content_bytes,
                                       total_chats=total_chats))


def _open_destination(target: Any, tables: Mapping[str, str] | None
                      ) -> tuple[Memory, _Clock | None, bool]:
    """(memory, its clock or None, whether we opened it)."""
    if isinstance(target, (Memory, AsyncMemory)):
        return _sync_memory(target, "target", "aimport_ or acopy"), None, False
    clock = _Clock()
    return connect(target, tables=tables, clock=clock), clock, True


async def _aopen_destination(target: Any, tables: Mapping[str, str] | None
                             ) -> tuple[AsyncMemory, _Clock | None, bool]:
    if isinstance(target, (Memory, AsyncMemory)):
        return _async_memory(target, "target", "import_ or copy"), None, False
    clock = _Clock()
    return await connect_async(target, tables=tables, clock=clock), clock, True


def import_(target: Any, stream: IO[bytes], *, tables: Mapping[str, str] | None = None,
            check_only: bool = False, progress: Progress | None = None,
            init_schema: bool = True) -> Stats:
    """Import a memstore JSON Lines stream into ``target`` (a URL or connection as
    :func:`memstore.connect` takes, or a ``Memory``; with a ``Memory`` you opened, a
    working memory's ``updated_at`` becomes the time of the import, as memstore stamps
    updates with its clock). ``check_only``: read and check everything, write nothing."""
    if check_only:
        return import_records(None, read_records(stream), progress=progress)
    mem, clock, own = _open_destination(target, tables)
    try:
        if init_schema:
            mem.init_schema()
        return import_records(mem, read_records(stream), clock=clock, progress=progress)
    finally:
        if own:
            mem.close()


async def aimport_(target: Any, stream: IO[bytes], *, tables: Mapping[str, str] | None = None,
                   check_only: bool = False, progress: Progress | None = None,
                   init_schema: bool = True) -> Stats:
    """:func:`import_` through ``AsyncMemory``: ``target`` is a URL or connection as
    :func:`memstore.connect_async` takes, or an ``AsyncMemory``. ``stream`` is read with
    blocking calls, as a file is."""
    if check_only:
        return import_records(None, read_records(stream), progress=progress)
    mem, clock, own = await _aopen_destination(target, tables)
    try:
        if init_schema:
            await mem.init_schema()
        return await aimport_records(mem, read_records(stream), clock=clock,
                                     progress=progress)
    finally:
        if own:
            await mem.aclose()


def _copy_steps(src: AnyMemory, dst: AnyMemory, clock: _Clock | None, user_id: str | None,
                progress: Progress | None) -> Steps[Stats]:
    total = yield from _count_steps(src, v.optional_ident("user_id", user_id))
    return (yield from _import_steps(dst, _exported(_export_steps(src, user_id, None)),
                                     clock=clock, progress=progress, total_chats=total))


def copy(source: Any, target: Any, *, user_id: str | None = None,
         tables: Mapping[str, str] | None = None, progress: Progress | None = None,
         init_schema: bool = True) -> Stats:
    """Copy everything (or one user's data, as exported with ``user_id``) from ``source``
    to ``target`` (URLs or connections; ``source`` may be a ``Memory``), streaming chat by
    chat. Re-running after an interruption finishes the job without duplicates."""
    if isinstance(source, (Memory, AsyncMemory)):
        src = _sync_memory(source, "source", "acopy")
    else:
        src = connect(source, tables=tables)
    try:
        mem, clock, own = _open_destination(target, tables)
        try:
            if init_schema:
                mem.init_schema()
            return _drive(_copy_steps(src, mem, clock, user_id, progress))
        finally:
            if own:
                mem.close()
    finally:
        if src is not source:
            src.close()


async def acopy(source: Any, target: Any, *, user_id: str | None = None,
                tables: Mapping[str, str] | None = None, progress: Progress | None = None,
                init_schema: bool = True) -> Stats:
    """:func:`copy` through ``AsyncMemory`` (``source`` and ``target``: URLs or
    connections as :func:`memstore.connect_async` takes, or ``AsyncMemory`` objects)."""
    if isinstance(source, (Memory, AsyncMemory)):
        src = _async_memory(source, "source", "copy")
    else:
        src = await connect_async(source, tables=tables)
    try:
        mem, clock, own = await _aopen_destination(target, tables)
        try:
            if init_schema:
                await mem.init_schema()
            return await _adrive(_copy_steps(src, mem, clock, user_id, progress))
        finally:
            if own:
                await mem.aclose()
    finally:
        if src is not source:
            await src.aclose()


# -- progress for the command line ------------------------------------------------------

class Countable(Protocol):
    """What :class:`ProgressDisplay` shows: :class:`Stats` (export, import, copy) and
    :class:`memstore.migrate.MigrateStats` (migrate-from)."""

    @property
    def seconds(self) -> float: ...

    def progress(self) -> tuple[int, int | None, dict[str, int]]: ...


class ProgressDisplay:
    """A tqdm bar on a terminal when tqdm is installed (``memstore-sql[progress]``),
    otherwise a plain line at most every ``every`` seconds (``copied 3/10 chats, 40
    messages, 2 working memories, 0.5 s``). ``unit``: what is counted (chat, session)."""

    def __init__(self, stream: TextIO | None = None, *, label: str = "copied",
                 every: float = 1.0, unit: str = "chat") -> None:
        self.stream = stream or sys.stdout
        self.label = label
        self.every = every
        self.unit = unit
        self.last = 0.0
        self.bar: Any = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.latest: Countable | None = None  # the last stats seen
        self.shown: tuple[int, dict[str, int]] | None = None  # what the last line said

    def __call__(self, stats: Countable) -> None:
        self.latest = stats
        done, total, counts = stats.progress()
        if self.tty and self.bar is None:
            try:
                tqdm = importlib.import_module("tqdm").tqdm
            except ImportError:
                self.tty = False
            else:
                self.bar = tqdm(total=total, unit=self.unit, file=self.stream,
                                desc=self.label)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
            self.bar.set_postfix(counts, refresh=False)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(stats)

    def _line(self, stats: Countable) -> None:
        done, total, counts = stats.progress()
        self.shown = (done, dict(counts))
        of = f"/{total}" if total is not None else ""
        others = "".join(f", {n} {name}" for name, n in counts.items())
        print(f"{self.label} {done}{of} {self.unit}s{others}, {stats.seconds:.1f} s",
              file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        elif self.latest is not None and self.shown is not None:
            # The last line printed may be up to `every` seconds old (the user-scope
            # working memories come after the last chat): end on the final counts, so the
            # last progress line agrees with the summary printed after it.
            done, _, counts = self.latest.progress()
            if (done, dict(counts)) != self.shown:
                self._line(self.latest)
