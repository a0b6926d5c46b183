"""The markdown tables of `python -m bench` (and bench.peers, bench.async_main)."""

from __future__ import annotations

from collections.abc import Sequence

from . import timing

FLAT = ("last 50, 10,000-message chat", "last 50, 10-message chat", "last 50, typical chat")


def table(name: str, results: dict[str, timing.Samples],
          alternatives: Sequence[str] = (), flat: bool = True) -> list[str]:
    """One backend's markdown table; ``alternatives`` are further sides (other drivers
    doing the raw side's SQL), each as three more columns: its median, and that median
    over raw's and over memstore's."""
    extra = "".join(f" | {a} median µs | {a} ÷ raw | {a} ÷ memstore" for a in alternatives)
    lines = [f"### {name}", "",
             "| op | raw median µs | memstore median µs | ratio | memstore − raw µs "
             f"| raw p10–p90 µs | memstore p10–p90 µs{extra} |",
             "|---|---:|---:|---:|---:|---|---|" + "---:|---:|---:|" * len(alternatives)]
    for op, s in results.items():
        raw, mine = timing.summary(s.get("raw", [])), timing.summary(s.get("memstore", []))
        cells = [op, f"{raw['median_us']:.1f}" if raw else "-",
                 f"{mine['median_us']:.1f}" if mine else "-",
                 f"{mine['median_us'] / raw['median_us']:.2f}" if raw and mine else "-",
                 f"{mine['median_us'] - raw['median_us']:.1f}" if raw and mine else "-",
                 f"{raw['p10_us']:.0f}–{raw['p90_us']:.0f}" if raw else "-",
                 f"{mine['p10_us']:.0f}–{mine['p90_us']:.0f}" if mine else "-"]
        for a in alternatives:
            alt = timing.summary(s.get(a, []))
            cells += [f"{alt['median_us']:.1f}" if alt else "-",
                      f"{alt['median_us'] / raw['median_us']:.2f}" if alt and raw else "-",
                      f"{alt['median_us'] / mine['median_us']:.2f}" if alt and mine else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if flat:
        lines += ["", flatness(results)]
    return lines


def flatness(results: dict[str, timing.Samples]) -> str:
    """The issue's flatness figure (10,000-message chat / 10-message chat), and the one with
    the same 50 rows returned (10,000-message chat / typical chat), for memstore and raw."""
    out = []
    for side in ("memstore", "raw"):
        big, small, typical = (timing.summary(results.get(k, {}).get(side, []))
                               for k in FLAT)
        if big and small and typical:
            out.append(f"{side} {big['median_us'] / small['median_us']:.2f} / "
                       f"{big['median_us'] / typical['median_us']:.2f}")
    return ("last 50 flatness, 10,000-message chat ÷ 10-message chat (50 rows vs 10) / "
            "÷ typical chat (50 rows each): " + "; ".join(out)) if out else ""
