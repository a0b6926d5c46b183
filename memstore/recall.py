"""Recall: what a search of past messages matches, how hits are ranked, and the plan
that runs a search on any backend (written once; a dialect only reads and writes its
side tables, see ``Dialect.search_*`` / ``vector_*``).

**What matches (the same on every backend).** A message's *visible text* is its content,
or, for a UIMessage row (written by an integration or a TypeScript app), the text of its
text parts: never JSON keys or a framework's hidden payload. Text and query are both put
in one form: NFKC, case-folded, NFKC again (``normalize``). The query's *words* are its
runs of letters and digits (``terms``: punctuation, quotes, ``*``, ``-``, ``:`` and the
like separate words and mean nothing else). A message matches when **every word of the
query occurs in its normalized visible text, as a substring** ("deploy" finds
"redeployment"; CJK text matches without spaces).

Each database's engine only finds candidates fast and must never miss one: SQLite and
libSQL/sqld use an FTS5 trigram index (words of 3 characters or more); a query whose
words are all shorter, and PostgreSQL and MySQL/MariaDB, scan the scope's normalized
text with ``LIKE`` on the longest word. Every candidate is then checked against the rule
above in Python, so the set of hits is identical everywhere.

**Scores.** keyword: the share of the visible text that the query's words cover
(occurrences x length / length of the text, at most 1). semantic: the cosine similarity
of the query's and the message's vectors. hybrid: reciprocal rank fusion of both
rankings (k = 60): the sum of 1 / (60 + rank) over the rankings the message is in.
Ties: newest first (timestamp, then id).
"""

from __future__ import annotations

import asyncio
import inspect
import math
import operator
import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from .adapters.base import Candidate, Dialect
from .errors import ValidationError
from .integrations.codec import decode
from .models import Message
from .validate import callable_name

Mode = Literal["keyword", "semantic", "hybrid"]
MODES: tuple[str, ...] = ("keyword", "semantic", "hybrid")
# A query is at most this many characters (a pasted paragraph, not a document).
MAX_QUERY_CHARS = 10_000
# Reciprocal rank fusion's constant (Cormack et al., 2009): damps the weight of the top
# ranks so that a message both rankings like beats one only one ranking loves.
RRF_K = 60
# Rows per page when the side tables catch up with messages they have not seen yet.
PENDING_PAGE = 500
# The most messages around a hit a search returns on each side.
MAX_CONTEXT = 20
# The longest vector accepted from an embedder (OpenAI's largest model has 3,072).
MAX_DIMENSION = 8192
# FTS5's trigram tokenizer indexes runs of 3 characters: shorter words are checked by scan.
TRIGRAM = 3

Embedder = Callable[[list[str]], Any]

_WORD = re.compile(r"[^\W_]+")


def normalize(text: str) -> str:
    """The form text and queries are compared in: NFKC, case-folded, NFKC again
    (case folding can leave a string that is not NFKC, e.g. 'ǰ' -> 'ǰ')."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())


def terms(query: str) -> list[str]:
    """The query's words: its runs of letters and digits once normalized, each once, in
    order."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(normalize(query)):
        seen.setdefault(word, None)
    return list(seen)


def visible_text(role: str, content: str) -> str:
    """What a reader sees of a row: plain content as it is, a UIMessage's text parts."""
    return decode(role, content).text


def body(role: str, content: str) -> str:
    """What the keyword index holds for a row: its visible text, normalized."""
    return normalize(visible_text(role, content))


def matches(words: Sequence[str], text: str) -> bool:
    """memstore's rule: every word occurs in the normalized visible text ``text``."""
    return all(w in text for w in words)


def keyword_score(words: Sequence[str], text: str) -> float:
    """The share of ``text`` the words' occurrences cover, at most 1."""
    if not text:
        return 0.0
    covered = sum(text.count(w) * len(w) for w in words)
    return min(1.0, covered / len(text))


def like_pattern(word: str) -> str:
    """A LIKE pattern (escape character ``!``) that finds ``word`` anywhere."""
    escaped = word.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def fts_expression(words: Sequence[str]) -> str | None:
    """An FTS5 query that finds every row holding all of the words of 3 characters or
    more (each a quoted string: no FTS5 syntax can come from the user), or None when no
    word is long enough for a trigram index."""
    long_words = [w for w in words if len(w) >= TRIGRAM]
    if not long_words:
        return None
    return " AND ".join('"' + w.replace('"', '""') + '"' for w in long_words)


# -- vectors ----------------------------------------------------------------------------


def encode_vector(vector: Sequence[float]) -> bytes:
    """float32, little-endian: the same bytes on every machine and backend."""
    packed = array("f", vector)
    if sys.byteorder != "little":
        packed.byteswap()
    return packed.tobytes()


def decode_vector(blob: bytes) -> array[float]:
    packed = array("f")
    packed.frombytes(bytes(blob))
    if sys.byteorder != "little":
        packed.byteswap()
    return packed


def unit_length(vector: Sequence[float]) -> list[float]:
    norm = math.sqrt(math.fsum(x * x for x in vector))
    return [x / norm for x in vector] if norm else [0.0] * len(vector)


def cosine(unit_query: Sequence[float], unit_vector: Sequence[float]) -> float:
    """Cosine similarity of a unit-length query and a stored (unit-length) vector: their
    dot product. Vectors are stored at unit length so that a search over 10,000 of them is
    one multiply-add per dimension, no norms."""
    return float(sum(map(operator.mul, unit_query, unit_vector)))


def model_name(embedder: Embedder, name: str | None) -> str:
    """The model name recorded with each vector: ``name`` when given, else the
    embedder's ``name`` / ``model_name`` attribute, else its qualified name."""
    return callable_name("embedder_name", embedder, name, ("name", "model_name"))


def checked_vectors(texts: Sequence[str], result: Any) -> list[list[float]]:
    """An embedder's answer for ``texts``, checked: one vector per text, all of one
    dimension, finite numbers."""
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: closed, so Python does not warn of it
        raise ValidationError("embedder", "returned an awaitable: an async embedder needs "
                              "memstore.connect_async")
    try:
        vectors = [[float(x) for x in vector] for vector in result]
    except (TypeError, ValueError) as exc:
        raise ValidationError("embedder", "must return a list of float vectors, one per "
                              f"text ({exc})") from None
    if len(vectors) != len(texts):
        raise ValidationError("embedder", f"returned {len(vectors)} vectors for "
                              f"{len(texts)} texts")
    dims = {len(vector) for vector in vectors}
    if len(dims) > 1 or not all(0 < d <= MAX_DIMENSION for d in dims):
        raise ValidationError("embedder", "must return vectors of one dimension between "
                              f"1 and {MAX_DIMENSION}; got {sorted(dims)}")
    if not all(math.isfinite(x) for vector in vectors for x in vector):
        raise ValidationError("embedder", "returned a NaN or infinite number")
    return vectors


# -- a search, as a plan ------------------------------------------------------------------


class Embed(NamedTuple):
    """A step of a search plan that is not SQL: the embedder must turn ``texts`` into
    vectors (``Memory`` calls it, ``AsyncMemory`` awaits it when it is async)."""

    texts: list[str]


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One message a search found. ``score``: see ``memstore.recall`` (per mode);
    ``before`` / ``after``: with ``context=k``, up to k messages of the same chat just
    before and just after it, oldest first."""

    message: Message
    score: float
    before: tuple[Message, ...] = ()
    after: tuple[Message, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchScope:
    """Whose messages a search may see: a chat's, a user's (messages saved with that
    user id), or, with both, that user's messages in that chat."""

    chat_id: str | None
    user_id: str | None

    def holds(self, message: Any) -> bool:
        """A Message or Candidate of this scope (a chat and a user: both must hold)."""
        return ((self.chat_id is None or message.chat_id == self.chat_id)
                and (self.user_id is None or message.user_id == self.user_id))


@dataclass(frozen=True, slots=True)
class Search:
    """A validated search request."""

    query: str
    words: tuple[str, ...]
    scope: SearchScope
    mode: Mode
    limit: int
    roles: frozenset[str] | None
    before: datetime | None
    after: datetime | None
    context: int
    model: str | None  # the embedder's name (semantic and hybrid)

    def wanted(self, message: Any) -> bool:
        """A Message or Candidate passes the scope, roles and time filters."""
        return (self.scope.holds(message)
                and (self.roles is None or message.role in self.roles)
                and (self.before is None or message.timestamp < self.before)
                and (self.after is None or message.timestamp > self.after))


# What a search plan yields: SQL units, or an Embed step.
SearchPlan = Generator[Any, Any, Any]


# A ranking: (score, candidate), best first.
Ranking = list[tuple[float, Candidate]]


def ranked(scored: Ranking) -> Ranking:
    """Best score first; ties newest first (timestamp, then id)."""
    return sorted(scored, key=lambda sc: (sc[0], sc[1].timestamp, sc[1].id), reverse=True)


def fuse(*rankings: Ranking) -> Ranking:
    """Reciprocal rank fusion of rankings (each best first)."""
    score: dict[int, float] = {}
    by_id: dict[int, Candidate] = {}
    for ranking in rankings:
        for rank, (_, message) in enumerate(ranking, start=1):
            score[message.id] = score.get(message.id, 0.0) + 1.0 / (RRF_K + rank)
            by_id[message.id] = message
    return ranked([(s, by_id[i]) for i, s in score.items()])


# index_messages' progress callback: (what, how many so far); what is "text" or "vectors".
Progress = Callable[[str, int], None]


def catch_up_text(dialect: Dialect, scope: SearchScope | None,
                  progress: Progress | None = None) -> SearchPlan:
    """Give every message of the scope (None: of the whole table) that the keyword side
    table has not seen its row: found by an anti-join, never an id high-water mark (rows
    of other writers commit out of id order), page by page."""
    after, done = 0, 0
    while True:
        rows = yield from dialect.search_pending(scope, after, PENDING_PAGE)
        if rows:
            yield from dialect.search_store(
                [(i, c, u, body(r, t)) for i, c, u, r, t in rows])
            after, done = rows[-1][0], done + len(rows)
            if progress is not None:
                progress("text", done)
        if len(rows) < PENDING_PAGE:
            return


def catch_up_vectors(dialect: Dialect, scope: SearchScope | None, model: str,
                     progress: Progress | None = None) -> SearchPlan:
    """The same for ``model``'s vectors; a message with no visible text gets an empty
    vector (so it is not embedded again, and never a semantic hit)."""
    after, done = 0, 0
    while True:
        rows = yield from dialect.vector_pending(scope, model, after, PENDING_PAGE)
        if rows:
            texts = [visible_text(r, t) for _, _, _, r, t in rows]
            todo = [k for k, text in enumerate(texts) if text.strip()]
            vectors: list[list[float]] = []
            if todo:
                wanted = [texts[k] for k in todo]
                vectors = checked_vectors(wanted, (yield Embed(wanted)))
            blobs = [b""] * len(rows)
            for k, vector in zip(todo, vectors, strict=True):
                blobs[k] = encode_vector(unit_length(vector))
            yield from dialect.vector_store(model, [
                (i, c, u, len(blob) // 4, blob)
                for (i, c, u, _, _), blob in zip(rows, blobs, strict=True)])
            after, done = rows[-1][0], done + len(rows)
            if progress is not None:
                progress("vectors", done)
        if len(rows) < PENDING_PAGE:
            return


def search_plan(dialect: Dialect, search: Search) -> SearchPlan:
    """A whole search: catch the side tables up, rank the candidates (read without their
    content), read the best ones whole, then each hit's context."""
    rankings: list[Ranking] = []
    if search.mode in ("keyword", "hybrid"):
        yield from catch_up_text(dialect, search.scope)
        longest = max(search.words, key=len)
        found = yield from dialect.search_candidates(
            search.scope, fts_expression(search.words), like_pattern(longest))
        rankings.append(ranked([
            (keyword_score(search.words, c.extra), c) for c in found
            if search.wanted(c) and matches(search.words, c.extra)]))
    if search.mode in ("semantic", "hybrid"):
        assert search.model is not None  # checked with the request
        yield from catch_up_vectors(dialect, search.scope, search.model)
        query = checked_vectors([search.query], (yield Embed([search.query])))[0]
        unit_query = unit_length(query)
        scored: Ranking = []
        for c in (yield from dialect.vectors(search.scope, search.model)):
            if not c.extra or not search.wanted(c):
                continue
            vector = decode_vector(c.extra)
            if len(vector) != len(query):
                raise ValidationError("embedder", f"returned vectors of dimension "
                                      f"{len(query)}, but {search.model!r} stored "
                                      f"vectors of dimension {len(vector)}: give a "
                                      "new embedder_name when the model changes")
            scored.append((cosine(unit_query, vector), c))
        rankings.append(ranked(scored))
    best = (rankings[0] if len(rankings) == 1 else fuse(*rankings))[:search.limit]
    rows = (yield from dialect.search_messages_by_id([c.id for _, c in best])) if best else {}
    hits = []
    for score, c in best:
        message = rows.get(c.id)
        if message is None:
            continue  # deleted since it was ranked
        before: tuple[Message, ...] = ()
        after: tuple[Message, ...] = ()
        if search.context:
            around = yield from dialect.messages_around(message, search.scope.user_id,
                                                        search.context)
            before, after = tuple(around[0]), tuple(around[1])
        hits.append(SearchHit(message, score, before, after))
    return hits


def index_plan(dialect: Dialect, model: str | None,
               progress: Progress | None = None) -> SearchPlan:
    """``index_messages``: every message's keyword row (and ``model``'s vector), and
    side rows of deleted messages removed. How many side rows were removed."""
    yield from catch_up_text(dialect, None, progress)
    if model is not None:
        yield from catch_up_vectors(dialect, None, model, progress)
    removed = yield from dialect.search_orphans()
    return removed


async def embed_async(embedder: Embedder, texts: list[str]) -> Any:
    """An embedder's answer in the async API: a coroutine function is awaited; a plain
    callable runs on a worker thread (a model's encode() would otherwise block the event
    loop for its whole run), and what it returns is awaited if it is awaitable."""
    # an object whose __call__ is async counts as a coroutine function too
    call = type(embedder).__call__ if not inspect.isfunction(embedder) else embedder
    if inspect.iscoroutinefunction(embedder) or inspect.iscoroutinefunction(call):
        result = await embedder(texts)
    else:
        result = await asyncio.to_thread(embedder, texts)
    if inspect.isawaitable(result):
        result = await result
    return result
