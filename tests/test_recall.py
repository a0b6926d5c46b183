"""Recall beyond the Hypothesis machine (which checks keyword search against the model):
semantic and hybrid search with a deterministic embedder on every backend and both APIs,
model switches, embedder errors, rows deleted behind memstore's back, the side tables
catching up with rows another writer saved."""

from __future__ import annotations

import asyncio
import hashlib
import math
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

import memstore
from memstore.integrations.codec import ui_message
from tests.async_bridge import open_blocking
from tests.backends import Backend

T0 = datetime(2025, 3, 1, tzinfo=timezone.utc)
DIM = 16


def bag_of_words(texts: list[str]) -> list[list[float]]:
    """A deterministic embedder: counts of each word's hash bucket (small integers, exact
    in float32). Texts sharing words point the same way."""
    out = []
    for text in texts:
        vector = [0.0] * DIM
        for word in text.lower().split():
            bucket = hashlib.sha256(word.strip(".,!?").encode()).digest()[0] % DIM
            vector[bucket] += 1.0
        out.append(vector)
    return out


async def async_bag_of_words(texts: list[str]) -> list[list[float]]:
    await asyncio.sleep(0)
    return bag_of_words(texts)


CORPUS = [  # (chat, user, role, text)
    ("c1", "u1", "user", "we deploy the billing service on kubernetes"),
    ("c1", "u1", "assistant", "the deploy of billing finished at noon"),
    ("c1", "u1", "user", "thanks, what about the database migration"),
    ("c2", "u1", "user", "my cat likes tuna and sleeping"),
    ("c2", "u1", "assistant", "cats often sleep sixteen hours a day"),
    ("c3", "u2", "user", "secret: deploy billing kubernetes database"),
]


@pytest.fixture
def searchable(backend: Backend, api: str) -> Iterator[Any]:
    embedder = bag_of_words if api == "sync" else async_bag_of_words
    opts = {"embedder": embedder, "embedder_name": "bag-of-words-16"}
    mem: Any = backend.open(None, **opts) if api == "sync" \
        else open_blocking(backend.open_async, None, **opts)
    try:
        for k, (chat, user, role, text) in enumerate(CORPUS):
            content = ui_message(role, text) if role == "assistant" else text  # type: ignore[arg-type]
            mem.save_message(chat, role, content, user_id=user,
                             timestamp=T0 + timedelta(minutes=k))
        yield mem
    finally:
        mem.close()


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


def expected_semantic(query: str, user: str) -> list[tuple[str, float]]:
    """The ranking by cosine, computed here from the texts (ties newest first)."""
    [q] = bag_of_words([query])
    rows = [(cosine(q, bag_of_words([text])[0]), k, text)
            for k, (_, u, _, text) in enumerate(CORPUS) if u == user]
    rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
    return [(text, score) for score, _, text in rows]


def texts_of(hits: list[Any]) -> list[str]:
    """The visible text of hits (or of messages)."""
    messages = [getattr(h, "message", h) for h in hits]
    return [memstore.recall.visible_text(m.role, m.content) for m in messages]


def test_semantic_search_ranks_by_cosine_within_the_user(searchable: Any) -> None:
    hits = searchable.search_messages("billing deploy kubernetes", user_id="u1",
                                      mode="semantic", limit=10)
    want = expected_semantic("billing deploy kubernetes", "u1")
    assert texts_of(hits) == [t for t, _ in want]  # never u2's message
    assert [round(h.score, 5) for h in hits] == [round(s, 5) for _, s in want]
    assert all(h.message.user_id == "u1" for h in hits)


def test_hybrid_fuses_both_rankings(searchable: Any) -> None:
    hits = searchable.search_messages("deploy billing", user_id="u1", mode="hybrid", limit=10)
    keyword = [t for (_, u, _, t) in CORPUS if u == "u1" and "deploy" in t and "billing" in t]
    semantic = [t for t, _ in expected_semantic("deploy billing", "u1")]
    fused: dict[str, float] = {}
    for ranking in (
            sorted(keyword, key=lambda t: (len("deploy") * t.count("deploy") + len("billing")
                                           * t.count("billing")) / len(t), reverse=True),
            semantic):
        for rank, text in enumerate(ranking, start=1):
            fused[text] = fused.get(text, 0.0) + 1 / (60 + rank)
    newest = {t: k for k, (_, _, _, t) in enumerate(CORPUS)}
    assert texts_of(hits)[:2] == sorted(keyword, key=lambda t: (-fused[t], -newest[t]))
    assert [round(h.score, 9) for h in hits] == sorted(
        (round(s, 9) for s in fused.values()), reverse=True)


def test_every_mode_in_a_chat_with_context(searchable: Any) -> None:
    for mode in ("keyword", "semantic", "hybrid"):
        hits = searchable.search_messages("migration", chat_id="c1", mode=mode, limit=1,
                                          context=1)
        assert texts_of(hits) == ["thanks, what about the database migration"]
        assert texts_of(list(hits[0].before)) == ["the deploy of billing finished at noon"]
        assert hits[0].after == ()


def test_a_deleted_message_is_never_found_again(searchable: Any) -> None:
    assert searchable.search_messages("tuna", user_id="u1", mode="hybrid")
    searchable.delete_chat("c2")
    for mode in ("keyword", "semantic", "hybrid"):
        found = searchable.search_messages("tuna cats", user_id="u1", mode=mode, limit=100)
        assert all(h.message.chat_id != "c2" for h in found)
    # the side rows of c2's messages are gone once the index is tidied: 2 texts, 2 vectors
    assert searchable.index_messages() == 4
    assert searchable.index_messages() == 0


def test_a_new_model_name_gets_its_own_vectors(backend: Backend) -> None:
    mem = backend.open(None, embedder=bag_of_words, embedder_name="m1")
    try:
        mem.save_message("c", "user", "alpha beta", user_id="u")
        assert len(mem.search_messages("alpha", user_id="u", mode="semantic")) == 1
        # another embedder under the same name, on the same connection (not closed here)
        same_name = memstore.Memory(mem._dialect, mem._runner,
                                    embedder=lambda ts: [[1.0, 0.0] for _ in ts],
                                    embedder_name="m1")
        with pytest.raises(memstore.ValidationError) as info:
            same_name.search_messages("alpha", user_id="u", mode="semantic")
        assert info.value.field == "embedder" and "dimension" in str(info.value)
    finally:
        mem.close()
    other = backend.open(None, embedder=lambda ts: [[1.0, 0.0] for _ in ts],
                         embedder_name="m2")
    try:
        other.save_message("c", "user", "gamma", user_id="u")
        hits = other.search_messages("alpha", user_id="u", mode="semantic")
        assert [h.message.content for h in hits] == ["gamma"]  # only this store's row
        assert hits[0].score == pytest.approx(1.0)
    finally:
        other.close()


@pytest.mark.parametrize(("embedder", "why"), [
    (lambda ts: [[1.0]], "vectors for"),  # one vector for two texts
    (lambda ts: [[float("nan")] for _ in ts], "NaN"),
    (lambda ts: [[1.0] * (i + 1) for i, _ in enumerate(ts)], "one dimension"),
    (lambda ts: ["abc" for _ in ts], "float vectors"),
    (async_bag_of_words, "connect_async"),
])
def test_a_bad_embedder_is_a_validation_error(embedder: Any, why: str) -> None:
    with memstore.connect("memory://", embedder=embedder, embedder_name="bad") as mem:
        mem.save_messages("c", [{"role": "user", "content": "one two"},
                                {"role": "user", "content": "three four"}], user_id="u")
        with pytest.raises(memstore.ValidationError, match=why) as info:
            mem.search_messages("one", user_id="u", mode="semantic")
        assert info.value.field == "embedder"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"query": "x"}, "user_id"),  # no scope
    ({"query": "x", "user_id": "u", "mode": "fuzzy"}, "mode"),
    ({"query": "x", "user_id": "u", "mode": "semantic"}, "embedder"),
    ({"query": "x", "user_id": "u", "mode": "hybrid"}, "embedder"),
    ({"query": "x", "user_id": "u", "roles": "user"}, "roles"),
    ({"query": "x", "user_id": "u", "before": datetime(2025, 1, 1)}, "before"),
    ({"query": "x", "user_id": "u", "after": "yesterday"}, "after"),
    ({"query": "x", "user_id": "u", "limit": 0}, "limit"),
    ({"query": "x", "user_id": "u", "context": 21}, "context"),
    ({"query": "?!*", "user_id": "u"}, "query"),
    ({"query": "x" * 10_001, "user_id": "u"}, "query"),
])
def test_bad_search_arguments_name_their_field(kwargs: dict[str, Any], field: str) -> None:
    with memstore.connect("memory://") as mem:
        query = kwargs.pop("query")
        with pytest.raises(memstore.ValidationError) as info:
            mem.search_messages(query, **kwargs)
        assert info.value.field == field


def test_before_and_after_narrow_by_time(searchable: Any) -> None:
    hits = searchable.search_messages("the", user_id="u1", limit=10,
                                      after=T0, before=T0 + timedelta(minutes=2))
    assert texts_of(hits) == ["the deploy of billing finished at noon"]


def test_rows_another_writer_saves_and_deletes(tmp_path: Path) -> None:
    """A TS app writes and deletes rows without touching memstore's side tables: its rows
    are found (the anti-join catch-up), its deletes never come back."""
    path = tmp_path / "shared.db"
    with memstore.connect(f"sqlite:///{path}") as mem:
        mem.init_schema()
        mem.save_message("c1", "user", "first note about Tokyo", user_id="u")
        assert len(mem.search_messages("tokyo", user_id="u")) == 1  # indexed now
        other = sqlite3.connect(path)
        with other:
            other.execute("INSERT INTO conversation_messages (chat_id, user_id, role, content,"
                          " timestamp) VALUES ('c1', 'u', 'assistant', ?, 1741000000)",
                          (ui_message("assistant", "Tokyo tower is 333 m"),))
            other.execute("DELETE FROM conversation_messages WHERE content = ?",
                          ("first note about Tokyo",))
        other.close()
        hits = mem.search_messages("tokyo", user_id="u")
        assert [h.message.role for h in hits] == ["assistant"]
        assert mem.index_messages() == 1  # the deleted row's side row


def test_before_init_search_and_budgets_name_the_missing_table(tmp_path: Path) -> None:
    """On the TS package's own tables, before `memstore init`: a clear SchemaError for
    the new calls, and every other call as before."""
    path = tmp_path / "ts.db"
    conn = sqlite3.connect(path)
    conn.executescript((Path(__file__).parent / "fixtures" / "ts_schema_sqlite.sql")
                       .read_text())
    conn.close()
    with memstore.connect(f"sqlite:///{path}") as mem:
        mem.save_message("c", "user", "hello there", user_id="u")
        with pytest.raises(memstore.SchemaError, match=r"memstore_search.*memstore init"):
            mem.search_messages("hello", user_id="u")
        with pytest.raises(memstore.SchemaError, match=r"memstore_tokens.*memstore init"):
            mem.get_messages("c", max_tokens=10)
        mem.init_schema()
        assert [h.message.content for h in mem.search_messages("hello", user_id="u")] == [
            "hello there"]
        assert len(mem.get_messages("c", max_tokens=10)) == 1
