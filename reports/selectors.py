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


# --------------------------------------------------------------------------- time entries

_TIME_SQL = """
SELECT d.day, e.project_id, p.name, e.task_id, t.title,
       round(sum(extract(epoch FROM
           least(coalesce(e.ended_at, %(now)s), d.hi) - greatest(e.started_at, d.lo))))
FROM unnest(%(days)s::date[], %(los)s::timestamptz[], %(his)s::timestamptz[]) AS d(day, lo, hi)
JOIN tracking_timeentry e
  ON e.user_id = %(user)s AND e.company_id = %(company)s AND e.deleted_at IS NULL
 AND e.started_at < d.hi AND coalesce(e.ended_at, %(now)s) > d.lo
JOIN organizations_project p ON p.id = e.project_id
LEFT JOIN tracking_task t ON t.id = e.task_id
WHERE e.started_at < %(last_hi)s AND coalesce(e.ended_at, %(now)s) > %(first_lo)s
  AND (e.ended_at IS NOT NULL OR e.started_at < %(now)s)  -- a running entry counts up to now
GROUP BY 1, 2, 3, 4, 5
"""


def time_by_day(*, company_id, user_id, days: list[date], tz: ZoneInfo, now: datetime) -> list[tuple]:
    """``(day, project_id, project_name, task_id, task_title, seconds)`` for each local day of
    ``days``: entries clipped to each day's bounds (an entry across midnight counts on both
    days for its parts; a running one up to ``now``), summed in PostgreSQL."""
    bounds = [local_day_bounds(day, tz) for day in days]
    params = {
        "user": user_id,
        "company": company_id,
        "now": now,
        "days": days,
        "los": [lo for lo, _ in bounds],
        "his": [hi for _, hi in bounds],
        "first_lo": min(lo for lo, _ in bounds),
        "last_hi": max(hi for _, hi in bounds),
    }
    with connection.cursor() as cursor:
        cursor.execute(_TIME_SQL, params)
        return [row for row in cursor.fetchall() if row[5]]


def _projects(rows: list[tuple]) -> list[dict]:
    """Rows of one or more days as ``[{project_id, name, seconds, tasks}]``, largest first.
    Time without a task counts in its project only."""
    projects: dict = {}
    for _day, project_id, name, task_id, title, seconds in rows:
        project = projects.setdefault(
            project_id, {"project_id": str(project_id), "name": name, "seconds": 0, "tasks": {}}
        )
        project["seconds"] += int(seconds)
        if task_id is not None:
            task = project["tasks"].setdefault(task_id, {"task_id": str(task_id), "title": title, "seconds": 0})
            task["seconds"] += int(seconds)
    out = sorted(projects.values(), key=lambda p: (-p["seconds"], p["name"]))
    for project in out:
        project["tasks"] = sorted(project["tasks"].values(), key=lambda t: (-t["seconds"], t["title"]))
    return out


def daily_report(*, company_id, user_id, day: date, tz: ZoneInfo, now: datetime) -> dict:
    """SPEC's daily shape: the local day's totals per project and task."""
    projects = _projects(time_by_day(company_id=company_id, user_id=user_id, days=[day], tz=tz, now=now))
    return {
        "date": day.isoformat(),
        "timezone": tz.key,
        "total_seconds": sum(p["seconds"] for p in projects),
        "projects": projects,
    }


def weekly_report(*, company_id, user_id, first: date, tz: ZoneInfo, now: datetime) -> dict:
    """SPEC's weekly shape: seven local days from ``first`` as bars, and per-project totals."""
    days = [first + timedelta(days=n) for n in range(7)]
    rows = time_by_day(company_id=company_id, user_id=user_id, days=days, tz=tz, now=now)
    per_day = dict.fromkeys(days, 0)
    for day, *_, seconds in rows:
        per_day[day] += int(seconds)
    projects = [{k: v for k, v in p.items() if k != "tasks"} for p in _projects(rows)]
    return {
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
        "days": [{"date": day.isoformat(), "seconds": seconds} for day, seconds in per_day.items()],
        "projects": projects,
    }
