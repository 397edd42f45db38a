"""Locked periods for tests, made directly in the database (the way the timesheet services'
results look): a SUBMITTED or APPROVED week of a member, or a company's ``locked_until``."""

from __future__ import annotations

from datetime import date

from organizations.models import Company
from tracking.models import Timesheet, TimesheetStatus
from tracking.weeks import week_containing


def lock_week(*, company: Company, user, day: date, status: str = TimesheetStatus.APPROVED) -> Timesheet:
    """The member's week containing local ``day``, SUBMITTED or APPROVED (a row the trigger reads)."""
    week = week_containing(day, week_start=company.week_start, timezone=user.timezone)
    return Timesheet.objects.create(
        company=company,
        user=user,
        period_start=week.period_start,
        period_end=week.period_end,
        timezone=week.timezone,
        starts_at=week.starts_at,
        ends_at=week.ends_at,
        status=status,
    )


def lock_until(company: Company, day: date | None) -> None:
    """``locked_until`` set as the database sees it (no service: its own checks are not the point)."""
    Company.objects.filter(pk=company.pk).update(locked_until=day)
    company.locked_until = day
