"""Timesheet weeks: which local days make a member's week, and where it starts and ends in
absolute time. Pure (no queries): the services, selectors and reports share it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True)
class Week:
    period_start: date  # the first local day
    period_end: date  # the last local day (period_start + 6)
    timezone: str
    starts_at: datetime  # local midnight of period_start, in UTC
    ends_at: datetime  # local midnight after period_end, in UTC


def week_containing(day: date, *, week_start: str, timezone: str) -> Week:
    """The week of local day ``day`` for a company whose weeks start on ``week_start`` (a
    ``WeekStart`` value) and a member in ``timezone``. Midnights come from the zone's rules,
    so a week with a DST change lasts 167 or 169 hours."""
    first = day - timedelta(days=(day.weekday() - WEEKDAYS.index(week_start)) % 7)
    zone = ZoneInfo(timezone)
    after = first + timedelta(days=7)
    return Week(
        period_start=first,
        period_end=after - timedelta(days=1),
        timezone=timezone,
        starts_at=datetime.combine(first, time(0), tzinfo=zone).astimezone(UTC),
        ends_at=datetime.combine(after, time(0), tzinfo=zone).astimezone(UTC),
    )


def is_week_start(day: date, *, week_start: str) -> bool:
    return day.weekday() == WEEKDAYS.index(week_start)
