"""The team report (SPEC: /reports/team; the dashboard's team panel and the team exports read
it too): whose rows the caller may see, and each member's tracked and billable time, amount,
activity % and approval status over a range."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from django.db.models import QuerySet

from common.replica import read_connection
from reports.selectors.approval import approval_weeks, summary_status
from tracking.models import TimesheetStatus

if TYPE_CHECKING:
    from organizations.models import Membership


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
        approval_weeks(
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
