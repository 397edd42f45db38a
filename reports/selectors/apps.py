"""The apps report (SPEC: /reports/apps): time per app and per domain for one local day, each
moment counted once across the user's devices, and the day's active and away time."""

from __future__ import annotations

import math
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from activity.activitywatch.selectors import afk_intervals
from activity.partitions import month_start
from activity.timeline import attribute, attribute_epoch
from common.replica import read_connection
from reports.selectors.days import local_day_bounds

# The day's intervals of every device of the user, in one statement; who wins each moment is
# decided in Python by ``activity.timeline.attribute`` (overlaps between devices cannot be
# resolved by a GROUP BY). A day holds at most a few thousand intervals; they come as epoch
# seconds, since making datetimes of them took several times longer than counting them.
_APPS_SQL = """
SELECT extract(epoch FROM started_at)::float8, extract(epoch FROM ended_at)::float8, app, domain
FROM tracking_appusage
WHERE user_id = %(user)s AND company_id = %(company)s
  AND started_at >= %(first_month)s AND started_at < %(hi)s AND ended_at > %(lo)s
"""


def _ranked(totals: dict[str, float], name: str) -> list[dict]:
    """``[{name: key, seconds}]``, whole seconds, largest first then by name; keys that round to
    nothing are left out. Halves round up, as PostgreSQL's ``round`` did when the report was
    SQL (Python's ``round`` would make a half-second app vanish: it rounds halves to even)."""
    rows = [(key, math.floor(seconds + 0.5)) for key, seconds in totals.items()]
    return [{name: key, "seconds": seconds} for key, seconds in sorted(rows, key=lambda r: (-r[1], r[0])) if seconds]


def apps_report(*, company_id: UUID, user_id: UUID, day: date, tz: ZoneInfo) -> dict:
    """Time per app and per domain for one local day (SPEC: /reports/apps), each moment counted
    once however many devices report it: where two devices' intervals overlap, the one that
    started last has the moment (``activity.timeline``). One ``attribute`` pass keyed by
    ``(app, domain)``, so a domain's time is its app's winning time, never more than the apps'
    total. Intervals never cross a UTC month, so ``started_at >= month of the day's start``
    lets PostgreSQL read only that month's partition (two around a month's end)."""
    lo, hi = local_day_bounds(day, tz)
    params: dict[str, Any] = {
        "user": user_id,
        "company": company_id,
        "lo": lo,
        "hi": hi,
        "first_month": month_start(lo),
    }
    with read_connection().cursor() as cursor:
        cursor.execute(_APPS_SQL, params)
        rows = cursor.fetchall()
    won = attribute_epoch(
        ((start, end, (app, domain)) for start, end, app, domain in rows), lo=lo.timestamp(), hi=hi.timestamp()
    )
    apps: dict[str, float] = {}
    domains: dict[str, float] = {}
    for (app, domain), seconds in won.items():
        apps[app] = apps.get(app, 0.0) + seconds
        if domain:
            domains[domain] = domains.get(domain, 0.0) + seconds
    # Away time from ActivityWatch's afkstatus buckets: several machines' AFK watchers report
    # the same minutes, so each moment counts once (the latest-started status wins).
    away = attribute(afk_intervals(company_id=company_id, user_id=user_id, lo=lo, hi=hi), lo=lo, hi=hi)
    return {
        "date": day.isoformat(),
        "timezone": tz.key,
        "apps": _ranked(apps, "app"),
        "domains": _ranked(domains, "domain"),
        "active_seconds": round(away.get("not-afk", 0.0)),
        "away_seconds": round(away.get("afk", 0.0)),
    }
