"""Interleaved timing: memstore and the raw driver, op by op, in rotating rounds."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Op:
    name: str
    memstore: Callable[[], object] | None
    raw: Callable[[], object] | None
    calls: int = 50
    setup: Callable[[], object] | None = None  # run untimed before every call


@dataclass
class Samples:
    memstore: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)


def _time(fn: Callable[[], object], setup: Callable[[], object] | None, n: int) -> list[float]:
    out = []
    for _ in range(n):
        if setup is not None:
            setup()
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def run(ops: list[Op], rounds: int) -> dict[str, Samples]:
    """Each round runs every op, raw then memstore or memstore then raw alternately, with
    the op order rotated, so drift on a noisy machine hits both sides alike."""
    samples = {op.name: Samples() for op in ops}
    for r in range(rounds):
        order = ops[r % len(ops):] + ops[:r % len(ops)]
        for op in order:
            sides = [("raw", op.raw), ("memstore", op.memstore)]
            if r % 2:
                sides.reverse()
            for side, fn in sides:
                if fn is not None:
                    getattr(samples[op.name], side).extend(_time(fn, op.setup, op.calls))
    return samples


def summary(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    q = statistics.quantiles(values, n=10) if len(values) >= 10 else [min(values)] * 9
    return {"median_us": statistics.median(values) * 1e6, "p10_us": q[0] * 1e6,
            "p90_us": q[-1] * 1e6, "n": len(values)}
