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
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

T = TypeVar("T")

# What a statement's execution hands back to the plan.
Want = Literal["none", "rows", "rowcount", "lastrowid"]
# read: no write at all. write_one: exactly one statement that writes (atomic by itself in
# autocommit mode). write: several statements that must apply together.
Kind = Literal["read", "write_one", "write"]


@dataclass(frozen=True, slots=True)
class Stmt:
    """One statement: its SQL text (from the dialect's .sql files), its parameters (a
    mapping for named parameters, a sequence for positional ones) and what it returns."""

    sql: str
    params: Mapping[str, Any] | Sequence[Any]
    want: Want = "none"


@dataclass(frozen=True, slots=True)
class Unit:
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


def run(plan: Plan[T], execute: Callable[[Unit], list[Any]]) -> T:
    """Drive ``plan`` with a blocking ``execute``."""
    try:
        unit = next(plan)
        while True:
            unit = plan.send(execute(unit))
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


async def arun(plan: Plan[T], execute: Callable[[Unit], Awaitable[list[Any]]]) -> T:
    """Drive ``plan`` with an awaitable ``execute``.

    A unit that was started runs to its end even if the calling task is cancelled: a
    write is then committed or rolled back as a whole, the connection stays usable, and
    ``CancelledError`` is raised once the unit is over (what the OpenAI Agents SDK asks of
    a session). Nothing after that unit runs."""
    try:
        unit = next(plan)
        while True:
            unit = plan.send(await _uncancellable(execute(unit)))
    except StopIteration as finished:
        return finished.value  # type: ignore[no-any-return]


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
