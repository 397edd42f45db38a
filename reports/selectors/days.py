"""Local days: a report day is the user's calendar day in their time zone (or ``?tz=``); its
bounds are computed with zoneinfo, so a day is 23 or 25 hours long across a DST change, and
rows are clipped to those bounds in SQL (an interval across midnight counts on both days for
its parts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end
