"""The plots of report.html, as PNG bytes (matplotlib's Agg canvas: no global backend).

A criterion whose samples are per-second ratios (SC-007: availability each second of the run)
is drawn as a timeline, so when an outage happened shows; the load stage's criteria as their
questions need (``harness.load_plots``: percentiles per endpoint, load over time, a
distribution per phase); others as the distribution of their samples against the threshold (a
histogram from 20 samples, an ECDF below).
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable

from harness.formatting import format_pair
from harness.load_plots import DRAWINGS
from harness.verdicts import Verdict

__all__ = ["PlotFunction", "plotter"]

PlotFunction = Callable[[Verdict, list[float]], bytes]
HISTOGRAM_MIN_SAMPLES = 20  # fewer samples are drawn as an ECDF, one marker per sample
_SECOND = re.compile(r"second(\d+)")
_UNIT_NAMES = {"s": "seconds", "ms": "milliseconds", "ratio": "ratio", "count": "count"}


def _per_second(verdict: Verdict) -> list[tuple[int, float]] | None:
    """(second, value) when every sample is labelled ``second<N>`` (a timeline), else None."""
    points = []
    for sample in verdict.samples:
        match = _SECOND.fullmatch(sample.label)
        if match is None or not math.isfinite(sample.value):
            return None
        points.append((int(match.group(1)), sample.value))
    return sorted(points) or None


def plotter() -> PlotFunction | None:
    """The PNG plotting function, or None where matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        return None

    def timeline(verdict: Verdict, points: list[tuple[int, float]]) -> bytes:
        fig = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        seconds = [s for s, _ in points] + [points[-1][0] + 1]  # the last second drawn whole
        ratios = [r for _, r in points] + [points[-1][1]]
        ax.step(seconds, ratios, where="post", color="#0969da", linewidth=1.6, zorder=3)
        down = [s for s, r in points if r < 1.0]
        for second in down:  # each second with a failed probe, shaded where it happened
            ax.axvspan(second, second + 1, color="#cf222e", alpha=0.25, linewidth=0)
        if verdict.threshold is not None:
            ax.axhline(verdict.threshold, color="red", linestyle="--", linewidth=1.2)
        ax.set_ylim(min([0.0, *ratios]) - 0.05, 1.05)
        ax.set_xlabel("seconds into the run", parse_math=False)
        ax.set_ylabel("probes answered", parse_math=False)
        ax.set_title(
            f"{verdict.id}: availability each second; {len(down)} second(s) with a "
            "failed probe (red)",
            loc="left",
            parse_math=False,
        )
        ax.grid(alpha=0.3)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def plot(verdict: Verdict, values: list[float]) -> bytes:
        points = _per_second(verdict)
        if points:
            return timeline(verdict, points)
        for drawing in DRAWINGS:  # the load stage's questions, where the verdict has the data
            fig = Figure(figsize=(9, 3.6), dpi=100, layout="constrained")
            FigureCanvasAgg(fig)
            if drawing(fig, verdict):
                buffer = io.BytesIO()
                fig.savefig(buffer, format="png")
                return buffer.getvalue()
        fig = Figure(figsize=(8, 3.2), dpi=100, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        if len(values) >= HISTOGRAM_MIN_SAMPLES:
            bins = min(50, max(5, math.ceil(2 * len(values) ** (1 / 3))))  # Rice rule, capped
            ax.hist(values, bins=bins, color="#54aeff", edgecolor="#0969da", linewidth=0.6)
            ax.set_ylabel("samples", parse_math=False)
            ax.set_ylim(0, ax.get_ylim()[1] * 1.3)  # room for the line labels
            kind = "histogram"
        else:
            xs = sorted(values)
            ys = [(i + 1) / len(xs) for i in range(len(xs))]
            ax.step(xs, ys, where="post", color="#0969da", linewidth=1.2)
            ax.plot(xs, ys, "o", color="#0969da", markersize=5)
            ax.set_ylim(0, 1.3)
            ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
            ax.set_ylabel("fraction of samples ≤ x", parse_math=False)
            kind = "ECDF"
        unit = verdict.unit
        name = _UNIT_NAMES.get(unit, unit)
        ax.set_xlabel(name if name == unit or not unit else f"{name} ({unit})", parse_math=False)
        count = f"{len(values)} sample" + ("" if len(values) == 1 else "s")
        ax.set_title(f"{verdict.id}: {kind} of {count}", loc="left", parse_math=False)
        ax.ticklabel_format(axis="x", useOffset=False)
        ax.grid(alpha=0.3)
        lines = [
            (verdict.threshold, "threshold", "red", "--", 0.97),
            (verdict.measured, "measured", "#24292f", ":", 0.9),
        ]
        drawn = []
        for value, label, colour, style, y in lines:
            if value is not None and math.isfinite(value):
                ax.axvline(value, color=colour, linestyle=style, linewidth=1.8)
                drawn.append((value, label, colour, y))
        if unit == "count":
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            low, high = ax.get_xlim()
            if high - low < 2:  # all the same count: a readable range around it
                ax.set_xlim((low + high) / 2 - 1, (low + high) / 2 + 1)
        low, high = ax.get_xlim()
        texts = []
        for value, label, colour, y in drawn:
            # left of its line when the other line is to the right, or where there is more room
            others = [other for other, *_ in drawn if other != value]
            left = value < others[0] if others else value > (low + high) / 2
            text = f"{label} {format_pair(value, None, unit)[0]}"
            texts.append(
                ax.text(
                    value,
                    y,
                    f"{text} " if left else f" {text}",
                    transform=ax.get_xaxis_transform(),
                    color=colour,
                    ha="right" if left else "left",
                    va="top",
                    fontsize=9,
                    fontweight="bold" if label == "threshold" else "normal",
                    parse_math=False,
                )
            )
        fig.canvas.draw()  # lay out, then move labels that stick out of the axes to the other side
        box = ax.get_window_extent()
        for t in texts:
            extent = t.get_window_extent()
            if extent.x0 < box.x0 or extent.x1 > box.x1:
                left = t.get_horizontalalignment() == "left"  # flip to the other side
                t.set_horizontalalignment("right" if left else "left")
                t.set_text(f"{t.get_text().strip()} " if left else f" {t.get_text().strip()}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    return plot
