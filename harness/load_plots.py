"""The plots that answer the load stage's questions (drawn on a matplotlib ``Figure``):

- SC-009: P50/P95/P99 of each endpoint against the threshold, and the P95 over time;
- SC-008: users, requests/s and failures/s over time;
- a criterion measured in phases (SC-002: idle, then under load): one ECDF per phase.

Each function returns False, drawing nothing, when the verdict lacks what it needs.
"""

from __future__ import annotations

import math
from typing import Any

from harness.verdicts import Verdict

__all__ = ["DRAWINGS", "load_over_time", "percentiles", "phases"]

_BLUE, _RED, _GREY = "#0969da", "#cf222e", "#6e7781"
_PERCENTILES = (
    ("p50_ms", "P50", "#9ecbff"),
    ("p95_ms", "P95", _BLUE),
    ("p99_ms", "P99", "#0a3069"),
)


def _timeline(verdict: Verdict) -> list[list[Any]]:
    rows = verdict.details.get("timeline")
    return rows if isinstance(rows, list) and len(rows) >= 2 else []


def _value(row: list[Any], index: int) -> float:
    value = row[index] if index < len(row) else None
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.nan


def percentiles(fig: Any, verdict: Verdict) -> bool:
    endpoints = [e for e in verdict.details.get("endpoints", []) if e.get("method") != "SSE"]
    if not endpoints:
        return False
    timeline = _timeline(verdict)
    bars, over_time = (
        fig.subplots(1, 2, width_ratios=(3, 2)) if timeline else (fig.add_subplot(), None)
    )
    width = 0.27
    for i, (key, label, colour) in enumerate(_PERCENTILES):
        xs = [n + (i - 1) * width for n in range(len(endpoints))]
        ys = [e.get(key) if e.get(key) is not None else math.nan for e in endpoints]
        bars.bar(xs, ys, width, label=label, color=colour)
    bars.set_xticks(
        range(len(endpoints)), [e["name"] for e in endpoints], rotation=35, ha="right", fontsize=8
    )
    bars.set_ylabel("milliseconds", parse_math=False)
    bars.set_title(f"{verdict.id}: percentiles per endpoint", loc="left", parse_math=False)
    if verdict.threshold is not None:
        bars.axhline(
            verdict.threshold,
            color="red",
            linestyle="--",
            linewidth=1.2,
            label=f"threshold {verdict.threshold:g} ms",
        )
    bars.legend(fontsize=8)
    bars.grid(axis="y", alpha=0.3)
    if over_time is not None:
        seconds = [_value(r, 0) for r in timeline]
        over_time.plot(seconds, [_value(r, 4) for r in timeline], color=_BLUE, linewidth=1.4)
        if verdict.threshold is not None:
            over_time.axhline(verdict.threshold, color="red", linestyle="--", linewidth=1.2)
        over_time.set_xlabel("seconds into the load", parse_math=False)
        over_time.set_title(
            "P95 of the last 10 s, over time", loc="left", fontsize=9, parse_math=False
        )
        over_time.grid(alpha=0.3)
    return True


def load_over_time(fig: Any, verdict: Verdict) -> bool:
    timeline = _timeline(verdict)
    if not timeline:
        return False
    seconds = [_value(r, 0) for r in timeline]
    users = fig.add_subplot()
    users.plot(seconds, [_value(r, 1) for r in timeline], color=_GREY, linewidth=1.6, label="users")
    users.set_ylabel("users", parse_math=False)
    users.set_xlabel("seconds into the load", parse_math=False)
    rates = users.twinx()
    rates.plot(
        seconds, [_value(r, 2) for r in timeline], color=_BLUE, linewidth=1.2, label="requests/s"
    )
    rates.plot(
        seconds, [_value(r, 3) for r in timeline], color=_RED, linewidth=1.2, label="failures/s"
    )
    rates.set_ylabel("per second", parse_math=False)
    rates.set_ylim(bottom=0)
    users.set_ylim(bottom=0)
    handles = users.get_legend_handles_labels()[0] + rates.get_legend_handles_labels()[0]
    users.legend(handles=handles, fontsize=8, loc="upper left")
    users.set_title(f"{verdict.id}: load over time", loc="left", parse_math=False)
    users.grid(alpha=0.3)
    return True


def phases(fig: Any, verdict: Verdict) -> bool:
    """Samples labelled ``<phase>: ...`` in two phases or more: one ECDF each (a threshold far
    beyond the samples is named, not drawn, so that they do not crowd into a corner)."""
    grouped: dict[str, list[float]] = {}
    for sample in verdict.samples:
        phase, colon, _ = sample.label.partition(": ")
        if not colon or not math.isfinite(sample.value):
            return False
        grouped.setdefault(phase, []).append(sample.value)
    if len(grouped) < 2:
        return False
    ax = fig.add_subplot()
    colours = (_BLUE, "#bf8700", "#8250df", _GREY)
    for (phase, values), colour in zip(grouped.items(), colours, strict=False):
        xs = sorted(values)
        ys = [(i + 1) / len(xs) for i in range(len(xs))]
        label = f"{phase.replace('_', ' ')}: {len(xs)} samples, max {xs[-1]:.3g} {verdict.unit}"
        ax.step(xs, ys, where="post", color=colour, linewidth=1.6, label=label)
    largest = max(max(values) for values in grouped.values())
    threshold = verdict.threshold
    if threshold is not None and threshold > 5 * largest > 0:
        ax.set_xlim(0, largest * 1.25)  # the threshold far off: say so instead of drawing it
        ax.text(
            0.99,
            0.5,
            f"threshold {threshold:g} {verdict.unit} →\n{threshold / largest:.0f}x the slowest",
            transform=ax.transAxes,
            ha="right",
            color="red",
            fontsize=9,
            parse_math=False,
        )
    elif threshold is not None:
        ax.axvline(
            threshold,
            color="red",
            linestyle="--",
            linewidth=1.2,
            label=f"threshold {threshold:g} {verdict.unit}",
        )
    ax.set_xlabel(verdict.unit or "value", parse_math=False)
    ax.set_ylabel("fraction of samples ≤ x", parse_math=False)
    ax.set_ylim(0, 1.05)
    ax.set_title(f"{verdict.id}: each phase's distribution", loc="left", parse_math=False)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    return True


DRAWINGS = (percentiles, load_over_time, phases)
