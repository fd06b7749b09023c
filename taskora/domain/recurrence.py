"""Recurring tasks: the next occurrence of a series, and creating it exactly once.

Occurrences are computed in the series' own time zone (an IANA name, or the UTC offset the first
due time was given with), so 09:00 stays 09:00 across daylight-saving changes. A monthly series
that starts on the 29th-31st is anchored to that day and clamped to shorter months
(Jan 31 -> Feb 29 -> Mar 31), and a yearly series from Feb 29 falls on Feb 28 in other years:
both by adding RFC 5545 ``BYMONTHDAY``/``BYSETPOS`` parts, so COUNT and UNTIL keep their meaning.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

__all__ = ["anchored_rule", "next_occurrence", "parse_rule", "series_zone", "zone_label"]

_BY_DAY_PARTS = ("BYMONTHDAY", "BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


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
    parts = {}
    for part in rule.upper().split(";"):
        if "=" in part:
            key, value = part.split("=", 1)
            parts[key.strip()] = value.strip()
    return parts


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
    parsed = rrulestr(anchored_rule(rule, local_start), dtstart=local_start)
    assert isinstance(parsed, rrule)
    return parsed


def next_occurrence(
    rule: str, *, start: datetime, current: datetime, zone_name: str | None
) -> datetime | None:
    """The first occurrence after ``current``, in UTC; None when COUNT or UNTIL ended the series."""
    series = parse_rule(rule, start=start, zone_name=zone_name)
    following = series.after(current.astimezone(series_zone(zone_name)))
    if following is None:
        return None
    # Wall-clock arithmetic keeps the local time; normalise through UTC so the offset is the
    # one in force on that date (ZoneInfo computes it from the wall time).
    return following.replace(tzinfo=series_zone(zone_name)).astimezone(UTC)
