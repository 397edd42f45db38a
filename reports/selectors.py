"""Report reads, aggregated in PostgreSQL (never by looping over rows in Python).

Local days: a report day is the user's calendar day in their time zone (or ``?tz=``); its
bounds are computed with zoneinfo, so a day is 23 or 25 hours long across a DST change, and
rows are clipped to those bounds in SQL (an interval across midnight counts on both days for
its parts)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db import connection

from tracking.partitions import month_start


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


_APPS_SQL = """
SELECT {column}, round(sum(extract(epoch FROM least(ended_at, %(hi)s) - greatest(started_at, %(lo)s))))::bigint
FROM tracking_appusage
WHERE user_id = %(user)s AND company_id = %(company)s
  AND started_at >= %(first_month)s AND started_at < %(hi)s AND ended_at > %(lo)s {extra}
GROUP BY 1 ORDER BY 2 DESC, 1
"""


def apps_report(*, company_id, user_id, day: date, tz: ZoneInfo) -> dict:
    """Time per app and per domain for one local day (SPEC: /reports/apps). Intervals never
    cross a UTC month, so ``started_at >= month of the day's start`` lets PostgreSQL read only
    that month's partition (two around a month's end)."""
    lo, hi = local_day_bounds(day, tz)
    params = {"user": user_id, "company": company_id, "lo": lo, "hi": hi, "first_month": month_start(lo)}
    with connection.cursor() as cursor:
        cursor.execute(_APPS_SQL.format(column="app", extra=""), params)
        apps = [{"app": app, "seconds": seconds} for app, seconds in cursor.fetchall() if seconds]
        cursor.execute(_APPS_SQL.format(column="domain", extra="AND domain <> ''"), params)
        domains = [{"domain": domain, "seconds": seconds} for domain, seconds in cursor.fetchall() if seconds]
    return {"date": day.isoformat(), "timezone": tz.key, "apps": apps, "domains": domains}
