"""Interleaved timing: memstore and the raw driver, op by op, in rotating rounds.

``run`` times blocking calls; ``arun`` times coroutine functions the same way inside the
running event loop (time.perf_counter around each ``await``), for the async rows."""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

# Time one side of one op may take per round. A slow op (a scan of the in-process store at
# a million rows) gets fewer calls per round rather than stretching the run to hours;
# every side still gets at least MIN_CALLS per round.
ROUND_BUDGET_S = 0.5
MIN_CALLS = 3


@dataclass
class Op:
    name: str
    memstore: Callable[[], object] | None
    raw: Callable[[], object] | None
    calls: int = 50
    setup: Callable[[], object] | None = None  # run untimed before every call
    # Other libraries doing the same thing (make bench-peers), by label, and the set-up
    # of a side whose data is elsewhere (instead of ``setup``).
    peers: dict[str, Callable[[], object] | None] = field(default_factory=dict)
    setups: dict[str, Callable[[], object]] = field(default_factory=dict)

    def sides(self) -> list[tuple[str, Callable[[], object]]]:
        every = [("raw", self.raw), ("memstore", self.memstore), *self.peers.items()]
        return [(label, fn) for label, fn in every if fn is not None]


Samples = dict[str, list[float]]  # seconds per call, by side


def _time(fn: Callable[[], object], setup: Callable[[], object] | None, n: int) -> list[float]:
    out = []
    for _ in range(n):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def _calls(op: Op) -> dict[str, int]:
    """One untimed warm-up call per side (statement caches, first-use imports), which
    also sizes the side's calls per round to the budget."""
    calls = {}
    for side, fn in op.sides():
        took = _time(fn, op.setups.get(side, op.setup), 1)[0]
        calls[side] = max(MIN_CALLS, min(op.calls, int(ROUND_BUDGET_S / max(took, 1e-9))))
    return calls


def run(ops: list[Op], rounds: int) -> dict[str, Samples]:
    """Each round runs every op, each side in turn, with the op order and the side order
    rotated from round to round, so drift on a noisy machine hits every side alike."""
    ops = [op for op in ops if op.sides()]
    samples: dict[str, Samples] = {op.name: {side: [] for side, _ in op.sides()} for op in ops}
    calls = {op.name: _calls(op) for op in ops}
    for r in range(rounds):
        for op in ops[r % len(ops):] + ops[:r % len(ops)]:
            sides = op.sides()
            for side, fn in sides[r % len(sides):] + sides[:r % len(sides)]:
                samples[op.name][side] += _time(fn, op.setups.get(side, op.setup),
                                                calls[op.name][side])
    return samples


async def _atime(fn: Callable[[], object], setup: Callable[[], object] | None,
                 n: int) -> list[float]:
    out = []
    for _ in range(n):
        if setup is not None:
            await cast(Awaitable[object], setup())
        t = time.perf_counter()
        await cast(Awaitable[object], fn())
        out.append(time.perf_counter() - t)
    return out


async def _acalls(op: Op) -> dict[str, int]:
    calls = {}
    for side, fn in op.sides():
        took = (await _atime(fn, op.setups.get(side, op.setup), 1))[0]
        calls[side] = max(MIN_CALLS, min(op.calls, int(ROUND_BUDGET_S / max(took, 1e-9))))
    return calls


async def arun(ops: list[Op], rounds: int) -> dict[str, Samples]:
    """``run`` for ops whose sides (and set-ups) are coroutine functions: the same warm-up,
    budget and rotation, every call awaited in the running loop."""
    ops = [op for op in ops if op.sides()]
    samples: dict[str, Samples] = {op.name: {side: [] for side, _ in op.sides()} for op in ops}
    calls = {op.name: await _acalls(op) for op in ops}
    for r in range(rounds):
        for op in ops[r % len(ops):] + ops[:r % len(ops)]:
            sides = op.sides()
            for side, fn in sides[r % len(sides):] + sides[:r % len(sides)]:
                samples[op.name][side] += await _atime(fn, op.setups.get(side, op.setup),
                                                       calls[op.name][side])
    return samples


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    q = (statistics.quantiles(values, n=10, method="inclusive") if len(values) > 1
         else values * 9)
    return {"median_us": statistics.median(values) * 1e6, "p10_us": q[0] * 1e6,
            "p90_us": q[-1] * 1e6, "n": len(values)}
