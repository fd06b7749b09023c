"""Recurring tasks: checking a rule, and the next occurrence of a series.

Occurrences are computed in the series' own time zone (an IANA name, or the UTC offset the first
due time was given with), so 09:00 stays 09:00 across daylight-saving changes. A monthly series
that starts on the 29th-31st is anchored to that day and clamped to shorter months
(Jan 31 -> Feb 29 -> Mar 31), and a yearly series from Feb 29 falls on Feb 28 in other years:
both by adding RFC 5545 ``BYMONTHDAY``/``BYSETPOS`` parts, so COUNT and UNTIL keep their meaning.

Every rule is bounded. ``check_rule`` accepts only what RFC 5545 allows and what runs at most once
a minute; dateutil's search for the next occurrence runs on a CPU-time budget
(``RULE_BUDGET``), so a rule that matches rarely or never (``BYMONTH=2;BYMONTHDAY=30``, which
dateutil would search up to the year 9999) is refused, never left spinning.
"""

from __future__ import annotations

import gc
import re
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from types import FrameType
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

__all__ = [
    "RULE_BUDGET",
    "RuleTooCostly",
    "anchored_rule",
    "check_rule",
    "check_series",
    "next_occurrence",
    "parse_rule",
    "series_zone",
    "within_budget",
    "zone_label",
]

T = TypeVar("T")

# CPU seconds the search for one next occurrence may take (a daily COUNT=1000 series at its
# last occurrence, the costliest rule accepted by design, takes about 3 ms).
RULE_BUDGET = 0.010
MAX_COUNT = 1000
MAX_INTERVAL = 1000
FREQUENCIES = ("MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
# part: (lowest, highest, negative values allowed); RFC 5545 section 3.3.10
_RANGES = {
    "BYSECOND": (0, 59, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
    "INTERVAL": (1, MAX_INTERVAL, False),
    "COUNT": (1, MAX_COUNT, False),
}
_KNOWN = (
    "FREQ",
    "UNTIL",
    "COUNT",
    "INTERVAL",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
)
_SINGLE = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST", "BYSECOND")
_WEEKDAY = re.compile(r"^([+-]?)(\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)$")
_BY_DAY_PARTS = ("BYMONTHDAY", "BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
# A period of each frequency, in wall time: a series restarted a whole number of periods later
# recurs exactly as before (_restarted). Minutely to weekly periods have one length (_PERIOD).
_SHIFT: dict[str, Callable[[int], timedelta | relativedelta]] = {
    "MINUTELY": lambda n: timedelta(minutes=n),
    "HOURLY": lambda n: timedelta(hours=n),
    "DAILY": lambda n: timedelta(days=n),
    "WEEKLY": lambda n: timedelta(weeks=n),
    "MONTHLY": lambda n: relativedelta(months=n),
    "YEARLY": lambda n: relativedelta(years=n),
}
_PERIOD = {
    "MINUTELY": timedelta(minutes=1),
    "HOURLY": timedelta(hours=1),
    "DAILY": timedelta(days=1),
    "WEEKLY": timedelta(weeks=1),
}


_SEARCH = "dateutil.rrule"  # the module whose frames the budget stops
# What dateutil raises for a rule it cannot read or compute (an IndexError on some ordinal
# weekdays, an OverflowError past year 9999): each becomes a ValueError naming the rule's fault.
DATEUTIL_ERRORS = (ArithmeticError, LookupError, TypeError, ValueError)


class RuleTooCostly(ValueError):
    """Finding the next occurrence took more than its CPU budget (``RULE_BUDGET``)."""


def zone_label(moment: datetime) -> str:
    """The label stored for a due time given without an IANA zone: its UTC offset."""
    offset = moment.utcoffset() or timedelta(0)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def series_zone(label: str | None) -> tzinfo:
    """The time zone a series lives in: an IANA name, a ``+HH:MM`` offset, or UTC."""
    if not label:
        return UTC
    match = _OFFSET.match(label)
    if match:
        sign, hours, minutes = match.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return ZoneInfo(label)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {label!r}") from exc


def _parts(rule: str) -> dict[str, str]:
    body = rule.upper().removeprefix("RRULE:")
    parts = {}
    for part in body.split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            parts[key.strip()] = value.strip()
    return parts


def _check_weekdays(values: list[str], parts: dict[str, str]) -> None:
    """BYDAY: weekdays; numbered (1MO, -1FR) only in a monthly or yearly series, up to the
    weeks of a month (5) or, for a yearly series without BYMONTH, of a year (53)."""
    frequency = parts["FREQ"]
    most = 53 if frequency == "YEARLY" and "BYMONTH" not in parts else 5
    for value in values:
        match = _WEEKDAY.match(value)
        if match is None:
            raise ValueError(f"BYDAY={value}: a weekday such as MO, or numbered: 1MO, -1FR")
        if match.group(2) is None:
            continue
        if frequency not in ("MONTHLY", "YEARLY"):
            raise ValueError(f"BYDAY={value}: numbered weekdays need FREQ=MONTHLY or YEARLY")
        if not 1 <= int(match.group(2)) <= most:
            raise ValueError(f"BYDAY={value}: the number must be 1 to {most} or -{most} to -1")


def _check_values(key: str, values: list[str]) -> None:
    if key not in _RANGES:
        return
    lowest, highest, negative = _RANGES[key]
    for value in values:
        if not re.fullmatch(r"[+-]?\d{1,4}", value):
            raise ValueError(f"{key}={value}: not a whole number")
        number = int(value)
        if not lowest <= (abs(number) if negative else number) <= highest:
            sign = f"or -{highest} to -{lowest} " if negative else ""
            raise ValueError(f"{key}={value}: must be {lowest} to {highest} {sign}".rstrip())


def check_rule(rule: str) -> str:
    """The rule if its parts are RFC 5545's, in range and within the service's limits; else
    ValueError naming the part. dateutil reads it against the series' start in ``parse_rule``."""
    if "\n" in rule or "\r" in rule or ":" in rule.upper().removeprefix("RRULE:"):
        raise ValueError("one RRULE line only, e.g. FREQ=WEEKLY;BYDAY=MO (no EXDATE, RDATE)")
    parts = _parts(rule)
    if "DTSTART" in parts:
        raise ValueError("leave DTSTART out: the series starts at the task's due_at")
    if "FREQ" not in parts:
        raise ValueError("an RRULE needs FREQ, e.g. FREQ=WEEKLY;COUNT=4")
    if parts["FREQ"] == "SECONDLY":
        raise ValueError("the shortest supported frequency is FREQ=MINUTELY")
    if parts["FREQ"] not in FREQUENCIES:
        raise ValueError(f"FREQ={parts['FREQ']}: must be one of {', '.join(FREQUENCIES)}")
    for key, value in parts.items():
        if key not in _KNOWN:
            raise ValueError(f"{key}: not an RRULE part ({', '.join(_KNOWN)})")
        values = value.split(",")
        if key in _SINGLE and len(values) > 1:
            why = " (at most once a minute)" if key == "BYSECOND" else ""
            raise ValueError(f"{key}={value}: one value only{why}")
        if key == "BYDAY":
            _check_weekdays(values, parts)
        _check_values(key, values)
    if "COUNT" in parts and "UNTIL" in parts:
        raise ValueError("COUNT and UNTIL cannot both end a series: keep one")
    return rule


def anchored_rule(rule: str, start: datetime) -> str:
    """The rule with month-end anchoring made explicit where the start day needs it."""
    parts = _parts(rule)
    if any(key in parts for key in _BY_DAY_PARTS):
        return rule  # the rule chooses its own days
    frequency = parts.get("FREQ")
    if frequency == "MONTHLY" and start.day > 28:
        days = ",".join(str(d) for d in range(28, start.day + 1))
        return f"{rule};BYMONTHDAY={days};BYSETPOS=-1"
    if frequency == "YEARLY" and (start.month, start.day) == (2, 29) and "BYMONTH" not in parts:
        return f"{rule};BYMONTH=2;BYMONTHDAY=28,29;BYSETPOS=-1"
    return rule


def parse_rule(rule: str, *, start: datetime, zone_name: str | None) -> rrule:
    """The series as a dateutil rule starting at ``start`` (wall time in the series' zone)."""
    local_start = start.astimezone(series_zone(zone_name))
    try:  # what dateutil refuses depends on the start too (BYHOUR an INTERVAL never reaches)
        parsed = rrulestr(anchored_rule(check_rule(rule), local_start), dtstart=local_start)
    except DATEUTIL_ERRORS as exc:
        raise ValueError(f"not a valid RFC 5545 RRULE: {exc}") from None
    assert isinstance(parsed, rrule)  # one line, no EXDATE or RDATE: check_rule refused them
    return parsed


def _restartable(parts: dict[str, str]) -> bool:
    """Whether a series can restart later (see _restarted): with COUNT only when no BY part can
    change how many occurrences a period holds (one each), so COUNT shrinks by the periods
    skipped."""
    counted = "COUNT" in parts and any(key.startswith("BY") for key in parts)
    return parts.get("FREQ", "") in _SHIFT and not counted


def _shifted(start: datetime, frequency: str, periods: int) -> datetime:
    """``start`` moved ``periods`` periods on, in wall time (months and years clamp the day)."""
    return start + _SHIFT[frequency](periods)


def _periods_before(start: datetime, current: datetime, frequency: str, interval: int) -> int:
    """How many whole INTERVAL-periods fit between ``start`` and ``current`` (wall time)."""
    step = _PERIOD.get(frequency)
    naive_start, naive_current = start.replace(tzinfo=None), current.replace(tzinfo=None)
    if step is not None:
        return max(0, (naive_current - naive_start) // (step * interval))
    months = (current.year - start.year) * 12 + current.month - start.month
    steps = months // (interval * (12 if frequency == "YEARLY" else 1))
    while steps > 0 and _shifted(naive_start, frequency, steps * interval) > naive_current:
        steps -= 1
    return max(0, steps)


def _restarted(series: rrule, rule: str, start: datetime, current: datetime) -> rrule | None:
    """The series restarted whole periods (times INTERVAL) after ``start`` but not after
    ``current``, so that dateutil does not walk the years between; it recurs exactly as before
    after ``current``. None when a COUNT ran out before ``current``.

    A monthly or yearly restart that would clamp the day (the 31st into a 30-day month) is
    skipped where the day comes from the start (no BY part chooses the days)."""
    parts = _parts(rule)
    if not _restartable(parts):
        return series
    frequency, interval = parts["FREQ"], int(parts.get("INTERVAL", "1"))
    periods = _periods_before(start, current, frequency, interval)
    if periods <= 0:
        return series
    restart = _shifted(start, frequency, periods * interval)
    chosen = _parts(anchored_rule(rule, start))
    clamped = frequency not in _PERIOD and restart.day != start.day
    if clamped and not any(key in chosen for key in _BY_DAY_PARTS):
        return series
    if "COUNT" not in parts:
        return series.replace(dtstart=restart)
    left = int(parts["COUNT"]) - periods
    return series.replace(dtstart=restart, count=left) if left > 0 else None


def within_budget(work: Callable[[], T], seconds: float = RULE_BUDGET) -> T:
    """``work()``, stopped with RuleTooCostly once it has used ``seconds`` of CPU.

    dateutil searches period by period, in pure Python, until a period matches or the year 9999
    is passed. dateutil's own failures (an IndexError on some ordinal weekdays) become
    ValueError. A trace function on this thread only (chained to any tracer already set: a
    debugger, coverage) reads the thread's CPU clock at each Python call of that search: CPU
    time, so a busy machine does not refuse what a quiet one accepts. A garbage collection the
    search happens to trigger is not the search's cost: its CPU time is left out (a full pass
    over a large heap alone can take more than the budget)."""
    previous = sys.gettrace()
    deadline = time.thread_time() + seconds
    me = threading.get_ident()
    collecting = {"since": 0.0, "spent": 0.0}  # this thread's garbage collections meanwhile

    def on_gc(phase: str, _info: dict[str, Any]) -> None:
        if threading.get_ident() != me:
            return
        if phase == "start":
            collecting["since"] = time.thread_time()
        else:
            collecting["spent"] += time.thread_time() - collecting["since"]

    def check(frame: FrameType, event: Any, arg: Any) -> Any:
        # Only in dateutil's own frames: never inside whatever else runs meanwhile on this
        # thread (a garbage-collector callback, a signal handler).
        if (
            frame.f_globals.get("__name__") == _SEARCH
            and time.thread_time() - collecting["spent"] > deadline
        ):
            raise RuleTooCostly(f"no next occurrence found within {seconds * 1000:.0f} ms")
        return previous(frame, event, arg) if previous is not None else None

    gc.callbacks.append(on_gc)
    sys.settrace(check)
    try:
        return work()
    except RuleTooCostly:
        raise
    except DATEUTIL_ERRORS as exc:
        raise ValueError(f"its occurrences cannot be computed: {exc!r}") from exc
    finally:
        sys.settrace(previous)
        gc.callbacks.remove(on_gc)


def next_occurrence(
    rule: str, *, start: datetime, current: datetime, zone_name: str | None
) -> datetime | None:
    """The first occurrence after ``current``, in UTC; None when COUNT or UNTIL ended the series.

    Raises ValueError for a rule ``check_rule`` refuses, RuleTooCostly when the search exceeds
    its budget."""
    zone = series_zone(zone_name)
    local_start, local_current = start.astimezone(zone), current.astimezone(zone)
    series = _restarted(
        parse_rule(rule, start=start, zone_name=zone_name), rule, local_start, local_current
    )
    if series is None:
        return None
    following = within_budget(lambda: series.after(local_current))
    if following is None:
        return None
    # Wall-clock arithmetic keeps the local time; normalise through UTC so the offset is the
    # one in force on that date (ZoneInfo computes it from the wall time).
    return following.replace(tzinfo=zone).astimezone(UTC)


def check_series(rule: str, *, start: datetime, zone_name: str | None) -> None:
    """Refuse (ValueError, RuleTooCostly) a series whose next occurrences cannot all be found
    within the budget: its first next one, and where a COUNT ends it and is not shortened by
    ``_restarted``, its last one (found after every other occurrence: the costliest)."""
    next_occurrence(rule, start=start, current=start, zone_name=zone_name)
    parts = _parts(rule)
    if "COUNT" in parts and not _restartable(parts):
        within_budget(parse_rule(rule, start=start, zone_name=zone_name).count)
