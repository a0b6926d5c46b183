"""``Memory`` and ``AsyncMemory``: the public API, twins that cannot drift.

``Operations`` holds every operation once: it validates every input (before any SQL runs)
and returns the dialect's plan for it (see ``memstore.plan``). ``Memory`` drives the plan
with a blocking runner, ``AsyncMemory`` awaits an async one; each public method is the
same two lines in both. This module holds the rules (ids, defaults, what a search
matches); it holds no SQL.
"""

from __future__ import annotations

import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Literal, NamedTuple, TypeVar

from . import validate as v
from .adapters.base import AsyncRunner, ChatImport, Dialect, Runner
from .budget import TokenCounter, budget_plan, counter_name, default_counter
from .errors import ClosedError, ValidationError
from .models import (
    Chat,
    Content,
    Message,
    MessageItem,
    NewMessage,
    Role,
    Scope,
    WorkingMemory,
    message_from_row,
)
from .plan import Plan, Retry, arun, done, run
from .recall import (
    MAX_CONTEXT,
    MAX_QUERY_CHARS,
    MODES,
    Embed,
    Embedder,
    Mode,
    Progress,
    Search,
    SearchHit,
    SearchScope,
    embed_async,
    index_plan,
    model_name,
    search_plan,
    terms,
)

T = TypeVar("T")
_MS = timedelta(milliseconds=1)
# The timestamp of a message given without one while its batch is validated (see _batch).
_UNSTAMPED = v.MIN_INSTANT
# How often a call in memstore's own transaction that lost a conflict runs again: by
# default (retries=None) as often as it takes for RETRY_DEADLINE seconds after the first
# conflict (pauses of 2.5-5 ms doubling up to 0.1-0.2 s, jittered); retries=N runs it
# again at most N times; retry_deadline= sets the deadline (both: whichever comes first).
RETRIES: int | None = None
RETRY_DEADLINE = 5.0


def retry_policy(retries: int | None, retry_deadline: float | None) -> Retry:
    """The ``Retry`` for ``connect(retries=, retry_deadline=)``, validated."""
    attempts = None if retries is None else v.bounded_int("retries", retries, 0, 100) + 1
    if retry_deadline is not None:
        deadline: float | None = v.seconds("retry_deadline", retry_deadline,
                                           what="retry_deadline")
    else:
        deadline = RETRY_DEADLINE if retries is None else None
    return Retry(attempts=attempts, deadline=deadline)

Clock = Callable[[], datetime]
# A message's status (memstore's status table, for LlamaIndex's AsyncDBChatStore): every
# message is "active" until archive_messages makes it "archived".
MessageStatus = Literal["active", "archived"]


def working_memory_id(scope: str, chat_id: str | None, user_id: str | None) -> tuple[str, str]:
    """The row id the TS package uses, ``chat:<chat_id>`` or ``user:<user_id>``, and the
    field it came from. The id part is required (the TS package would store the literal
    ``user:undefined``)."""
    if scope == "chat":
        if chat_id is None:
            raise ValidationError("chat_id", "is required when scope is 'chat'")
        return f"chat:{chat_id}", "chat_id"
    if user_id is None:
        raise ValidationError("user_id", "is required when scope is 'user'")
    return f"user:{user_id}", "user_id"


def title_matcher(search: str) -> Callable[[str], bool]:
    """Case-insensitive substring match, done in Python so every backend agrees
    (SQL LIKE/ILIKE fold case differently per database and collation, and treat % and _
    as wildcards)."""
    needle = search.casefold()
    return lambda title: needle in title.casefold()


def _items(messages: Any, *, allow_empty: bool) -> list[Any]:
    """The ``messages`` argument of a save as a list (not yet validated item by item)."""
    if type(messages) is list:  # the usual argument; the ABC checks below are slow
        items = messages.copy()
    elif isinstance(messages, (str, bytes, Mapping)) or not isinstance(messages, Iterable):
        raise ValidationError("messages", "must be a list of mappings; got "
                              + type(messages).__name__)
    else:
        items = list(messages)
    if not items and not allow_empty:
        raise ValidationError("messages", "must not be empty")
    if len(items) > v.MAX_BATCH:
        raise ValidationError(
            "messages", f"has {len(items)} items; the maximum is {v.MAX_BATCH}")
    return items


def _item_field(field: str, index: int, inner: str) -> str:
    """The field of an error in one item of a batch: ``messages[3].role``, or
    ``messages[3]`` for the item itself. (save_message names its arguments: _save_one.)"""
    outer = f"{field}[{index}]"
    return f"{outer}.{inner}" if inner else outer


class IndexStatus(NamedTuple):
    """``index_status()``: messages the search index has not seen, and its rows of
    deleted messages."""

    pending: int
    orphans: int


class Operations:
    """Every operation once: validation, then the dialect's plan. Shared by ``Memory`` and
    ``AsyncMemory``, which only drive the plans."""

    def __init__(self, dialect: Dialect, *, clock: Clock | None = None,
                 max_content_bytes: int = v.MAX_CONTENT_BYTES, retries: int | None = RETRIES,
                 retry_deadline: float | None = None,
                 embedder: Embedder | None = None, embedder_name: str | None = None,
                 token_counter: TokenCounter | None = None,
                 token_counter_name: str | None = None,
                 ) -> None:
        self._dialect = dialect
        if token_counter is not None and not callable(token_counter):
            raise ValidationError("token_counter", "must be a callable from a str to an int; "
                                  f"got {type(token_counter).__name__}")
        self._token_counter_name = counter_name(token_counter, token_counter_name)
        self._token_counter = token_counter or default_counter
        if embedder is not None and not callable(embedder):
            raise ValidationError("embedder", "must be a callable from a list of texts to "
                                  f"a list of float vectors; got {type(embedder).__name__}")
        self._embedder = embedder
        self._model = None if embedder is None else model_name(embedder, embedder_name)
        # A unit in memstore's own transaction that lost a conflict runs again (plan.Retry)
        self._retry = retry_policy(retries, retry_deadline)
        self._clock = clock or v.now_utc
        self._max_bytes = v.content_limit("max_content_bytes", max_content_bytes)
        self._closed = False
        # The newest instant given to a message saved without a timestamp (see _stamp).
        self._last_stamp: datetime | None = None
        self._stamp_lock = threading.Lock()

    @property
    def dialect(self) -> str:
        return self._dialect.dialect

    def _now(self) -> datetime:
        now = self._clock()
        # memstore's own clock is in range and in ms by construction; a given one is checked.
        return now if self._clock is v.now_utc else v.instant("clock", now)

    def _check_open(self) -> None:
        # One behaviour after close() on every backend: memstore's own check, before any
        # driver is touched (drivers differ: some reconnect, some raise their own errors).
        if self._closed:
            raise ClosedError(type(self).__name__)

    def _closed_error(self, exc: ClosedError) -> ClosedError:
        # An adapter does not know whether a Memory or an AsyncMemory drives it.
        return exc if exc.kind == type(self).__name__ else ClosedError(type(self).__name__)

    # -- schema ------------------------------------------------------------------

    def _init_schema(self) -> Plan[None]:
        return self._dialect.init_schema()

    def _doctor(self) -> Plan[list[str]]:
        return self._dialect.doctor()

    # -- working memory ----------------------------------------------------------

    def _update_working_memory(
        self, scope: str, content: Any, chat_id: str | None, user_id: str | None,
    ) -> Plan[None]:
        scope = v.scope("scope", scope)
        chat_id = v.optional_ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        wm_id, _ = working_memory_id(scope, chat_id, user_id)
        text = v.content("content", content, self._max_bytes)
        return self._dialect.upsert_working_memory(wm_id, scope, chat_id, user_id, text,
                                                   self._now())

    def _get_working_memory(
        self, scope: str, chat_id: str | None, user_id: str | None
    ) -> Plan[WorkingMemory | None]:
        scope = v.scope("scope", scope)
        chat_id = v.optional_ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        wm_id, _ = working_memory_id(scope, chat_id, user_id)
        return self._dialect.get_working_memory(wm_id)

    # -- messages ----------------------------------------------------------------

    def _save(
        self, chat_id: str, messages: Iterable[Mapping[str, Any]], user_id: str | None,
        field: str,
    ) -> Plan[list[Message]]:
        """Validate every message (error fields such as ``messages[3].role``), then write
        them all in one transaction."""
        chat_id = v.ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        items = _items(messages, allow_empty=False)
        return self._saved(chat_id, user_id, self._batch(items, field), replace=False)

    def _batch(self, items: list[Any], field: str) -> list[NewMessage]:
        """Validated messages; those given without a timestamp get ordered instants."""
        batch: list[NewMessage] = []
        auto: list[int] = []  # positions of the messages given without a timestamp
        for i, item in enumerate(items):
            try:
                # _UNSTAMPED holds the place of a missing timestamp until the clock is read
                # (once, and only if a message needs it).
                batch.append(v.new_message(item, _UNSTAMPED, self._max_bytes))
            except ValidationError as exc:
                # Field names are built only here: this loop runs once per message.
                raise ValidationError(_item_field(field, i, exc.field), exc.reason) from None
            if item.get("timestamp") is None:
                auto.append(i)
        if auto:
            start = self._stamp(self._now(), len(auto))
            for k, i in enumerate(auto):
                batch[i] = batch[i]._replace(timestamp=start + k * _MS)
        return batch

    def _save_one(self, chat_id: str, role: Any, content: Any, user_id: str | None,
                  timestamp: Any) -> Plan[list[Message]]:
        """``_save`` of one message given as arguments (save_message, the most frequent
        write): the same checks in the same order and the same error fields, without the
        mapping and list of a batch."""
        chat_id = v.ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        message = NewMessage(
            v.role("role", role), v.content("content", content, self._max_bytes),
            self._stamp(self._now(), 1) if timestamp is None
            else v.instant("timestamp", timestamp))
        return self._saved(chat_id, user_id, [message], replace=False)

    def _stamp(self, now: datetime, count: int) -> datetime:
        """The first of ``count`` instants, 1 ms apart, for messages saved without a
        timestamp: ``now``, or just after the last one this object gave, so such messages
        are strictly ordered by time within a batch and across calls (a TS app orders by
        timestamp and breaks ties by role, not by id)."""
        with self._stamp_lock:
            last = self._last_stamp
            start = now if last is None or now > last else last + _MS
            end = start + (count - 1) * _MS
            if end > v.MAX_INSTANT:
                raise ValidationError("timestamp", "the ordered instants of messages saved "
                                      "without a timestamp would pass "
                                      f"{v.MAX_INSTANT.isoformat()}; give timestamps")
            self._last_stamp = end
        return start

    def _saved(self, chat_id: str, user_id: str | None, batch: list[NewMessage], *,
               replace: bool) -> Plan[list[Message]]:
        write = self._dialect.replace_messages if replace else self._dialect.save_messages
        ids = yield from write(chat_id, user_id, batch)
        return [message_from_row(i, chat_id, user_id, m.role, m.content, m.timestamp)
                for i, m in zip(ids, batch, strict=True)]

    def _get_messages(
        self, chat_id: str, user_id: str | None, limit: int | None, before_id: int | None,
        max_tokens: int | None = None,
    ) -> Plan[list[Message]]:
        chat_id = v.ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        read = v.read_limit("limit", limit)
        before = None if before_id is None else v.message_id("before_id", before_id)
        if max_tokens is None:
            return self._dialect.last_messages(chat_id, user_id, read, before)
        budget = v.bounded_int("max_tokens", max_tokens, 1, v.MAX_MESSAGE_COUNT)
        if before is not None:
            raise ValidationError("before_id", "cannot be combined with max_tokens (a "
                                  "budgeted read is always the newest turns)")
        return budget_plan(self._dialect, chat_id, user_id, budget, read,
                           self._token_counter, self._token_counter_name)

    def _replace_messages(
        self, chat_id: str, messages: Iterable[Mapping[str, Any]], user_id: str | None,
    ) -> Plan[list[Message]]:
        chat_id = v.ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        items = _items(messages, allow_empty=True)
        return self._saved(chat_id, user_id, self._batch(items, "messages"), replace=True)

    def _pop_message(self, chat_id: str) -> Plan[Message | None]:
        return self._dialect.pop_message(v.ident("chat_id", chat_id))

    def _clear_messages(self, chat_id: str) -> Plan[int]:
        return self._dialect.clear_messages(v.ident("chat_id", chat_id))

    def _delete_messages(self, chat_id: str, ids: Iterable[int]) -> Plan[int]:
        chat_id = v.ident("chat_id", chat_id)
        wanted = v.message_ids("ids", ids)
        return self._dialect.delete_messages(chat_id, wanted) if wanted else done(0)

    def _count_messages(self, chat_id: str, status: str | None) -> Plan[int]:
        chat_id = v.ident("chat_id", chat_id)
        return self._dialect.count_messages(chat_id, v.message_status("status", status))

    def _archive_messages(self, chat_id: str, count: int) -> Plan[list[Message]]:
        chat_id = v.ident("chat_id", chat_id)
        return self._dialect.archive_messages(chat_id,
                                              v.bounded_int("count", count, 1, v.MAX_BATCH))

    def _get_messages_window(self, chat_id: str, status: str | None, limit: int | None,
                             offset: int) -> Plan[list[Message]]:
        chat_id = v.ident("chat_id", chat_id)
        wanted = v.message_status("status", status)
        read = v.read_limit("limit", limit)
        skip = v.bounded_int("offset", offset, 0, v.MAX_MESSAGE_COUNT)
        return self._dialect.messages_window(chat_id, wanted, read, skip)

    def _chat_ids(self, user_id: str | None, limit: int) -> Plan[list[str]]:
        user_id = v.optional_ident("user_id", user_id)
        return self._dialect.chat_ids(user_id, v.limit("limit", limit))

    def _export_chats(self, user_id: str | None, after: str | None,
                      limit: int) -> Plan[list[tuple[str, bool]]]:
        """memstore.transfer's chat listing, in keyset pages (see Dialect.export_chats);
        not public API: ``transfer`` runs it with ``_run``, on Memory and AsyncMemory."""
        user_id = v.optional_ident("user_id", user_id)
        if after is not None:
            after = v.text("after", after)  # a chat id this listing returned
        return self._dialect.export_chats(user_id, after, v.limit("limit", limit))

    def _user_working_memories(self, after: str,
                               limit: int) -> Plan[list[tuple[str, WorkingMemory]]]:
        """memstore.transfer's listing of user-scope working memory, in keyset pages of
        the row id (see Dialect.user_working_memories); not public API."""
        after = v.text("after", after)  # an id this listing returned, or "user:"
        return self._dialect.user_working_memories(after, v.limit("limit", limit))

    def _import_chat(
        self, chat_id: str, row: Chat | None,
        messages: Iterable[tuple[str | None, Mapping[str, Any]]],
        working_memory: WorkingMemory | None,
    ) -> Plan[None]:
        """memstore.transfer's write of one whole chat, in one transaction (see
        Dialect.import_chat); not public API. ``messages`` are (user_id, item) pairs in
        order, each item with its timestamp; checked by the rules of the public calls."""
        chat_id = v.ident("chat_id", chat_id)
        if row is not None:
            if row.chat_id != chat_id:
                raise ValidationError("row", f"is chat {row.chat_id!r}, not {chat_id!r}")
            row = Chat(chat_id, v.optional_ident("user_id", row.user_id),
                       None if row.title is None else v.title("title", row.title),
                       v.instant("created_at", row.created_at),
                       v.instant("updated_at", row.updated_at),
                       v.bounded_int("message_count", row.message_count, 0,
                                     v.MAX_MESSAGE_COUNT))
        runs: list[tuple[str | None, list[NewMessage]]] = []
        for i, (user_id, item) in enumerate(messages):
            if item.get("timestamp") is None:
                raise ValidationError(f"messages[{i}].timestamp", "is required in an import")
            user_id = v.optional_ident(f"messages[{i}].user_id", user_id)
            try:
                new = v.new_message(item, item["timestamp"], self._max_bytes)
            except ValidationError as exc:
                raise ValidationError(_item_field("messages", i, exc.field), exc.reason) \
                    from None
            if not runs or runs[-1][0] != user_id:
                runs.append((user_id, []))
            runs[-1][1].append(new)
        wm = working_memory
        if wm is not None:
            wm = WorkingMemory("chat", chat_id, v.optional_ident("user_id", wm.user_id),
                               v.content("content", wm.content, self._max_bytes),
                               v.instant("updated_at", wm.updated_at))
        return self._dialect.import_chat(ChatImport(chat_id, row, runs, wm))

    # -- chats -------------------------------------------------------------------

    def _save_chat(
        self, chat_id: str, user_id: str | None, title: str | None,
        created_at: datetime | None, updated_at: datetime | None, message_count: int | None,
    ) -> Plan[None]:
        chat_id = v.ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        if title is not None:
            title = v.title("title", title)
        if message_count is not None:
            message_count = v.bounded_int("message_count", message_count, 0, v.MAX_MESSAGE_COUNT)
        created = v.instant("created_at", created_at) if created_at is not None else None
        updated = v.instant("updated_at", updated_at) if updated_at is not None else None
        if created is None or updated is None:
            now = self._now()
            created = created or now
            updated = updated or now
        return self._dialect.save_chat(chat_id, user_id, title, created, updated,
                                       message_count)

    def _get_chat(self, chat_id: str) -> Plan[Chat | None]:
        return self._dialect.get_chat(v.ident("chat_id", chat_id))

    def _get_chats(
        self, user_id: str | None, search: str | None, limit: int
    ) -> Plan[list[Chat]]:
        user_id = v.optional_ident("user_id", user_id)
        limit = v.limit("limit", limit)
        if search is not None:
            search = v.text("search", search, max_chars=v.MAX_SEARCH_CHARS)
        if not search:
            return self._dialect.list_chats(user_id, limit)
        return self._dialect.search_chats(user_id, title_matcher(search), limit)

    def _update_chat_title(self, chat_id: str, title: str) -> Plan[None]:
        chat_id = v.ident("chat_id", chat_id)
        title = v.title("title", title)
        return self._dialect.rename_chat(chat_id, title, self._now())

    def _delete_chat(self, chat_id: str) -> Plan[bool]:
        return self._dialect.delete_chat(v.ident("chat_id", chat_id))

    def _delete_user(self, user_id: str) -> Plan[None]:
        return self._dialect.delete_user(v.ident("user_id", user_id))

    # -- recall ------------------------------------------------------------------

    def _search(
        self, query: Any, user_id: Any, chat_id: Any, mode: Any, limit: Any, roles: Any,
        before: Any, after: Any, context: Any,
    ) -> Any:
        """A search's plan (see memstore.recall), every argument checked first."""
        query = v.text("query", query, max_chars=MAX_QUERY_CHARS)
        words = terms(query)
        if not words:
            raise ValidationError("query", "has no letters or digits to search for")
        chat_id = v.optional_ident("chat_id", chat_id)
        user_id = v.optional_ident("user_id", user_id)
        if chat_id is None and user_id is None:
            raise ValidationError("user_id", "or chat_id is required: a search is always "
                                  "scoped to a user's or a chat's messages")
        if mode not in MODES:
            raise ValidationError("mode", f"must be one of {', '.join(MODES)}; got {mode!r}")
        if mode != "keyword" and self._embedder is None:
            raise ValidationError("embedder", f"is required for mode={mode!r}: connect with "
                                  "memstore.connect(url, embedder=...)")
        wanted = None
        if roles is not None:
            if isinstance(roles, str) or not isinstance(roles, Iterable):
                raise ValidationError("roles", "must be a list of roles")
            wanted = frozenset(v.role("roles", r) for r in roles)
        search = Search(
            query, tuple(words), SearchScope(chat_id, user_id), mode,
            v.limit("limit", limit), wanted,
            None if before is None else v.instant("before", before),
            None if after is None else v.instant("after", after),
            v.bounded_int("context", context, 0, MAX_CONTEXT), self._model)
        return search_plan(self._dialect, search)

    def __repr__(self) -> str:
        return f"<memstore.{type(self).__name__} dialect={self.dialect}>"


class Memory(Operations):
    """An agent's memory in one database, blocking calls. Create it with
    :func:`memstore.connect`. One ``Memory`` may be shared by threads."""

    def __init__(self, dialect: Dialect, runner: Runner, *, clock: Clock | None = None,
                 max_content_bytes: int = v.MAX_CONTENT_BYTES, retries: int | None = RETRIES,
                 retry_deadline: float | None = None,
                 embedder: Embedder | None = None, embedder_name: str | None = None,
                 token_counter: TokenCounter | None = None,
                 token_counter_name: str | None = None) -> None:
        super().__init__(dialect, clock=clock, max_content_bytes=max_content_bytes,
                         retries=retries, retry_deadline=retry_deadline, embedder=embedder,
                         embedder_name=embedder_name, token_counter=token_counter,
                         token_counter_name=token_counter_name)
        self._runner = runner

    @property
    def adapter(self) -> Any:
        """The runner: the driver side (its connection), for tools and tests."""
        return self._runner

    def _run(self, plan: Plan[T]) -> T:
        self._check_open()
        try:
            return run(plan, self._runner.execute, self._retry)
        except ClosedError as exc:  # the runner closed under a call that was waiting for it
            raise self._closed_error(exc) from None

    def _run_recall(self, plan: Any) -> Any:
        """A recall plan: its units as ``_run`` runs them, its Embed steps by the embedder."""
        self._check_open()
        embedder, execute = self._embedder, self._runner.execute

        def step(item: Any) -> Any:
            if type(item) is Embed:
                assert embedder is not None  # a plan asks only when there is one
                return embedder(item.texts)
            return execute(item)
        return run(plan, step, self._retry)

    # -- recall ------------------------------------------------------------------

    def search_messages(
        self, query: str, *, user_id: str | None = None, chat_id: str | None = None,
        mode: Mode = "keyword", limit: int = 10, roles: Iterable[Role] | None = None,
        before: datetime | None = None, after: datetime | None = None, context: int = 0,
    ) -> list[SearchHit]:
        """Search the past messages of a user (``user_id``: messages saved with that
        user id), of a chat (``chat_id``), or of both (that user's messages in that chat);
        one of them is required. ``mode``: "keyword" (every word of the query occurs in
        the message's visible text, ignoring case and Unicode form: the same on every
        backend), "semantic" (cosine similarity with the connection's ``embedder``) or
        "hybrid" (both rankings fused). ``roles``, ``before``, ``after`` narrow it;
        ``context=k`` adds the k messages around each hit. Hits best first (ties newest
        first), at most ``limit``. See docs/recall.md."""
        plan = self._search(query, user_id, chat_id, mode, limit, roles, before, after,
                            context)
        return self._run_recall(plan)  # type: ignore[no-any-return]

    def index_status(self) -> IndexStatus:
        """How far the keyword side table is behind: messages it has not seen yet
        (``pending``; a search catches up its own scope first) and its rows of deleted
        messages (``orphans``; never found). ``index_messages`` clears both."""
        self._check_open()
        return IndexStatus(*(self._run(self._dialect.search_status())))

    def index_messages(self, *, progress: Progress | None = None) -> int:
        """Bring the search side tables up to date with every message (a search does so
        for its own scope first): the text of each message, its vector when the
        connection has an ``embedder``, and side rows of deleted messages removed. How
        many side rows were removed. ``progress(what, count)`` is called after each page
        ("text" or "vectors", how many messages so far)."""
        plan = index_plan(self._dialect, self._model, progress)
        return self._run_recall(plan)  # type: ignore[no-any-return]

    # -- schema ------------------------------------------------------------------

    def init_schema(self) -> None:
        """Create the tables and indexes that are missing. Safe to run any number of times."""
        return self._run(self._init_schema())

    def doctor(self) -> list[str]:
        """What is wrong with the tables, columns and indexes; an empty list when healthy."""
        return self._run(self._doctor())

    # -- working memory ----------------------------------------------------------

    def update_working_memory(
        self, *, scope: Scope, content: Content, chat_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Replace the working memory of a chat or a user in one atomic upsert."""
        return self._run(self._update_working_memory(scope, content, chat_id, user_id))

    def get_working_memory(
        self, *, scope: Scope, chat_id: str | None = None, user_id: str | None = None
    ) -> WorkingMemory | None:
        """The working memory of a chat or a user; None if there is none."""
        return self._run(self._get_working_memory(scope, chat_id, user_id))

    # -- messages ----------------------------------------------------------------

    def save_message(
        self, chat_id: str, role: Role, content: Content, *, user_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> Message:
        """Append one message; the chat row is created or updated in the same transaction."""
        return self._run(self._save_one(chat_id, role, content, user_id, timestamp))[0]

    def save_messages(
        self, chat_id: str, messages: Iterable[MessageItem], *,
        user_id: str | None = None,
    ) -> list[Message]:
        """Append messages in order, all or nothing, in one transaction. Each item is a
        mapping with ``role``, ``content`` and optionally ``timestamp``; messages without a
        timestamp get the same current instant and keep their order by id."""
        return self._run(self._save(chat_id, messages, user_id, field="messages"))

    def get_messages(
        self, chat_id: str, *, user_id: str | None = None, limit: int | None = 100,
        before_id: int | None = None, max_tokens: int | None = None,
    ) -> list[Message]:
        """The newest ``limit`` messages of the chat, oldest first (``limit=None``: all of
        them, read in keyset pages). ``before_id``: the ``limit`` messages just older than
        that message (scrollback; NotFoundError if it is not a message of this chat).
        Order is (timestamp, id). With ``user_id``, that user's messages and those with
        no user. ``max_tokens``: the newest whole turns (a turn starts at a user message)
        whose token total fits, and whose count fits ``limit`` (None: no count limit);
        the newest turn always whole, even alone over the budget (docs/budget.md)."""
        return self._run(self._get_messages(chat_id, user_id, limit, before_id, max_tokens))

    def replace_messages(
        self, chat_id: str, messages: Iterable[MessageItem], *,
        user_id: str | None = None,
    ) -> list[Message]:
        """Delete the chat's messages and save ``messages`` (may be empty) in one
        transaction: a concurrent reader sees the old list or the new one. The chat row
        stays, its message_count becomes len(messages); working memory stays."""
        return self._run(self._replace_messages(chat_id, messages, user_id))

    def pop_message(self, chat_id: str) -> Message | None:
        """Remove and return the newest message by (timestamp, id), atomically (each
        message goes to exactly one of concurrent callers); None if the chat has none."""
        return self._run(self._pop_message(chat_id))

    def clear_messages(self, chat_id: str) -> int:
        """Delete the chat's messages; the chat row (title, owner, created_at) and its
        working memory stay, message_count becomes 0. How many were deleted."""
        return self._run(self._clear_messages(chat_id))

    def delete_messages(self, chat_id: str, ids: Iterable[int]) -> int:
        """Delete the messages of this chat with these ids (ids of other chats are left
        alone); message_count goes down accordingly. How many were deleted."""
        return self._run(self._delete_messages(chat_id, ids))

    def count_messages(self, chat_id: str, *, status: MessageStatus | None = None) -> int:
        """How many messages the chat has (counted, not read from message_count, which a
        TS app overwrites with its own arithmetic); with ``status``, how many are
        "active" or "archived"."""
        return self._run(self._count_messages(chat_id, status))

    def archive_messages(self, chat_id: str, count: int) -> list[Message]:
        """Make the oldest ``count`` (1 to 10,000) active messages of the chat, by
        (timestamp, id), archived, in one transaction; return them oldest first (fewer
        when the chat has fewer). Archived messages stay in the chat: ``get_messages``
        and a TS app still read them; ``get_messages_window``/``count_messages`` tell
        them apart. Every message is active until archived."""
        return self._run(self._archive_messages(chat_id, count))

    def get_messages_window(
        self, chat_id: str, *, status: MessageStatus | None = None,
        limit: int | None = None, offset: int = 0,
    ) -> list[Message]:
        """The chat's messages oldest first by (timestamp, id), skipping the ``offset``
        oldest, at most ``limit`` (None: all, read in keyset pages); with ``status``,
        only the "active" or "archived" ones."""
        return self._run(self._get_messages_window(chat_id, status, limit, offset))

    def chat_ids(self, *, user_id: str | None = None, limit: int = 100) -> list[str]:
        """Ids of the chats that have messages (with ``user_id``: messages of that user),
        in code point order; includes chats a TS app wrote without a chat row."""
        return self._run(self._chat_ids(user_id, limit))

    # -- chats -------------------------------------------------------------------

    def save_chat(
        self, chat_id: str, *, user_id: str | None = None, title: str | None = None,
        created_at: datetime | None = None, updated_at: datetime | None = None,
        message_count: int | None = None,
    ) -> None:
        """Create or update a chat row. ``None`` keeps what is stored (``user_id``,
        ``title``, ``message_count``); ``created_at`` is only set when the row is new;
        ``updated_at`` defaults to now."""
        return self._run(self._save_chat(chat_id, user_id, title, created_at, updated_at,
                                         message_count))

    def get_chat(self, chat_id: str) -> Chat | None:
        """The chat row; None if there is none."""
        return self._run(self._get_chat(chat_id))

    def get_chats(
        self, *, user_id: str | None = None, search: str | None = None, limit: int = 100
    ) -> list[Chat]:
        """Chats, most recently updated first (ties by chat_id). ``search`` keeps the chats
        whose title contains it, ignoring case (Unicode case folding); ``%`` and ``_`` are
        ordinary characters. Without ``user_id``, every user's chats."""
        return self._run(self._get_chats(user_id, search, limit))

    def update_chat_title(self, chat_id: str, title: str) -> None:
        """Set the title and move ``updated_at`` to now; creates the chat if it is missing
        (as the TS provider does)."""
        return self._run(self._update_chat_title(chat_id, title))

    def delete_chat(self, chat_id: str) -> bool:
        """Delete the chat row, its messages and its chat-scope working memory, in one
        transaction. True if the chat or any of its messages existed."""
        return self._run(self._delete_chat(chat_id))

    def delete_user(self, user_id: str) -> None:
        """Delete everything of a user in one transaction: their chats with all messages and
        chat-scope working memory, their user-scope working memory, and their messages in
        other users' chats (whose ``message_count`` goes down accordingly)."""
        return self._run(self._delete_user(user_id))

    # -- lifetime ----------------------------------------------------------------

    def close(self) -> None:
        """Close what memstore opened (a connection you passed in stays open). Every later
        call raises ``ClosedError``; closing again does nothing."""
        if not self._closed:
            self._closed = True
            self._runner.close()

    def __enter__(self) -> Memory:
        self._check_open()  # `with mem:` on a closed Memory fails here, not at the first call
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMemory(Operations):
    """An agent's memory in one database, awaitable calls: every method of ``Memory`` with
    the same arguments, results and errors. Create it with :func:`memstore.connect_async`.
    One ``AsyncMemory`` may be shared by tasks, and by threads that each run an event loop
    (where the driver allows; see docs/async.md)."""

    def __init__(self, dialect: Dialect, runner: AsyncRunner, *,
                 clock: Clock | None = None, max_content_bytes: int = v.MAX_CONTENT_BYTES,
                 retries: int | None = RETRIES, retry_deadline: float | None = None,
                 embedder: Embedder | None = None, embedder_name: str | None = None,
                 token_counter: TokenCounter | None = None,
                 token_counter_name: str | None = None) -> None:
        super().__init__(dialect, clock=clock, max_content_bytes=max_content_bytes,
                         retries=retries, retry_deadline=retry_deadline, embedder=embedder,
                         embedder_name=embedder_name, token_counter=token_counter,
                         token_counter_name=token_counter_name)
        self._runner = runner
        # see plan.arun: a runner that settles a cancelled unit itself needs no shield
        self._shield = not getattr(runner, "settles_cancelled_units", False)
        # A runner that can close without an event loop (a thread of its own: SQLite,
        # MySQL) is closed when an AsyncMemory nobody closed is collected, with a
        # ResourceWarning, instead of keeping its thread and connection until exit.
        close_unawaited = getattr(runner, "close_unawaited", None)
        self._finalizer = (weakref.finalize(self, _unclosed, close_unawaited)
                           if close_unawaited is not None else None)

    @property
    def adapter(self) -> Any:
        """The runner: the driver side (its connection), for tools and tests."""
        return self._runner

    async def _run(self, plan: Plan[T]) -> T:
        self._check_open()
        try:
            return await arun(plan, self._runner.execute, self._retry, shield=self._shield)
        except ClosedError as exc:  # the runner closed under a call that was waiting for it
            raise self._closed_error(exc) from None

    async def _run_recall(self, plan: Any) -> Any:
        """A recall plan: its units as ``_run`` runs them, its Embed steps by the embedder
        (awaited when it is async)."""
        self._check_open()
        embedder, execute = self._embedder, self._runner.execute

        async def step(item: Any) -> Any:
            if type(item) is Embed:
                assert embedder is not None  # a plan asks only when there is one
                return await embed_async(embedder, item.texts)
            return await execute(item)
        return await arun(plan, step, self._retry, shield=self._shield)

    # -- recall ------------------------------------------------------------------

    async def search_messages(
        self, query: str, *, user_id: str | None = None, chat_id: str | None = None,
        mode: Mode = "keyword", limit: int = 10, roles: Iterable[Role] | None = None,
        before: datetime | None = None, after: datetime | None = None, context: int = 0,
    ) -> list[SearchHit]:
        """Search the past messages of a user (``user_id``: messages saved with that
        user id), of a chat (``chat_id``), or of both (that user's messages in that chat);
        one of them is required. ``mode``: "keyword" (every word of the query occurs in
        the message's visible text, ignoring case and Unicode form: the same on every
        backend), "semantic" (cosine similarity with the connection's ``embedder``) or
        "hybrid" (both rankings fused). ``roles``, ``before``, ``after`` narrow it;
        ``context=k`` adds the k messages around each hit. Hits best first (ties newest
        first), at most ``limit``. See docs/recall.md."""
        plan = self._search(query, user_id, chat_id, mode, limit, roles, before, after,
                            context)
        return await self._run_recall(plan)  # type: ignore[no-any-return]

    async def index_status(self) -> IndexStatus:
        """How far the keyword side table is behind: messages it has not seen yet
        (``pending``; a search catches up its own scope first) and its rows of deleted
        messages (``orphans``; never found). ``index_messages`` clears both."""
        self._check_open()
        return IndexStatus(*(await self._run(self._dialect.search_status())))

    async def index_messages(self, *, progress: Progress | None = None) -> int:
        """Bring the search side tables up to date with every message (a search does so
        for its own scope first): the text of each message, its vector when the
        connection has an ``embedder``, and side rows of deleted messages removed. How
        many side rows were removed. ``progress(what, count)`` is called after each page
        ("text" or "vectors", how many messages so far)."""
        plan = index_plan(self._dialect, self._model, progress)
        return await self._run_recall(plan)  # type: ignore[no-any-return]

    # -- schema ------------------------------------------------------------------

    async def init_schema(self) -> None:
        """Create the tables and indexes that are missing. Safe to run any number of times."""
        return await self._run(self._init_schema())

    async def doctor(self) -> list[str]:
        """What is wrong with the tables, columns and indexes; an empty list when healthy."""
        return await self._run(self._doctor())

    # -- working memory ----------------------------------------------------------

    async def update_working_memory(
        self, *, scope: Scope, content: Content, chat_id: str | None = None,
        user_id: str | None = None,
    ) -> None:
        """Replace the working memory of a chat or a user in one atomic upsert."""
        return await self._run(self._update_working_memory(scope, content, chat_id, user_id))

    async def get_working_memory(
        self, *, scope: Scope, chat_id: str | None = None, user_id: str | None = None
    ) -> WorkingMemory | None:
        """The working memory of a chat or a user; None if there is none."""
        return await self._run(self._get_working_memory(scope, chat_id, user_id))

    # -- messages ----------------------------------------------------------------

    async def save_message(
        self, chat_id: str, role: Role, content: Content, *, user_id: str | None = None,
        timestamp: datetime | None = None,
    ) -> Message:
        """Append one message; the chat row is created or updated in the same transaction."""
        return (await self._run(self._save_one(chat_id, role, content, user_id, timestamp)))[0]

    async def save_messages(
        self, chat_id: str, messages: Iterable[MessageItem], *,
        user_id: str | None = None,
    ) -> list[Message]:
        """Append messages in order, all or nothing, in one transaction. Each item is a
        mapping with ``role``, ``content`` and optionally ``timestamp``; messages without a
        timestamp get the same current instant and keep their order by id."""
        return await self._run(self._save(chat_id, messages, user_id, field="messages"))

    async def get_messages(
        self, chat_id: str, *, user_id: str | None = None, limit: int | None = 100,
        before_id: int | None = None, max_tokens: int | None = None,
    ) -> list[Message]:
        """The newest ``limit`` messages of the chat, oldest first (``limit=None``: all of
        them, read in keyset pages). ``before_id``: the ``limit`` messages just older than
        that message (scrollback; NotFoundError if it is not a message of this chat).
        Order is (timestamp, id). With ``user_id``, that user's messages and those with
        no user. ``max_tokens``: the newest whole turns (a turn starts at a user message)
        whose token total fits, and whose count fits ``limit`` (None: no count limit);
        the newest turn always whole, even alone over the budget (docs/budget.md)."""
        return await self._run(self._get_messages(chat_id, user_id, limit, before_id,
                                                  max_tokens))

    async def replace_messages(
        self, chat_id: str, messages: Iterable[MessageItem], *,
        user_id: str | None = None,
    ) -> list[Message]:
        """Delete the chat's messages and save ``messages`` (may be empty) in one
        transaction: a concurrent reader sees the old list or the new one. The chat row
        stays, its message_count becomes len(messages); working memory stays."""
        return await self._run(self._replace_messages(chat_id, messages, user_id))

    async def pop_message(self, chat_id: str) -> Message | None:
        """Remove and return the newest message by (timestamp, id), atomically (each
        message goes to exactly one of concurrent callers); None if the chat has none."""
        return await self._run(self._pop_message(chat_id))

    async def clear_messages(self, chat_id: str) -> int:
        """Delete the chat's messages; the chat row (title, owner, created_at) and its
        working memory stay, message_count becomes 0. How many were deleted."""
        return await self._run(self._clear_messages(chat_id))

    async def delete_messages(self, chat_id: str, ids: Iterable[int]) -> int:
        """Delete the messages of this chat with these ids (ids of other chats are left
        alone); message_count goes down accordingly. How many were deleted."""
        return await self._run(self._delete_messages(chat_id, ids))

    async def count_messages(self, chat_id: str, *, status: MessageStatus | None = None) -> int:
        """How many messages the chat has (counted, not read from message_count, which a
        TS app overwrites with its own arithmetic); with ``status``, how many are
        "active" or "archived"."""
        return await self._run(self._count_messages(chat_id, status))

    async def archive_messages(self, chat_id: str, count: int) -> list[Message]:
        """Make the oldest ``count`` (1 to 10,000) active messages of the chat, by
        (timestamp, id), archived, in one transaction; return them oldest first (fewer
        when the chat has fewer). Archived messages stay in the chat: ``get_messages``
        and a TS app still read them; ``get_messages_window``/``count_messages`` tell
        them apart. Every message is active until archived."""
        return await self._run(self._archive_messages(chat_id, count))

    async def get_messages_window(
        self, chat_id: str, *, status: MessageStatus | None = None,
        limit: int | None = None, offset: int = 0,
    ) -> list[Message]:
        """The chat's messages oldest first by (timestamp, id), skipping the ``offset``
        oldest, at most ``limit`` (None: all, read in keyset pages); with ``status``,
        only the "active" or "archived" ones."""
        return await self._run(self._get_messages_window(chat_id, status, limit, offset))

    async def chat_ids(self, *, user_id: str | None = None, limit: int = 100) -> list[str]:
        """Ids of the chats that have messages (with ``user_id``: messages of that user),
        in code point order; includes chats a TS app wrote without a chat row."""
        return await self._run(self._chat_ids(user_id, limit))

    # -- chats -------------------------------------------------------------------

    async def save_chat(
        self, chat_id: str, *, user_id: str | None = None, title: str | None = None,
        created_at: datetime | None = None, updated_at: datetime | None = None,
        message_count: int | None = None,
    ) -> None:
        """Create or update a chat row. ``None`` keeps what is stored (``user_id``,
        ``title``, ``message_count``); ``created_at`` is only set when the row is new;
        ``updated_at`` defaults to now."""
        return await self._run(self._save_chat(chat_id, user_id, title, created_at, updated_at,
                                         message_count))

    async def get_chat(self, chat_id: str) -> Chat | None:
        """The chat row; None if there is none."""
        return await self._run(self._get_chat(chat_id))

    async def get_chats(
        self, *, user_id: str | None = None, search: str | None = None, limit: int = 100
    ) -> list[Chat]:
        """Chats, most recently updated first (ties by chat_id). ``search`` keeps the chats
        whose title contains it, ignoring case (Unicode case folding); ``%`` and ``_`` are
        ordinary characters. Without ``user_id``, every user's chats."""
        return await self._run(self._get_chats(user_id, search, limit))

    async def update_chat_title(self, chat_id: str, title: str) -> None:
        """Set the title and move ``updated_at`` to now; creates the chat if it is missing
        (as the TS provider does)."""
        return await self._run(self._update_chat_title(chat_id, title))

    async def delete_chat(self, chat_id: str) -> bool:
        """Delete the chat row, its messages and its chat-scope working memory, in one
        transaction. True if the chat or any of its messages existed."""
        return await self._run(self._delete_chat(chat_id))

    async def delete_user(self, user_id: str) -> None:
        """Delete everything of a user in one transaction: their chats with all messages and
        chat-scope working memory, their user-scope working memory, and their messages in
        other users' chats (whose ``message_count`` goes down accordingly)."""
        return await self._run(self._delete_user(user_id))

    # -- lifetime ----------------------------------------------------------------

    async def aclose(self) -> None:
        """Close what memstore opened (a connection or pool you passed in stays open).
        Every later call raises ``ClosedError``; closing again does nothing."""
        if not self._closed:
            self._closed = True
            if self._finalizer is not None:
                self._finalizer.detach()
            await self._runner.aclose()

    async def __aenter__(self) -> AsyncMemory:
        self._check_open()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def _unclosed(close: Callable[[], None]) -> None:
    """An AsyncMemory was collected without ``aclose()``: close its runner (no loop
    needed) and say so, as an unclosed file or socket does."""
    warnings.warn("an AsyncMemory was never closed (await mem.aclose(), or async with); "
                  "memstore closed its connection and thread when it was collected",
                  ResourceWarning, stacklevel=2)
    close()

