"""Hypothesis stateful test: every backend against the reference model in tests/model.py.

Random sequences of every public operation, valid and invalid, with colliding ids
(including case and Unicode variants), equal timestamps and arbitrary Unicode, run on the
backend and on the model; every result and every error must be the same.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

import memstore
from tests.async_bridge import open_blocking
from tests.backends import Backend
from tests.model import HIGH, LOW, Expected, ExpectedNotFound, Model, visible_text

# Examples per backend and run; CI runs each backend with at least this many.
EXAMPLES = {"memory": 200, "sqlite": 200, "postgres": 100, "mysql": 100, "turso": 100,
            "libsql": 100}
EXAMPLES_SCALE = float(os.environ.get("MEMSTORE_HYPOTHESIS_SCALE", "1"))

UTC = timezone.utc
T0 = datetime(2024, 1, 1, tzinfo=UTC)

# Few ids, so operations collide on the same rows; with case, space, normalisation and
# length variants that a careless collation or column type would merge or truncate.
chat_ids = st.sampled_from(["c1"] * 4 + ["c2"] * 2 + ["C1", "c1 ", "é", "é", "𝄞", "a%", "a_",
                                                    "x" * 255])
bad_ids = st.sampled_from(["", "x" * 256, "a\x00", "\ud800", 5])
user_ids = st.sampled_from([None, None, "u1", "u1", "u2", "U1", "ü"])
unicode_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40)
contents = st.one_of(
    unicode_text,
    st.sampled_from(["", "42", "true", "null", "'; DROP TABLE chat_sessions; --", "%_\\",
                     "\u202eRTL", "e\u0301", "👩‍👩‍👧"]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.lists(st.text(max_size=5), max_size=3),
)
bad_contents = st.sampled_from(["\x00", "a\udfff", 3, None])
titles = st.one_of(unicode_text, st.sampled_from(["Trip", "TRIP to Rome", "100%", "a_b",
                                                   "Straße", "ÉCOLE", "école"]))
searches = st.one_of(st.none(), st.sampled_from(["", "trip", "ROME", "%", "_", "ss", "É",
                                                  "ß", "o"]), unicode_text)
roles = st.sampled_from(["user", "assistant", "system", "user", "bot"])
limits = st.sampled_from([1, 2, 3, 5, 100, 100, 100, 10_000, 0, -1, 10_001, True])
# get_messages: None reads the whole chat; any positive int is valid (keyset pages).
read_limits = st.sampled_from([1, 2, 3, 5, 100, 100, None, None, 10_001, 0, -1, True])
# Message status filters (None: every message), valid and invalid.
statuses = st.sampled_from([None, None, "active", "archived", "archived", "ACTIVE", "", 1])
# archive_messages: 1 to 10,000 messages.
archive_counts = st.sampled_from([1, 1, 2, 3, 10_000, 0, -1, 10_001, True, None])
# get_messages_window: an offset from 0 to 2**31 - 1 (past the end reads nothing).
offsets = st.sampled_from([0, 0, 0, 1, 2, 5, 2**31 - 1, 2**31, -1, True, "1", None])
# A few fixed instants, so equal timestamps are common, plus invalid ones.
instants = st.one_of(
    st.none(),
    st.integers(0, 5).map(lambda s: T0 + timedelta(seconds=s)),
    st.integers(0, 5).map(lambda s: T0 + timedelta(seconds=s)),
    st.sampled_from([LOW, HIGH, T0 + timedelta(milliseconds=1)]),
    st.sampled_from([datetime(2024, 1, 1), LOW - timedelta(milliseconds=1),
                     HIGH + timedelta(milliseconds=1), T0 + timedelta(microseconds=5)]),
)


# Search queries besides fragments of saved texts: short words, stopwords, other scripts,
# case and normalization variants, and what full-text engines treat as syntax.
fixed_queries = st.sampled_from([
    "a", "ok", "the", "and", "of", "é", "e\u0301", "É", "STRASSE", "straße", "ß", "東京",
    "タワー", "𝄞", "42", "true", "null", "DROP TABLE", '"quoted"', "*", "-x", "a:b", "(x)",
    "NEAR", "AND", "OR NOT", "%", "_", "!", "'", "", "  ", "x" * 10_001, "\x00", 5])


search_limits = st.sampled_from([1, 3, 10, 10, 10_000, 0])
search_roles = st.sampled_from([None, None, None, ["user"], ["assistant", "system"], ["bot"]])
contexts = st.sampled_from([0, 0, 0, 1, 2, 21])


def sometimes_bad(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """Mostly valid values, an invalid one about one time in eight."""
    return st.integers(0, 7).flatmap(lambda n: bad if n == 0 else good)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def as_tuple(obj: Any, idmap: dict[int, int]) -> Any:
    """Models and memstore values in one comparable shape; message ids through ``idmap``."""
    if obj is None:
        return None
    if isinstance(obj, list):
        return [as_tuple(o, idmap) for o in obj]
    if isinstance(obj, tuple):  # model working memory
        return obj
    if isinstance(obj, memstore.WorkingMemory):
        return (obj.scope, obj.chat_id, obj.user_id, obj.content, obj.updated_at)
    if isinstance(obj, memstore.Message):
        return (idmap.get(obj.id, -obj.id), obj.chat_id, obj.user_id, obj.role, obj.content,
                obj.timestamp)
    if isinstance(obj, memstore.Chat):
        return (obj.chat_id, obj.user_id, obj.title, obj.created_at, obj.updated_at,
                obj.message_count)
    if hasattr(obj, "timestamp") and hasattr(obj, "role"):  # model message
        return (obj.id, obj.chat_id, obj.user_id, obj.role, obj.content, obj.timestamp)
    if hasattr(obj, "message_count"):  # model chat
        return (obj.chat_id, obj.user_id, obj.title, obj.created_at, obj.updated_at,
                obj.message_count)
    return obj


# Which store an operation goes to: an index into MemstoreMachine.mems, drawn per rule from
# the machine's ``node_indexes`` (one store here: always 0; one per Galera node in
# tests/test_distributed_properties.py, so a shrunk example shows each call's node).
nodes = st.runner().flatmap(lambda machine: machine.node_indexes)


class MemstoreMachine(RuleBasedStateMachine):
    backend: Backend
    api: str  # "sync": Memory; "async": AsyncMemory, awaited (tests/async_bridge.py)
    node_indexes: st.SearchStrategy[int] = st.just(0)  # which of self.mems a step uses

    def __init__(self) -> None:
        super().__init__()
        self.clock = Clock()
        self.model = Model(now=T0)
        self.mems: list[Any] = self.open_mems()
        self.idmap: dict[int, int] = {}  # backend message id -> model message id
        # Each store's last instant given to a message saved without a timestamp: memstore
        # stamps the next one after it, per Memory object (memstore/store.py, _stamp).
        self.last_stamps: dict[int, datetime | None] = {}

    def open_mems(self) -> list[Any]:
        """The stores the operations go to, all on the same data, using ``self.clock``."""
        return [self.backend.open(self.clock) if self.api == "sync"
                else open_blocking(self.backend.open_async, self.clock)]

    def teardown(self) -> None:
        try:
            for node in range(len(self.mems)):
                self.check_everything(node)
        finally:
            for mem in self.mems:
                mem.close()

    @rule(node=nodes)
    def check_everything(self, node: int) -> None:
        """Compare the whole state, so a difference shows even if no random read hit it."""
        mem = self.mems[node]
        chats = mem.get_chats(limit=10_000)
        assert as_tuple(chats, self.idmap) == as_tuple(
            self.model.get_chats(None, None, 10_000), self.idmap)
        chat_ids = {c.chat_id for c in chats} | {m.chat_id for m in self.model.messages}
        for chat_id in sorted(chat_ids):
            for user_id in (None, "u1"):
                assert as_tuple(mem.get_messages(chat_id, user_id=user_id, limit=10_000),
                                self.idmap) == as_tuple(
                    self.model.get_messages(chat_id, user_id, 10_000), self.idmap)
            assert as_tuple(mem.get_messages_window(chat_id, status="archived"),
                            self.idmap) == as_tuple(
                self.model.get_messages_window(chat_id, "archived", None, 0), self.idmap)
        for key, row in self.model.wm.items():
            scope, _, rest = key.partition(":")
            kwargs = {"chat_id": rest} if scope == "chat" else {"user_id": rest}
            assert as_tuple(mem.get_working_memory(scope=scope, **kwargs), {}) == row

    def both(self, model_call: Any, mem_call: Any) -> tuple[Any, Any]:
        try:
            expected = model_call()
        except Expected as exc:
            with pytest.raises(memstore.ValidationError) as info:
                mem_call()
            assert info.value.field == exc.field
            return None, None
        except ExpectedNotFound:
            with pytest.raises(memstore.NotFoundError):
                mem_call()
            return None, None
        return expected, mem_call()

    def same(self, model_call: Any, mem_call: Any) -> None:
        expected, got = self.both(model_call, mem_call)
        assert as_tuple(got, self.idmap) == as_tuple(expected, self.idmap)

    @rule(ms=st.sampled_from([0, 0, 1, 1000, 60_000]))
    def tick(self, ms: int) -> None:
        self.clock.now += timedelta(milliseconds=ms)
        self.model.now = self.clock.now

    @rule(node=nodes, scope=st.sampled_from(["chat", "user", "team"]),
          chat_id=st.one_of(st.none(), chat_ids), user_id=user_ids,
          content=sometimes_bad(contents, bad_contents))
    def update_working_memory(self, node: int, scope: str, chat_id: Any, user_id: Any,
                              content: Any) -> None:
        self.same(lambda: self.model.update_working_memory(scope, chat_id, user_id, content),
                  lambda: self.mems[node].update_working_memory(
                      scope=scope, chat_id=chat_id, user_id=user_id, content=content))

    @rule(node=nodes, scope=st.sampled_from(["chat", "user"]),
          chat_id=st.one_of(st.none(), chat_ids), user_id=user_ids)
    def get_working_memory(self, node: int, scope: str, chat_id: Any, user_id: Any) -> None:
        self.same(lambda: self.model.get_working_memory(scope, chat_id, user_id),
                  lambda: self.mems[node].get_working_memory(scope=scope, chat_id=chat_id,
                                                             user_id=user_id))

    @contextmanager
    def stamps_of(self, node: int) -> Iterator[None]:
        """The model stamps messages as store ``node`` does (after its own last stamp)."""
        self.model.last_stamp = self.last_stamps.get(node)
        try:
            yield
        finally:
            self.last_stamps[node] = self.model.last_stamp

    def _record(self, expected: Any, got: Any) -> None:
        if expected is None:
            return
        for e, g in zip(expected, got, strict=True):
            assert g.id not in self.idmap
            self.idmap[g.id] = e.id
        assert as_tuple(got, self.idmap) == as_tuple(expected, self.idmap)

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids), user_id=user_ids,
          role=roles, content=sometimes_bad(contents, bad_contents), timestamp=instants)
    def save_message(self, node: int, chat_id: Any, user_id: Any, role: str, content: Any,
                     timestamp: Any) -> None:
        item = {"role": role, "content": content, "timestamp": timestamp}
        with self.stamps_of(node):
            expected, got = self.both(
                lambda: self.model.save_messages(chat_id, [item], user_id, single=True),
                lambda: [self.mems[node].save_message(chat_id, role, content,
                                                      user_id=user_id, timestamp=timestamp)])
        self._record(expected, got)

    @rule(node=nodes, chat_id=chat_ids, user_id=user_ids, items=st.lists(
        st.fixed_dictionaries({"role": roles, "content": contents},
                              optional={"timestamp": instants}), max_size=6))
    def save_messages(self, node: int, chat_id: Any, user_id: Any,
                      items: list[dict[str, Any]]) -> None:
        with self.stamps_of(node):
            expected, got = self.both(
                lambda: self.model.save_messages(chat_id, items, user_id, single=False),
                lambda: self.mems[node].save_messages(chat_id, items, user_id=user_id))
        self._record(expected, got)

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids), user_id=user_ids,
          limit=read_limits)
    def get_messages(self, node: int, chat_id: Any, user_id: Any, limit: Any) -> None:
        self.same(lambda: self.model.get_messages(chat_id, user_id, limit),
                  lambda: self.mems[node].get_messages(chat_id, user_id=user_id,
                                                       limit=limit))

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids), user_id=user_ids,
          limit=read_limits, max_tokens=st.sampled_from([1, 2, 5, 10, 20, 50, 1000, 2**31 - 1,
                                                         0, 2**31, True, "5"]))
    def get_messages_within_a_budget(self, node: int, chat_id: Any, user_id: Any, limit: Any,
                                     max_tokens: Any) -> None:
        self.same(lambda: self.model.get_messages_budget(chat_id, user_id, limit, max_tokens),
                  lambda: self.mems[node].get_messages(chat_id, user_id=user_id, limit=limit,
                                                       max_tokens=max_tokens))

    def backend_id(self, model_id: int) -> int:
        """The backend's id of a model message; an id no backend has for one the model
        never stored (or that is gone)."""
        for backend, model in self.idmap.items():
            if model == model_id:
                return backend
        return 10**9 + model_id

    @rule(node=nodes, chat_id=chat_ids, user_id=user_ids, limit=read_limits, data=st.data())
    def get_messages_before(self, node: int, chat_id: Any, user_id: Any, limit: Any,
                            data: st.DataObject) -> None:
        """Scrollback: an anchor in this chat, in another chat, gone, or not an int."""
        known = [m.id for m in self.model.messages] or [1]
        model_id = data.draw(st.one_of(st.sampled_from(known), st.integers(1, 3),
                                       st.sampled_from([0, -1, "1", True])))
        before = self.backend_id(model_id) if type(model_id) is int and model_id > 0 \
            else model_id
        self.same(lambda: self.model.get_messages(chat_id, user_id, limit, model_id),
                  lambda: self.mems[node].get_messages(chat_id, user_id=user_id,
                                                       limit=limit, before_id=before))

    def check_chat(self, chat_id: Any, node: int) -> None:
        """After a write to one chat: its whole history and its row, right away (on
        ``node``: with several stores, maybe another than the write's)."""
        if not isinstance(chat_id, str) or chat_id in ("", "x" * 256) or "\x00" in chat_id:
            return
        self.same(lambda: self.model.get_messages(chat_id, None, None),
                  lambda: self.mems[node].get_messages(chat_id, limit=None))
        self.same(lambda: self.model.get_chat(chat_id),
                  lambda: self.mems[node].get_chat(chat_id))

    @rule(node=nodes, check_node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids))
    def pop_message(self, node: int, check_node: int, chat_id: Any) -> None:
        self.same(lambda: self.model.pop_message(chat_id),
                  lambda: self.mems[node].pop_message(chat_id))
        self.check_chat(chat_id, check_node)

    @rule(node=nodes, check_node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids))
    def clear_messages(self, node: int, check_node: int, chat_id: Any) -> None:
        self.same(lambda: self.model.clear_messages(chat_id),
                  lambda: self.mems[node].clear_messages(chat_id))
        self.check_chat(chat_id, check_node)

    @rule(node=nodes, check_node=nodes, chat_id=chat_ids, user_id=user_ids, items=st.lists(
        st.fixed_dictionaries({"role": roles, "content": sometimes_bad(contents, bad_contents)},
                              optional={"timestamp": instants}), max_size=4))
    def replace_messages(self, node: int, check_node: int, chat_id: Any, user_id: Any,
                         items: list[dict[str, Any]]) -> None:
        with self.stamps_of(node):
            expected, got = self.both(
                lambda: self.model.replace_messages(chat_id, items, user_id),
                lambda: self.mems[node].replace_messages(chat_id, items, user_id=user_id))
        self._record(expected, got)
        self.check_chat(chat_id, check_node)

    @rule(node=nodes, check_node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids),
          data=st.data())
    def delete_messages(self, node: int, check_node: int, chat_id: Any,
                        data: st.DataObject) -> None:
        known = [m.id for m in self.model.messages] or [1]
        model_ids = data.draw(st.lists(st.one_of(st.sampled_from(known), st.integers(1, 3)),
                                       max_size=4))
        ids: list[Any] = [self.backend_id(i) for i in model_ids]
        if data.draw(st.integers(0, 7)) == 0:  # sometimes an invalid id
            bad = data.draw(st.sampled_from([0, -5, "7", True, 2**63]))
            model_ids, ids = [*model_ids, bad], [*ids, bad]
        self.same(lambda: self.model.delete_messages(chat_id, model_ids),
                  lambda: self.mems[node].delete_messages(chat_id, ids))
        self.check_chat(chat_id, check_node)

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids), status=statuses)
    def count_messages(self, node: int, chat_id: Any, status: Any) -> None:
        if status is None:  # the call as it was before status existed
            self.same(lambda: self.model.count_messages(chat_id),
                      lambda: self.mems[node].count_messages(chat_id))
            return
        self.same(lambda: self.model.count_messages(chat_id, status),
                  lambda: self.mems[node].count_messages(chat_id, status=status))

    @rule(node=nodes, check_node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids),
          count=archive_counts)
    def archive_messages(self, node: int, check_node: int, chat_id: Any, count: Any) -> None:
        self.same(lambda: self.model.archive_messages(chat_id, count),
                  lambda: self.mems[node].archive_messages(chat_id, count))
        self.check_chat(chat_id, check_node)

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids), status=statuses,
          limit=read_limits, offset=offsets)
    def get_messages_window(self, node: int, chat_id: Any, status: Any, limit: Any,
                            offset: Any) -> None:
        self.same(lambda: self.model.get_messages_window(chat_id, status, limit, offset),
                  lambda: self.mems[node].get_messages_window(chat_id, status=status,
                                                              limit=limit, offset=offset))

    @rule(node=nodes, user_id=user_ids, limit=limits)
    def list_chat_ids(self, node: int, user_id: Any, limit: Any) -> None:
        self.same(lambda: self.model.chat_ids(user_id, limit),
                  lambda: self.mems[node].chat_ids(user_id=user_id, limit=limit))

    @rule(node=nodes, chat_id=chat_ids, user_id=user_ids, title=st.one_of(st.none(), titles),
          created_at=instants, updated_at=instants,
          message_count=st.one_of(st.none(), st.integers(-1, 5)))
    def save_chat(self, node: int, chat_id: Any, user_id: Any, title: Any, created_at: Any,
                  updated_at: Any, message_count: Any) -> None:
        self.same(lambda: self.model.save_chat(chat_id, user_id, title, created_at, updated_at,
                                               message_count),
                  lambda: self.mems[node].save_chat(chat_id, user_id=user_id, title=title,
                                                    created_at=created_at,
                                                    updated_at=updated_at,
                                                    message_count=message_count))

    @rule(node=nodes, chat_id=sometimes_bad(chat_ids, bad_ids))
    def get_chat(self, node: int, chat_id: Any) -> None:
        self.same(lambda: self.model.get_chat(chat_id),
                  lambda: self.mems[node].get_chat(chat_id))

    @rule(node=nodes, user_id=user_ids, search=searches, limit=limits)
    def get_chats(self, node: int, user_id: Any, search: Any, limit: Any) -> None:
        self.same(lambda: self.model.get_chats(user_id, search, limit),
                  lambda: self.mems[node].get_chats(user_id=user_id, search=search,
                                                    limit=limit))

    @rule(node=nodes, chat_id=chat_ids,
          title=st.one_of(titles, st.sampled_from(["\x00", "t" * 501])))
    def update_chat_title(self, node: int, chat_id: Any, title: Any) -> None:
        self.same(lambda: self.model.update_chat_title(chat_id, title),
                  lambda: self.mems[node].update_chat_title(chat_id, title))

    @rule(node=nodes, chat_id=st.one_of(st.none(), chat_ids), user_id=user_ids,
          limit=search_limits, roles=search_roles, context=contexts, data=st.data())
    def search_messages(self, node: int, chat_id: Any, user_id: Any, limit: Any, roles: Any,
                        context: Any, data: st.DataObject) -> None:
        """Keyword search in any scope, with a fragment of a saved text or a fixed query."""
        self.search(node, chat_id, user_id, self.draw_query(data), limit, roles, context)

    @precondition(lambda self: len(self.model.messages) > 0)
    @rule(node=nodes, limit=search_limits, roles=search_roles, context=contexts,
          data=st.data())
    def search_a_saved_message(self, node: int, limit: Any, roles: Any, context: Any,
                               data: st.DataObject) -> None:
        """Keyword search for a fragment of a saved message, in its chat's or its user's
        scope (so most of these find something)."""
        m = data.draw(st.sampled_from(self.model.messages))
        chat_id, user_id = data.draw(st.sampled_from(
            [(m.chat_id, None), (m.chat_id, m.user_id), (None, m.user_id or "u1")]))
        text = visible_text(m.content) or "x"
        start = data.draw(st.integers(0, len(text) - 1))
        query = text[start:start + data.draw(st.integers(1, 12))]
        self.search(node, chat_id, user_id, query, limit, roles, context)

    def draw_query(self, data: st.DataObject) -> Any:
        texts = [m.content for m in self.model.messages if m.content]
        if texts and data.draw(st.booleans()):
            text = data.draw(st.sampled_from(texts))
            start = data.draw(st.integers(0, len(text) - 1))
            return text[start:start + data.draw(st.integers(1, 12))]
        return data.draw(fixed_queries)

    def search(self, node: int, chat_id: Any, user_id: Any, query: Any, limit: Any,
               roles: Any, context: Any) -> None:
        """Exactly the model's hits, in its order, with its scores and context."""
        def shape(hits: list[Any]) -> list[Any]:
            return [(as_tuple(h.message, self.idmap), h.score, as_tuple(list(h.before),
                     self.idmap), as_tuple(list(h.after), self.idmap)) for h in hits]

        expected, got = self.both(
            lambda: self.model.search_messages(query, user_id, chat_id, limit, roles, context),
            lambda: self.mems[node].search_messages(query, user_id=user_id, chat_id=chat_id,
                                                    limit=limit, roles=roles,
                                                    context=context))
        if expected is not None:
            assert shape(got) == shape(expected)
            event(f"search hits: {min(len(got), 3)}")  # --hypothesis-show-statistics

    @precondition(lambda self: len(self.model.chats) > 0)
    @rule(node=nodes, chat_id=chat_ids)
    def delete_chat(self, node: int, chat_id: Any) -> None:
        self.same(lambda: self.model.delete_chat(chat_id),
                  lambda: self.mems[node].delete_chat(chat_id))

    @rule(node=nodes, user_id=st.sampled_from(["u1", "u2", "U1", "ü"]))
    def delete_user(self, node: int, user_id: Any) -> None:
        self.same(lambda: self.model.delete_user(user_id),
                  lambda: self.mems[node].delete_user(user_id))


@pytest.mark.parametrize("api", ["sync", "async"])
def test_backend_matches_reference_model(backend: Backend, api: str) -> None:
    machine = type(f"Machine_{backend.name}_{api}", (MemstoreMachine,),
                   {"backend": backend, "api": api})
    examples = max(1, int(EXAMPLES.get(backend.name, 100) * EXAMPLES_SCALE))
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=25, deadline=None,
        suppress_health_check=list(HealthCheck)))
