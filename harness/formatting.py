"""Numbers as the reports show them: precise enough that different values never look equal."""

from __future__ import annotations

import math

__all__ = ["UNITLESS", "format_number", "format_pair"]

_DECIMALS = {"s": 3, "ms": 1, "count": 2}  # other units (ratio, ...) get significant digits
UNITLESS = {"", "ratio", "count"}  # shown without a suffix


def format_number(value: float, unit: str, digits: int = 6) -> str:
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    decimals = _DECIMALS.get(unit)
    if decimals is None or digits > 6:
        return f"{value:.{digits}g}"
    text = f"{value:.{decimals}f}".rstrip("0").rstrip(".")
    return f"{value:.3g}" if text in ("0", "-0") else text  # too small for the fixed decimals


def format_pair(
    measured: float | None, threshold: float | None, unit: str, with_unit: bool = True
) -> tuple[str, str]:
    """Measured and threshold as text, precise enough that different values never look equal."""
    m = "-" if measured is None else format_number(measured, unit)
    t = "-" if threshold is None else format_number(threshold, unit)
    digits = 6
    while measured is not None and measured != threshold and m == t and digits < 17:
        digits += 2
        m = format_number(measured, unit, digits)
        t = format_number(threshold, unit, digits) if threshold is not None else "-"
    if with_unit and unit not in UNITLESS:
        m, t = (x if x == "-" else f"{x} {unit}" for x in (m, t))
    return m, t
