"""The dashboard's own reads (SPEC: Web dashboard), built on the reports': the Now board and
"My timesheet"."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from reports.selectors.approval import approval_weeks
from reports.selectors.days import local_day_bounds
from reports.selectors.team import team_members, team_rows
from tracking.models import Timesheet, TimesheetStatus
from tracking.weeks import week_containing

if TYPE_CHECKING:
    from organizations.models import Membership


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
    found = approval_weeks(
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
