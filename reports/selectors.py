"""Report reads, aggregated in PostgreSQL (never by looping over rows in Python), except where
one user's devices overlap: the apps report fetches the day's intervals in one statement and
counts each moment once in Python (``activity.timeline``), since no GROUP BY can pick one of
several overlapping rows per moment.

Local days: a report day is the user's calendar day in their time zone (or ``?tz=``); its
bounds are computed with zoneinfo, so a day is 23 or 25 hours long across a DST change, and
rows are clipped to those bounds in SQL (an interval across midnight counts on both days for
its parts)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db.models import Q, QuerySet

from activity.activitywatch.selectors import afk_intervals
from activity.coding_time import CodingTime, coding_time
from activity.partitions import month_start
from activity.timeline import attribute, attribute_epoch
from common.replica import read_connection
from reports.models import ReportApprovalStatus
from tracking.models import Timesheet, TimesheetStatus
from tracking.selectors import approval_status_of, approval_statuses
from tracking.weeks import Week, week_containing

if TYPE_CHECKING:
    from accounts.models import User
    from organizations.models import Membership
    from reports.models import ReportExport


def local_day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC."""
    start = datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=tz).astimezone(UTC)
    return start, end


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


# --------------------------------------------------------------------------- approval status

# A row that covers weeks in different states (docs/reports.md, "Approval status").
MIXED = ReportApprovalStatus.MIXED.value


def summary_status(statuses: list[str]) -> str:
    """One status for a row that spans several weeks: the weeks' status when they all agree,
    MIXED when they differ, OPEN when there is no week to speak of (no time: nothing to
    approve). The callers pass only the weeks that hold time in the row's range, so an empty
    week (a holiday, the rest of the current week) never turns a row MIXED."""
    found = set(statuses)
    if not found:
        return TimesheetStatus.OPEN
    return found.pop() if len(found) == 1 else MIXED


def day_statuses(*, company_id: UUID, user_id: UUID, days: list[date], week_start: str) -> dict[date, str]:
    """``{day: status}``: the approval status of the week (the company's ``week_start``) that
    holds each local day of one member. One query. The week of a day does not depend on the
    time zone (only its bounds do), so the report's zone is as good as the member's here."""
    weeks = {day: week_containing(day, week_start=week_start, timezone="UTC").period_start for day in days}
    statuses = approval_statuses(company_id=company_id, user_ids=[user_id], first=min(days), last=max(days))
    return {day: approval_status_of(statuses, user_id=user_id, period_start=start) for day, start in weeks.items()}


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


# --------------------------------------------------------------------------- team


def team_members(*, membership: Membership, team_id: UUID | None = None) -> QuerySet[Membership]:
    """The memberships of the company whose rows the caller may see in the team report
    (SPEC roles: managers everyone, a LEAD their teams' members and themselves, a MEMBER
    themselves), optionally only one team's; a stable order for cursor pagination."""
    from organizations import permissions
    from organizations.models import Membership, TeamMember

    members = Membership.objects.filter(company_id=membership.company_id, is_active=True).filter(
        permissions.readable_users_q(membership)
    )
    if team_id is not None:
        members = members.filter(
            user_id__in=TeamMember.objects.filter(team_id=team_id, company_id=membership.company_id).values("user_id")
        )
    return members.select_related("user")


# Rate of a billable piece of time (docs/reports.md): the task's hourly rate when the task is
# billed by the hour, else the member's override, else the project's rate, else nothing.
# ``{approved_join}`` and ``{approved_lo}``/``{approved_hi}`` are empty, or (approved time
# only) join each entry to the APPROVED weeks it overlaps and clip it to their bounds: the
# sheet's own ``starts_at``/``ends_at``, the same bounds the lock holds (tracking 0006).
_TEAM_SQL = """
WITH pieces AS (
    SELECT e.user_id, e.project_id, e.billable,
           extract(epoch FROM least(coalesce(e.ended_at, %(now)s), %(hi)s{approved_hi})
                            - greatest(e.started_at, %(lo)s{approved_lo})) AS seconds,
           CASE WHEN t.billing_type = 'HOURLY_RATE' THEN t.hourly_rate_cents
                ELSE coalesce(m.hourly_rate_cents, p.hourly_rate_cents, 0) END AS rate
    FROM tracking_timeentry e
    JOIN organizations_project p ON p.id = e.project_id
    JOIN organizations_membership m ON m.user_id = e.user_id AND m.company_id = e.company_id
    LEFT JOIN tracking_task t ON t.id = e.task_id{approved_join}
    WHERE e.company_id = %(company)s AND e.user_id = ANY(%(users)s) AND e.deleted_at IS NULL
      AND e.started_at < %(hi)s AND coalesce(e.ended_at, %(now)s) > %(lo)s
      AND (e.ended_at IS NOT NULL OR e.started_at < %(now)s)
)
SELECT pieces.user_id, pieces.project_id, p.name, p.currency,
       round(sum(pieces.seconds)), round(sum(pieces.seconds) FILTER (WHERE pieces.billable)),
       round(sum(pieces.seconds * pieces.rate / 3600.0) FILTER (WHERE pieces.billable))
FROM pieces JOIN organizations_project p ON p.id = pieces.project_id
GROUP BY 1, 2, 3, 4
"""

# Samples are per device and minute; a member at two machines reports the same minute twice.
# A minute counts once per user: its most active device's seconds (the larger of two devices'
# 40 s is at least 40 s of that minute, their sum could exceed 60). A sample does not say which
# seconds were active, so this never overcounts and may undercount when devices took turns.
_ACTIVE_SQL = """
SELECT user_id, sum(active) FROM (
    SELECT user_id, minute, max(active_seconds) AS active FROM tracking_activitysample
    WHERE company_id = %(company)s AND user_id = ANY(%(users)s)
      AND minute >= %(lo)s AND minute < %(hi)s{approved_minute}
    GROUP BY 1, 2
) AS per_minute
GROUP BY 1
"""

_APPROVED_JOIN = """
    JOIN tracking_timesheet s
      ON s.company_id = e.company_id AND s.user_id = e.user_id AND s.status = %(approved)s
     AND s.starts_at < least(coalesce(e.ended_at, %(now)s), %(hi)s) AND s.ends_at > greatest(e.started_at, %(lo)s)"""
# Activity % of approved time: only the minutes inside approved weeks.
_APPROVED_MINUTE = """
      AND EXISTS (SELECT 1 FROM tracking_timesheet s
                  WHERE s.company_id = %(company)s AND s.user_id = tracking_activitysample.user_id
                    AND s.status = %(approved)s AND minute >= s.starts_at AND minute < s.ends_at)"""


def _team_sql(approved_only: bool) -> tuple[str, str]:
    if not approved_only:
        return (
            _TEAM_SQL.format(approved_join="", approved_lo="", approved_hi=""),
            _ACTIVE_SQL.format(approved_minute=""),
        )
    return (
        _TEAM_SQL.format(approved_join=_APPROVED_JOIN, approved_lo=", s.starts_at", approved_hi=", s.ends_at"),
        _ACTIVE_SQL.format(approved_minute=_APPROVED_MINUTE),
    )


# Each member's tracked seconds per timesheet week (their local weeks, the company's
# week_start) within the report's range: which weeks hold time decides the row's status.
_WEEKS_SQL = """
SELECT w.user_id, w.period_start,
       round(sum(extract(epoch FROM least(coalesce(e.ended_at, %(now)s), w.hi, %(hi)s)
                                  - greatest(e.started_at, w.lo, %(lo)s))))
FROM unnest(%(w_users)s::uuid[], %(w_starts)s::date[], %(w_los)s::timestamptz[], %(w_his)s::timestamptz[])
     AS w(user_id, period_start, lo, hi)
JOIN tracking_timeentry e
  ON e.user_id = w.user_id AND e.company_id = %(company)s AND e.deleted_at IS NULL
 AND e.started_at < least(w.hi, %(hi)s) AND coalesce(e.ended_at, %(now)s) > greatest(w.lo, %(lo)s)
 AND (e.ended_at IS NOT NULL OR e.started_at < %(now)s)
GROUP BY 1, 2
"""


def _member_weeks(
    members: Sequence[tuple[UUID, str]], *, lo: datetime, hi: datetime, week_start: str
) -> list[tuple[UUID, Week]]:
    """``(user_id, Week)`` for every timesheet week of each ``(user_id, time zone)`` that
    overlaps [lo, hi): the member's local days from lo's to the one just before hi."""
    out = []
    for user_id, timezone in members:
        zone = ZoneInfo(timezone)
        day = lo.astimezone(zone).date()
        last = (hi - timedelta(microseconds=1)).astimezone(zone).date()
        while day <= last:
            week = week_containing(day, week_start=week_start, timezone=zone.key)
            out.append((user_id, week))
            day = week.period_end + timedelta(days=1)
    return out


def team_rows(
    *,
    company_id: UUID,
    members: Sequence[Membership],
    lo: datetime,
    hi: datetime,
    now: datetime,
    week_start: str | None = None,
    approved_only: bool = False,
) -> list[dict]:
    """SPEC's team rows for ``members`` (a page of memberships) over [lo, hi): tracked and
    billable seconds, amount, activity % and the per-project breakdown, in two statements.

    With ``week_start`` (the company's), each row also carries its approval status: the
    member's timesheet weeks overlapping the range as ``approval_weeks`` ({period_start,
    period_end, status, seconds}), and ``approval_status``, their ``summary_status`` over the
    weeks holding time (MIXED when those differ): two more statements. ``approved_only``
    counts only time inside APPROVED weeks (every figure: time, money, activity %); the
    status fields still describe all the member's weeks in the range."""
    users = [m.user_id for m in members]
    params: dict[str, Any] = {
        "company": company_id,
        "users": users,
        "lo": lo,
        "hi": hi,
        "now": now,
        "approved": TimesheetStatus.APPROVED.value,
    }
    team_sql, active_sql = _team_sql(approved_only)
    with read_connection().cursor() as cursor:
        cursor.execute(team_sql, params)
        pieces = cursor.fetchall()
        cursor.execute(active_sql, params)
        active = dict(cursor.fetchall())
    weeks = (
        _approval_weeks(
            company_id, [(m.user_id, m.user.timezone) for m in members], lo=lo, hi=hi, now=now, week_start=week_start
        )
        if week_start
        else {}
    )
    by_user: dict = {user_id: [] for user_id in users}
    for user_id, project_id, name, currency, seconds, billable, amount in pieces:
        by_user[user_id].append(
            {
                "project_id": str(project_id),
                "name": name,
                "seconds": int(seconds or 0),
                "billable_seconds": int(billable or 0),
                "amount_cents": int(amount or 0),
                "currency": currency,
            }
        )
    rows = []
    for membership in members:
        projects = sorted(by_user[membership.user_id], key=lambda p: (-p["seconds"], p["name"]))
        tracked = sum(p["seconds"] for p in projects)
        currencies = {p["currency"] for p in projects if p["amount_cents"]}
        active_seconds = int(active.get(membership.user_id) or 0)
        rows.append(
            {
                "user": {"id": str(membership.user_id), "name": membership.user.name, "email": membership.user.email},
                "tracked_seconds": tracked,
                "billable_seconds": sum(p["billable_seconds"] for p in projects),
                "amount_cents": sum(p["amount_cents"] for p in projects),
                # One currency in the normal case; several (projects billed in different ones)
                # leave it null: read the per-project amounts then.
                "currency": currencies.pop() if len(currencies) == 1 else None,
                # Hubstaff's definition: active seconds / tracked seconds (capped: samples
                # may cover minutes outside entries).
                "activity_percent": round(min(100.0, 100.0 * active_seconds / tracked), 1) if tracked else None,
                "projects": projects,
            }
        )
        if week_start:
            mine = weeks.get(membership.user_id, [])
            rows[-1]["approval_status"] = summary_status([w["status"] for w in mine if w["seconds"]])
            rows[-1]["approval_weeks"] = mine
    return rows


def _approval_weeks(
    company_id: UUID,
    members: Sequence[tuple[UUID, str]],
    *,
    lo: datetime,
    hi: datetime,
    now: datetime,
    week_start: str,
) -> dict[UUID, list[dict]]:
    """``{user_id: [{period_start, period_end, status, seconds}]}`` over the weeks of each
    ``(user_id, time zone)`` overlapping [lo, hi), seconds clipped to the range: one statement
    for the time, one (``approval_statuses``) for the statuses, whatever the page's size."""
    member_weeks = _member_weeks(members, lo=lo, hi=hi, week_start=week_start)
    if not member_weeks:
        return {}
    params: dict[str, Any] = {
        "company": company_id,
        "lo": lo,
        "hi": hi,
        "now": now,
        "w_users": [user_id for user_id, _ in member_weeks],
        "w_starts": [week.period_start for _, week in member_weeks],
        "w_los": [week.starts_at for _, week in member_weeks],
        "w_his": [week.ends_at for _, week in member_weeks],
    }
    with read_connection().cursor() as cursor:
        cursor.execute(_WEEKS_SQL, params)
        seconds = {(user_id, start): int(total or 0) for user_id, start, total in cursor.fetchall()}
    statuses = approval_statuses(
        company_id=company_id,
        user_ids=[user_id for user_id, _ in members],
        first=min(week.period_start for _, week in member_weeks),
        last=max(week.period_end for _, week in member_weeks),
    )
    out: dict[UUID, list[dict]] = {}
    for user_id, week in member_weeks:
        out.setdefault(user_id, []).append(
            {
                "period_start": week.period_start.isoformat(),
                "period_end": week.period_end.isoformat(),
                "status": approval_status_of(statuses, user_id=user_id, period_start=week.period_start),
                "seconds": seconds.get((user_id, week.period_start), 0),
            }
        )
    return out


def export_list(*, memberships: list[Membership], user: User) -> QuerySet[ReportExport]:
    """The exports the caller may see: their own, and every export of a company whose exports
    they may see (SPEC: the requester and OWNER/ADMIN); nobody else's exist."""
    from organizations import permissions
    from reports.models import ReportExport

    own = [m.company_id for m in memberships]
    all_of = [m.company_id for m in memberships if permissions.can_see_others_exports(m)]
    return ReportExport.objects.filter(Q(company_id__in=own, requested_by=user) | Q(company_id__in=all_of)).order_by(
        "-created_at", "-id"
    )


# --------------------------------------------------------------------------- dashboard


def now_board(*, membership: Membership, day: date, tz: ZoneInfo, now: datetime) -> list[dict]:
    """The dashboard's Now board (SPEC: Web dashboard): every member the caller may read (a
    MEMBER themselves), what each is tracking right now and since when, and their total for the
    local ``day``, or, when not tracking, the timer they paused here (``paused``). Trackers
    first, then by name. Five statements whatever the team's size."""
    from tracking.selectors import live_entries, paused_entries

    members = list(team_members(membership=membership).order_by("user__name", "user_id"))
    lo, hi = local_day_bounds(day, tz)
    rows = team_rows(company_id=membership.company_id, members=members, lo=lo, hi=hi, now=now)
    totals = {row["user"]["id"]: row["tracked_seconds"] for row in rows}
    running = {
        entry.user_id: entry
        for entry in live_entries()
        .filter(company_id=membership.company_id, user_id__in=[m.user_id for m in members], ended_at__isnull=True)
        .select_related("project", "task")
    }
    paused = paused_entries(company_id=membership.company_id, user_ids=[m.user_id for m in members])
    rows = [
        {
            "user": m.user,
            "role": m.role,
            "is_me": m.user_id == membership.user_id,
            "running": running.get(m.user_id),
            # A pause outlives nothing but a start, which clears it: never beside a running timer.
            "paused": None if m.user_id in running else paused.get(m.user_id),
            "today_seconds": totals.get(str(m.user_id), 0),
        }
        for m in members
    ]
    return sorted(rows, key=lambda r: r["running"] is None)  # stable: by name within each group


def my_timesheet_weeks(*, membership: Membership, timezone: str, now: datetime) -> list[dict]:
    """The dashboard's "My timesheet": the caller's current and previous timesheet weeks
    (their local days, the company's week_start), newest first, each ``{period_start,
    period_end, status, seconds, comment, can_submit}``. ``comment`` is an approver's reason
    for a REJECTED week. A week may be submitted (by its member) when it holds time and is
    OPEN or REJECTED; the timesheet API has the last word (a running entry, for one). Three
    statements."""
    week_start = membership.company.week_start
    today = now.astimezone(ZoneInfo(timezone)).date()
    this_week = week_containing(today, week_start=week_start, timezone=timezone)
    last_week = week_containing(this_week.period_start - timedelta(days=1), week_start=week_start, timezone=timezone)
    found = _approval_weeks(
        membership.company_id,
        [(membership.user_id, timezone)],
        lo=last_week.starts_at,
        hi=this_week.ends_at,
        now=now,
        week_start=week_start,
    ).get(membership.user_id, [])
    reasons = dict(
        Timesheet.objects.filter(
            company_id=membership.company_id,
            user_id=membership.user_id,
            period_start__in=[last_week.period_start, this_week.period_start],
            status=TimesheetStatus.REJECTED,
        ).values_list("period_start", "comment")
    )
    weeks = []
    for week in reversed(found):
        start = date.fromisoformat(week["period_start"])
        weeks.append(
            {
                **week,
                "is_current": start == this_week.period_start,
                "comment": reasons.get(start, ""),
                "can_submit": bool(week["seconds"])
                and week["status"] in (TimesheetStatus.OPEN, TimesheetStatus.REJECTED),
            }
        )
    return weeks


# --------------------------------------------------------------------------- coding time


def coding_report(*, company_id: UUID, user_id: UUID, first: date, last: date, tz: ZoneInfo) -> dict:
    """SPEC's coding shape over the local days ``first`` .. ``last``: seconds in total, per
    project, language, editor (largest first) and day, each moment counted once across the
    user's devices (``activity.coding_time``: the rule and the counting)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    found = coding_time(company_id=company_id, user_id=user_id, bounds=[local_day_bounds(day, tz) for day in days])

    def named(totals: dict[str, float]) -> list[dict]:
        return [{"name": name, "seconds": round(seconds)} for name, seconds in totals.items() if round(seconds)]

    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": tz.key,
        "total_seconds": round(found.total_seconds),
        "projects": named(found.projects),
        "languages": named(found.languages),
        "editors": named(found.editors),
        "days": [
            {"date": day.isoformat(), "seconds": round(seconds)} for day, seconds in zip(days, found.days, strict=True)
        ],
    }


def coding_today(*, company_id: UUID, user_id: UUID, tz: ZoneInfo, now: datetime) -> CodingTime:
    """The user's coding time so far on their local day (WakaTime's status bar)."""
    return coding_time(company_id=company_id, user_id=user_id, bounds=[local_day_bounds(now.astimezone(tz).date(), tz)])
