"""The approval status a report row carries (docs/reports.md, "Approval status"): the timesheet
weeks (the company's ``week_start``, the member's local days) its range covers, their statuses
and the seconds each holds, summarised into one status per row."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from common.replica import read_connection
from reports.models import ReportApprovalStatus
from tracking.models import TimesheetStatus
from tracking.selectors import approval_status_of, approval_statuses
from tracking.weeks import Week, week_containing

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


def approval_weeks(
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
