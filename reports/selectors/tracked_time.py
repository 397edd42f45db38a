"""One member's tracked time per local day: the daily and weekly reports (SPEC: /reports/daily,
/reports/weekly), one statement for the time whatever the number of days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from common.replica import read_connection
from reports.selectors.approval import day_statuses, summary_status
from reports.selectors.days import local_day_bounds

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


def time_by_day(*, company_id: UUID, user_id: UUID, days: list[date], tz: ZoneInfo, now: datetime) -> list[tuple]:
    """``(day, project_id, project_name, task_id, task_title, seconds)`` for each local day of
    ``days``: entries clipped to each day's bounds (an entry across midnight counts on both
    days for its parts; a running one up to ``now``), summed in PostgreSQL."""
    bounds = [local_day_bounds(day, tz) for day in days]
    params: dict[str, Any] = {
        "user": user_id,
        "company": company_id,
        "now": now,
        "days": days,
        "los": [lo for lo, _ in bounds],
        "his": [hi for _, hi in bounds],
        "first_lo": min(lo for lo, _ in bounds),
        "last_hi": max(hi for _, hi in bounds),
    }
    with read_connection().cursor() as cursor:
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


def daily_reports(
    *, company_id: UUID, user_id: UUID, first: date, last: date, tz: ZoneInfo, now: datetime, week_start: str
) -> list[dict]:
    """SPEC's daily shape for each local day ``first`` .. ``last`` (a day without time too:
    zero, no projects): the day's totals per project and task, and the approval status of the
    member's week (the company's ``week_start``) that holds it. Two statements whatever the
    number of days: the time of every day (``time_by_day``), the weeks' statuses."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    rows_of: dict[date, list[tuple]] = {day: [] for day in days}
    for row in time_by_day(company_id=company_id, user_id=user_id, days=days, tz=tz, now=now):
        rows_of[row[0]].append(row)
    statuses = day_statuses(company_id=company_id, user_id=user_id, days=days, week_start=week_start)
    reports = []
    for day in days:
        projects = _projects(rows_of[day])
        reports.append(
            {
                "date": day.isoformat(),
                "timezone": tz.key,
                "total_seconds": sum(p["seconds"] for p in projects),
                "approval_status": statuses[day],
                "projects": projects,
            }
        )
    return reports


def weekly_report(
    *, company_id: UUID, user_id: UUID, first: date, tz: ZoneInfo, now: datetime, week_start: str
) -> dict:
    """SPEC's weekly shape: seven local days from ``first`` as bars, and per-project totals.
    Each day carries the status of its timesheet week; the seven days may straddle two weeks
    (``from`` follows the user's own week_start, timesheets the company's), so the report's
    ``approval_status`` summarises the weeks of the days with time (``summary_status``)."""
    days = [first + timedelta(days=n) for n in range(7)]
    rows = time_by_day(company_id=company_id, user_id=user_id, days=days, tz=tz, now=now)
    per_day = dict.fromkeys(days, 0)
    for day, *_, seconds in rows:
        per_day[day] += int(seconds)
    projects = [{k: v for k, v in p.items() if k != "tasks"} for p in _projects(rows)]
    statuses = day_statuses(company_id=company_id, user_id=user_id, days=days, week_start=week_start)
    return {
        "from": days[0].isoformat(),
        "to": days[-1].isoformat(),
        "approval_status": summary_status([statuses[day] for day, seconds in per_day.items() if seconds]),
        "days": [
            {"date": day.isoformat(), "seconds": seconds, "approval_status": statuses[day]}
            for day, seconds in per_day.items()
        ],
        "projects": projects,
    }
