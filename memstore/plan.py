"""Operations as I/O-free plans, and the loops that drive them (sync and async).

Every operation is written once, as a generator: it validates, then yields a ``Unit``
(named statements of its dialect, already bound to their parameters, each with the result
it wants) and receives that unit's results, as often as it needs, and finally returns the
operation's value. It never touches a driver. A runner executes units: the sync runner of
a driver with blocking calls, the async runner with ``await``; ``run`` and ``arun`` are the
only difference between ``Memory`` and ``AsyncMemory`` (the shape of psycopg's generators
driven by ``wait()``/``wait_async()``, and of httpx's auth flows).

The transaction rule is here too, written once for every DB-API driver: ``bracket()`` says
which statements surround a unit, from what the unit is and what state the connection is in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, TypeVar

from .errors import ConflictError, RetriesExhaustedError

log = logging.getLogger("memstore")

T = TypeVar("T")

# What a statement's execution hands back to the plan.
Want = Literal["none", "rows", "rowcount", "lastrowid"]
# read: no write at all. write_one: exactly one statement that writes (atomic by itself in
# autocommit mode). write: several statements that must apply together.
Kind = Literal["read", "write_one", "write"]


class Stmt(NamedTuple):
    """One statement: its SQL text (from the dialect's .sql files), its parameters (a
    mapping for named parameters, a sequence for positional ones) and what it returns.
    (Named tuples, Stmt and Unit: every call builds them, and one costs a third of a
    frozen dataclass.)"""

    sql: str
    params: Mapping[str, Any] | Sequence[Any]
    want: Want = "none"


class Unit(NamedTuple):
    """Statements that run as one atomic step of an operation, in order."""

    kind: Kind
    stmts: tuple[Stmt, ...]


# A plan yields units, receives each unit's results (one per statement, by ``want``:
# rows as a list of tuples, a rowcount, a last row id, or None) and returns its value.
Plan = Generator[Unit, list[Any], T]


def done(value: T) -> Plan[T]:
    """A plan that needs no statement (the in-process store does its work directly)."""
    return value
    yield  # pragma: no cover - makes this a generator


@dataclass(frozen=True, slots=True)
class Retry:
    """How a unit that conflicted with another transaction is run again (only a unit in
    memstore's own transaction: it was rolled back whole, so running it again is safe).
    At most ``attempts`` runs (None: no count) and no retry starts later than ``deadline``
    seconds after the first conflict (None: no deadline); pauses grow from ``first`` to
    ``longest`` seconds, jittered so that the conflicting callers do not meet again."""

    attempts: int | None = 4
    first: float = 0.005
    longest: float = 0.2
    deadline: float | None = None

    def pauses(self) -> Iterator[float]:
        """The pause before each retry, computed as the retries go (the deadline counts
        from the first call of ``next``, right after the first conflict)."""
        end = None if self.deadline is None else time.monotonic() + self.deadline
        pause, retries = self.first, 0
        while self.attempts is None or retries < self.attempts - 1:
            wait = random.uniform(pause / 2, pause)
            if end is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return
                wait = min(wait, left)
            yield wait
            retries += 1
            pause = min(pause * 2, self.longest)

    @property
    def bounds(self) -> str:
        """What limits the retries, for messages."""
        parts = []
        if self.attempts is not None:
            parts.append(f"retries={self.attempts - 1}")
        if self.deadline is not None:
            parts.append(f"retry_deadline={self.deadline:g} s")
        return ", ".join(parts)


NO_RETRY = Retry(attempts=1)


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, ConflictError) and exc.own_transaction


def _exhausted(exc: ConflictError, attempts: int, retry: Retry) -> RetriesExhaustedError:
    err = RetriesExhaustedError(
        f"{exc} (still conflicting after {attempts} attempts in memstore's own "
        f"transaction ({retry.bounds}); nothing was written)")
    err.own_transaction = True
    return err


def run(plan: Plan[T], execute: Callable[[Unit], list[Any]], retry: Retry = NO_RETRY) -> T:
    """Drive ``plan`` with a blocking ``execute``."""
    try:
        unit = next(plan)
        while True:
            try:
                results = execute(unit)  # the usual case, inline: a call is mostly this
            except ConflictError as exc:
                results = _again(unit, execute, retry, exc)
            unit = plan.send(results)
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


def _again(unit: Unit, execute: Callable[[Unit], list[Any]], retry: Retry,
           exc: ConflictError) -> list[Any]:
    """After the first attempt of ``unit`` lost a conflict: the retries, if it may."""
    if retry.attempts == 1 or not _retryable(exc):
        raise exc
    last, attempts = exc, 1
    for pause in retry.pauses():
        log.info("memstore: retrying a %s unit after a conflict: %s", unit.kind, last)
        time.sleep(pause)
        attempts += 1
        try:
            return execute(unit)
        except ConflictError as exc:
            if not _retryable(exc):
                raise
            last = exc
    raise _exhausted(last, attempts, retry) from last


async def arun(plan: Plan[T], execute: Callable[[Unit], Awaitable[list[Any]]],
               retry: Retry = NO_RETRY, *, shield: bool = True) -> T:
    """Drive ``plan`` with an awaitable ``execute``.

    A task cancelled during a unit gets ``CancelledError`` only once the unit's outcome
    is settled: a write committed or rolled back as a whole, the connection usable (what
    the OpenAI Agents SDK asks of a session); nothing after that unit runs. ``shield``:
    run each unit in a task of its own that the cancellation cannot reach (two more loop
    iterations a call). A runner that settles the outcome itself when cancelled (psycopg
    cancels the statement in the server, waits for that, and memstore rolls back; the
    thread runner waits for its thread) passes False."""
    try:
        unit = next(plan)
        while True:
            unit = plan.send(await _aattempt(unit, execute, retry, shield))
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


async def _aattempt(unit: Unit, execute: Callable[[Unit], Awaitable[list[Any]]],
                    retry: Retry, shield: bool) -> list[Any]:
    try:
        return await (_uncancellable(execute(unit)) if shield else execute(unit))
    except ConflictError as exc:
        if retry.attempts == 1 or not _retryable(exc):
            raise
        last, attempts = exc, 1
    for pause in retry.pauses():
        log.info("memstore: retrying a %s unit after a conflict: %s", unit.kind, last)
        await asyncio.sleep(pause)  # a cancel here leaves nothing half-written
        attempts += 1
        try:
            return await (_uncancellable(execute(unit)) if shield else execute(unit))
        except ConflictError as exc:
            if not _retryable(exc):
                raise
            last = exc
    raise _exhausted(last, attempts, retry) from last


async def _uncancellable(step: Awaitable[list[Any]]) -> list[Any]:
    task = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if not task.done():
            # The unit's outcome first (its own error, if any, is not the news here).
            await asyncio.wait([task])
        if task.done() and not task.cancelled():
            task.exception()  # retrieved, so asyncio does not log it as never seen
        raise


# -- the transaction rule ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Bracket:
    """Statement names (in the dialect's tx.sql) around a unit: opened with ``open``,
    ended with ``close``, undone on failure with ``undo`` in order. ``savepoint`` marks the
    statements that take a savepoint name."""

    open: str | None = None
    close: str | None = None
    undo: tuple[str, ...] = ()
    savepoint: bool = False


NO_BRACKET = Bracket()
SAVEPOINT = Bracket("savepoint", "release", ("rollback_to", "release"), savepoint=True)
OWN = Bracket("begin", "commit", ("rollback",))
# The driver (or the database) opened a transaction at the first statement by itself.
IMPLICIT = Bracket(None, "commit", ("rollback",))


def bracket(kind: Kind, *, in_transaction: bool, autocommit: bool,
            implicit_begin: bool) -> Bracket:
    """The transaction rule, for every DB-API driver memstore supports.

    - Inside the caller's transaction, a unit joins it under a savepoint of its own, so a
      failure undoes the unit and keeps the caller's work.
    - Otherwise a unit runs in its own transaction, except where the database makes it
      atomic by itself: a read, or a single writing statement in autocommit mode (each
      BEGIN/COMMIT is a round trip more).
    - A connection that is not in autocommit mode and whose driver opens a transaction
      at the first statement (``implicit_begin``: psycopg, PyMySQL) gets that transaction
      committed at the end, reads included, so no call leaves a transaction open.
    """
    if in_transaction:
        return SAVEPOINT
    if not autocommit and implicit_begin:
        return IMPLICIT
    if kind == "write" or (kind == "write_one" and not autocommit):
        return OWN
    return NO_BRACKET
