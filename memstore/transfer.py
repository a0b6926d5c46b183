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
time (plus the list of chat ids and the set of user ids it met); import holds one chat's
group.

Import writes through the public ``Memory`` API, so every value is checked by the very
rules the API applies (a bad record raises :class:`RecordError` naming the line and the
field before anything of its chat is written). A complete chat is written as: the chat
row (``save_chat``), its messages (``replace_messages``: the destination's messages of
that chat are swapped for the file's, so importing twice stores nothing twice), a second
``save_chat`` when the saves moved ``updated_at`` / ``message_count`` away from the file's
values, and its working memory (an upsert). Each call is atomic; see the README for what
that means across calls (a chat interrupted between calls is finished by re-running).
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import IO, Any, TextIO

from . import validate as v
from .connect import connect
from .errors import MemstoreError, ValidationError
from .models import Message, MessageItem, WorkingMemory
from .store import Memory, working_memory_id

FORMAT = "memstore"
VERSION = 1
# What the public listing calls return at most; a listing that comes back full may be
# incomplete, and export refuses rather than leave chats out silently.
LIST_LIMIT = v.MAX_LIMIT
# One JSON line: a 16 MiB content escaped as \\uXXXX (6 bytes a character) plus the rest.
MAX_LINE_BYTES = 6 * v.HARD_MAX_CONTENT_BYTES + 64 * 1024

CHAT_KEYS = frozenset({"type", "chat_id", "row", "user_id", "title", "created_at",
                       "updated_at", "message_count", "messages", "partial"})
MESSAGE_KEYS = frozenset({"type", "chat_id", "id", "user_id", "role", "content", "timestamp"})
WM_KEYS = frozenset({"type", "scope", "chat_id", "user_id", "content", "updated_at"})
END_KEYS = frozenset({"type", "chats", "messages", "working_memories"})
HEADER_KEYS = frozenset({"format", "version", "exported_at", "source", "scope", "user_id",
                         "chat_id"})

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


def iso(dt: datetime) -> str:
    """``2026-12-01T15:29:43.535Z``: the file's datetime form."""
    return dt.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")


# -- export -----------------------------------------------------------------------------

def _full(what: str, items: list[Any]) -> None:
    if len(items) >= LIST_LIMIT:
        raise MemstoreError(
            f"export lists chats with {what}, which returns at most {LIST_LIMIT:,}; it "
            f"returned {len(items):,}, so there may be more and the export would be "
            "incomplete. memstore has no paged chat listing yet: export per user "
            "(--user) or per chat (--chat) instead")


def list_chats(mem: Memory, *, user_id: str | None = None,
               chat_id: str | None = None) -> list[tuple[str, bool]]:
    """The chats an export covers, ascending: ``(chat_id, complete)``; ``complete`` false
    for a user export's chats owned by someone else (only the user's messages go)."""
    if user_id is not None and chat_id is not None:
        raise ValidationError("chat_id", "give user_id or chat_id, not both")
    if chat_id is not None:
        chat_id = v.ident("chat_id", chat_id)
        if mem.get_chat(chat_id) is None and mem.count_messages(chat_id) == 0:
            raise MemstoreError(f"chat {chat_id!r} has no chat row and no messages")
        return [(chat_id, True)]
    rows = mem.get_chats(user_id=user_id, limit=LIST_LIMIT)
    _full("get_chats(limit=10000)", rows)
    ids = mem.chat_ids(user_id=user_id, limit=LIST_LIMIT)
    _full("chat_ids(limit=10000)", ids)
    if user_id is None:
        return [(c, True) for c in sorted({*(r.chat_id for r in rows), *ids})]
    owned = {r.chat_id for r in rows}
    return sorted([(c, True) for c in owned] + [(c, False) for c in ids if c not in owned])


def _message(m: Message) -> Record:
    return {"type": "message", "chat_id": m.chat_id, "id": m.id, "user_id": m.user_id,
            "role": m.role, "content": m.content, "timestamp": iso(m.timestamp)}


def _working_memory(wm: WorkingMemory) -> Record:
    return {"type": "working_memory", "scope": wm.scope, "chat_id": wm.chat_id,
            "user_id": wm.user_id, "content": wm.content, "updated_at": iso(wm.updated_at)}


def export_records(mem: Memory, *, user_id: str | None = None, chat_id: str | None = None,
                   chats: list[tuple[str, bool]] | None = None) -> Iterator[Record]:
    """The records of an export, header first and end record last (a generator: one
    chat's messages are read at a time). ``user_id``: a data-subject export (the user's
    chats whole, their messages in other chats, their and their chats' working memory);
    ``chat_id``: one chat and its working memory; neither: everything reachable (see
    the README for the limits). ``chats``: the listing, if already made."""
    user_id = v.optional_ident("user_id", user_id)
    if chats is None:
        chats = list_chats(mem, user_id=user_id, chat_id=chat_id)
    scope = "user" if user_id is not None else "chat" if chat_id is not None else "all"
    yield {"format": FORMAT, "version": VERSION, "exported_at": iso(v.now()),
           "source": mem.dialect, "scope": scope, "user_id": user_id, "chat_id": chat_id}
    users: set[str] = set() if user_id is None else {user_id}
    n_chats = n_messages = n_wm = 0
    for cid, complete in chats:
        if complete:
            row = mem.get_chat(cid)
            messages = mem.get_messages(cid, limit=None)
        else:
            row = None
            messages = [m for m in mem.get_messages(cid, user_id=user_id, limit=None)
                        if m.user_id == user_id]
        yield {"type": "chat", "chat_id": cid, "row": row is not None,
               "user_id": row.user_id if row else None, "title": row.title if row else None,
               "created_at": iso(row.created_at) if row else None,
               "updated_at": iso(row.updated_at) if row else None,
               "message_count": row.message_count if row else None,
               "messages": len(messages), "partial": not complete}
        n_chats += 1
        for m in messages:
            yield _message(m)
            if user_id is None and chat_id is None and m.user_id is not None:
                users.add(m.user_id)
        n_messages += len(messages)
        if user_id is None and chat_id is None and row is not None and row.user_id:
            users.add(row.user_id)
        del messages
        if complete:
            wm = mem.get_working_memory(scope="chat", chat_id=cid)
            if wm is not None:
                n_wm += 1
                yield _working_memory(wm)
    for uid in sorted(users):
        wm = mem.get_working_memory(scope="user", user_id=uid)
        if wm is not None:
            n_wm += 1
            yield _working_memory(wm)
    yield {"type": "end", "chats": n_chats, "messages": n_messages, "working_memories": n_wm}


# Characters str.splitlines() (and JavaScript's line terminators) break a line at, which
# json.dumps(ensure_ascii=False) leaves raw; escaped, any line reader sees one record a line.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _line(record: Record) -> bytes:
    text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return text.translate(_LINE_BREAKS).encode("utf-8") + b"\n"


def dump(records: Iterable[Record], out: IO[bytes]) -> Stats:
    """Write records as JSON Lines (UTF-8) to a binary stream; what was written."""
    stats = Stats()
    for r in records:
        out.write(_line(r))
        kind = r.get("type")
        if kind == "chat":
            stats.chats += 1
        elif kind == "message":
            stats.messages += 1
        elif kind == "working_memory":
            stats.working_memories += 1
    out.flush()
    stats.finished = time.monotonic()
    return stats


def export(mem: Memory, out: IO[bytes], *, user_id: str | None = None,
           chat_id: str | None = None) -> Stats:
    """Export to a binary stream (see :func:`export_records`)."""
    return dump(export_records(mem, user_id=user_id, chat_id=chat_id), out)


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
    """Writes checked chats and working memories through the public API."""

    def __init__(self, mem: Memory, clock: _Clock | None) -> None:
        self.mem = mem
        self.clock = clock

    def working_memory(self, wm: Record) -> None:
        if self.clock is not None:
            self.clock.at = wm["updated_at"]
        try:
            self.mem.update_working_memory(scope=wm["scope"], content=wm["content"],
                                           chat_id=wm["chat_id"], user_id=wm["user_id"])
        finally:
            if self.clock is not None:
                self.clock.at = None

    def chat(self, c: _Chat) -> None:
        mem = self.mem
        if c.partial:
            self._merge(c)
            return
        if c.row:
            mem.save_chat(c.chat_id, user_id=c.user_id, title=c.title,
                          created_at=c.created_at, updated_at=c.updated_at,
                          message_count=c.message_count)
        runs = _runs(c.messages)
        if not runs:
            mem.replace_messages(c.chat_id, [])
        for i, (user_id, items) in enumerate(runs):
            if i == 0:
                mem.replace_messages(c.chat_id, items, user_id=user_id)
            else:
                mem.save_messages(c.chat_id, items, user_id=user_id)
        if c.row:
            assert c.updated_at is not None
            newest = max((m[3] for m in c.messages), default=None)
            moved = newest is not None and newest > c.updated_at
            if moved or c.message_count != len(c.messages):
                mem.save_chat(c.chat_id, updated_at=c.updated_at,
                              message_count=c.message_count)

    def _merge(self, c: _Chat) -> None:
        """A partial chat (some users' messages of another user's chat): add the
        messages the destination does not hold yet, compared by (user, role, content,
        timestamp); the chat's other messages stay."""
        stored = Counter((m.user_id, m.role, m.content, m.timestamp)
                         for m in self.mem.get_messages(c.chat_id, limit=None))
        missing: list[_Msg] = []
        for m in c.messages:
            if stored[m] > 0:
                stored[m] -= 1
            else:
                missing.append(m)
        for user_id, items in _runs(missing):
            self.mem.save_messages(c.chat_id, items, user_id=user_id)


def _runs(messages: list[_Msg]) -> list[tuple[str | None, list[MessageItem]]]:
    """Consecutive messages of one user, in batches the API takes (at most 10,000)."""
    runs: list[tuple[str | None, list[MessageItem]]] = []
    for user_id, role, content, stamp in messages:
        if not runs or runs[-1][0] != user_id or len(runs[-1][1]) >= v.MAX_BATCH:
            runs.append((user_id, []))
        item: Any = {"role": role, "content": content, "timestamp": stamp}
        runs[-1][1].append(item)
    return runs


def import_records(mem: Memory | None, records: Iterable[tuple[int, Record]], *,
                   clock: _Clock | None = None, progress: Progress | None = None,
                   max_content_bytes: int = v.MAX_CONTENT_BYTES,
                   total_chats: int | None = None) -> Stats:
    """Check and write ``(line, record)`` pairs (header first). ``mem`` None only checks.
    ``progress(stats)`` is called after each chat and each working memory written; an
    exception it raises stops the import there (what was written stays: re-run)."""
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

    def flush() -> None:
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
            writer.chat(c)
            if wm is not None:
                writer.working_memory(wm)
        stats.chats += 1
        stats.messages += len(c.messages)
        stats.working_memories += wm is not None
        if progress is not None:
            progress(stats)

    for line, r in records:
        last_line = line
        if line == 1:
            continue  # the header, checked by read_records (or made by export_records)
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
            flush()
            wm = checker.working_memory(line, r)
            if writer is not None:
                writer.working_memory(wm)
            stats.working_memories += 1
            if progress is not None:
                progress(stats)
            continue
        flush()
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
    flush()
    if not end_line:
        raise RecordError(last_line + 1, "", "the file ends without its end record: it is "
                          "truncated (every chat before this line was imported whole; "
                          "import the complete file again)")
    stats.finished = time.monotonic()
    return stats


def _open_destination(target: Any, tables: Mapping[str, str] | None
                      ) -> tuple[Memory, _Clock | None, bool]:
    """(memory, its clock or None, whether we opened it)."""
    if isinstance(target, Memory):
        return target, None, False
    clock = _Clock()
    return connect(target, tables=tables, clock=clock), clock, True


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


def copy(source: Any, target: Any, *, user_id: str | None = None,
         tables: Mapping[str, str] | None = None, progress: Progress | None = None,
         init_schema: bool = True) -> Stats:
    """Copy everything (or one user's data, as exported with ``user_id``) from ``source``
    to ``target`` (URLs or connections; ``source`` may be a ``Memory``), streaming chat by
    chat. Re-running after an interruption finishes the job without duplicates."""
    src = source if isinstance(source, Memory) else connect(source, tables=tables)
    try:
        mem, clock, own = _open_destination(target, tables)
        try:
            if init_schema:
                mem.init_schema()
            chats = list_chats(src, user_id=user_id)
            records = export_records(src, user_id=user_id, chats=chats)
            return import_records(mem, enumerate(records, 1), clock=clock,
                                  progress=progress, total_chats=len(chats))
        finally:
            if own:
                mem.close()
    finally:
        if src is not source:
            src.close()


# -- progress for the command line ------------------------------------------------------

class ProgressDisplay:
    """A tqdm bar on a terminal when tqdm is installed (``memstore-sql[progress]``),
    otherwise a plain line at most every ``every`` seconds."""

    def __init__(self, stream: TextIO | None = None, *, label: str = "copied",
                 every: float = 1.0) -> None:
        self.stream = stream or sys.stdout
        self.label = label
        self.every = every
        self.last = 0.0
        self.bar: Any = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def __call__(self, stats: Stats) -> None:
        if self.tty and self.bar is None:
            try:
                tqdm = importlib.import_module("tqdm").tqdm
            except ImportError:
                self.tty = False
            else:
                self.bar = tqdm(total=stats.total_chats, unit="chat", file=self.stream,
                                desc=self.label)
        if self.bar is not None:
            self.bar.update(stats.chats - self.bar.n)
            self.bar.set_postfix(messages=stats.messages, wm=stats.working_memories,
                                 refresh=False)
            return
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            of = f"/{stats.total_chats}" if stats.total_chats is not None else ""
            print(f"{self.label} {stats.chats}{of} chats, {stats.messages} messages, "
                  f"{stats.working_memories} working memories, {stats.seconds:.1f} s",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
