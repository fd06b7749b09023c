"""Next-occurrence arithmetic over 24 months: month ends, leap days, DST, COUNT and UNTIL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from taskora.domain.recurrence import anchored_rule, next_occurrence, series_zone, zone_label


def _series(rule: str, start: datetime, zone: str | None, limit: int = 30) -> list[datetime]:
    out, current = [start.astimezone(UTC)], start.astimezone(UTC)
    while len(out) < limit:
        following = next_occurrence(rule, start=start, current=current, zone_name=zone)
        if following is None:
            break
        assert following > current
        out.append(following)
        current = following
    return out


def test_monthly_from_jan_31_is_anchored_to_month_end_for_24_months() -> None:
    start = datetime(2028, 1, 31, 9, 0, tzinfo=UTC)
    days = [d.date().isoformat() for d in _series("FREQ=MONTHLY", start, None, limit=25)]
    assert days[:4] == ["2028-01-31", "2028-02-29", "2028-03-31", "2028-04-30"]
    assert days[12:15] == ["2029-01-31", "2029-02-28", "2029-03-31"]
    leap_year = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]  # 2028
    common_year = [31, 28, *leap_year[2:]]  # 2029
    assert [int(d[-2:]) for d in days] == leap_year + common_year + [31]  # and January 2030


def test_monthly_from_the_30th_never_drifts() -> None:
    start = datetime(2027, 1, 30, 8, 0, tzinfo=UTC)
    days = [d.day for d in _series("FREQ=MONTHLY", start, None, limit=24)]
    year = [30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30]
    assert days == year + [30, 29, *year[2:]]  # 2028 is a leap year


def test_yearly_from_feb_29_falls_on_feb_28_outside_leap_years() -> None:
    start = datetime(2028, 2, 29, 12, 0, tzinfo=UTC)
    days = [d.date().isoformat() for d in _series("FREQ=YEARLY", start, None, limit=6)]
    assert days == [
        "2028-02-29",
        "2029-02-28",
        "2030-02-28",
        "2031-02-28",
        "2032-02-29",
        "2033-02-28",
    ]


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_local_time_is_kept_across_dst_changes(zone: str) -> None:
    start = datetime(2027, 1, 15, 9, 0, tzinfo=ZoneInfo(zone))
    occurrences = _series("FREQ=MONTHLY", start, zone, limit=24)
    local = [o.astimezone(ZoneInfo(zone)) for o in occurrences]
    assert {(t.hour, t.minute, t.day) for t in local} == {(9, 0, 15)}
    assert len({t.utcoffset() for t in local}) == 2  # both sides of DST were crossed


def test_weekly_across_the_spring_forward_night_keeps_wall_time() -> None:
    zone = "Europe/Berlin"
    start = datetime(2027, 3, 21, 2, 30, tzinfo=ZoneInfo(zone))  # the 28th has no 02:30
    second = next_occurrence("FREQ=WEEKLY", start=start, current=start, zone_name=zone)
    assert second is not None
    local = second.astimezone(ZoneInfo(zone))
    # 02:30 does not exist that night: it is read as 02:30 in the old offset, i.e. 03:30 CEST.
    assert (local.date().isoformat(), local.hour, local.minute) == ("2027-03-28", 3, 30)
    assert second - start.astimezone(UTC) == timedelta(days=7)
    third = next_occurrence("FREQ=WEEKLY", start=start, current=second, zone_name=zone)
    assert third is not None and third.astimezone(ZoneInfo(zone)).hour == 2  # back to 02:30


def test_fixed_offset_series_when_no_zone_name_was_given() -> None:
    start = datetime(2027, 3, 1, 9, 0, tzinfo=series_zone("+05:30"))
    occurrences = _series("FREQ=DAILY;COUNT=3", start, "+05:30")
    assert [o.astimezone(series_zone("+05:30")).hour for o in occurrences] == [9, 9, 9]
    assert zone_label(start) == "+05:30"
    assert zone_label(datetime(2027, 1, 1, tzinfo=series_zone("-03:00"))) == "-03:00"


def test_count_and_until_end_the_series() -> None:
    start = datetime(2028, 1, 31, 9, 0, tzinfo=UTC)
    assert len(_series("FREQ=MONTHLY;COUNT=6", start, None)) == 6
    until = _series("FREQ=WEEKLY;UNTIL=20280301T000000Z", start, None)
    assert until[-1] < datetime(2028, 3, 1, tzinfo=UTC) and len(until) == 5


def test_rules_that_choose_their_own_days_are_left_alone() -> None:
    start = datetime(2028, 1, 31, tzinfo=UTC)
    assert anchored_rule("FREQ=MONTHLY;BYDAY=MO", start) == "FREQ=MONTHLY;BYDAY=MO"
    assert anchored_rule("FREQ=MONTHLY", datetime(2028, 1, 15, tzinfo=UTC)) == "FREQ=MONTHLY"
    assert anchored_rule("FREQ=MONTHLY", start).endswith("BYMONTHDAY=28,29,30,31;BYSETPOS=-1")
