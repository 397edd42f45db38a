"""The timesheet workflow (SPEC "Timesheets, locked periods and the audit log"): a member's
week goes OPEN -> SUBMITTED -> APPROVED or REJECTED, and back to OPEN by ``reopen``; and the
company's ``locked_until``, whose guard lives here because only this app knows time entries.

What makes it trustworthy is the lock ordering. Every entry write takes the user's row lock
(``lock_user``, in the entry services) and, in the database's lock check, a SHARED advisory
lock per user and per company (tracking migration 0006). A submit takes ``lock_user`` and the
user's advisory lock EXCLUSIVELY before it reads the week's entries, so an edit racing it
either commits first (and is in the totals) or waits and then meets the SUBMITTED sheet (409
``period_locked``): never an edit after the lock missing from the totals. Decisions lock the
sheet's row and re-check its status, so two approvers at once make one decision.

Running timers are never stranded: a submit (and a ``locked_until`` change) is refused with
409 ``timer_running`` while a timer of the period runs, because a running entry that started
inside a locked period could no longer be stopped (docs/timesheets.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING
from uuid import UUID

import structlog
from django.core.mail import send_mail
from django.db import connection, transaction
from django.utils import timezone

from audit import recording as audit
from changelog import catalogue
from changelog.catalogue import Event, TimesheetPayload
from common.exceptions import ConflictError, InvalidInput, NotFoundError, PermissionDeniedError
from organizations import permissions
from organizations.models import Company, Membership
from tracking import events
from tracking.models import LOCKING_STATUSES, TimeEntry, Timesheet, TimesheetStatus
from tracking.services.rules import hold_company_periods, hold_user_periods, lock_user
from tracking.weeks import Week, is_week_start, week_containing

if TYPE_CHECKING:
    from accounts.models import User

logger = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- helpers


@dataclass(frozen=True)
class WeekTotals:
    entries: int
    total_seconds: int
    billable_seconds: int


def week_totals(*, company_id: UUID, user_id: UUID, starts_at: datetime, ends_at: datetime) -> WeekTotals:
    """The live entries of the user in the company that overlap [starts_at, ends_at), clipped to
    it (an entry across midnight at the week's edge counts its part inside). A running entry
    counts up to now. Whole seconds per entry, as ``duration_seconds`` is."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*),
                   coalesce(sum(secs), 0),
                   coalesce(sum(secs) FILTER (WHERE billable), 0)
              FROM (SELECT e.billable,
                           greatest(0, floor(extract(epoch FROM
                               least(coalesce(e.ended_at, now()), %(ends)s) - greatest(e.started_at, %(starts)s)
                           )))::bigint AS secs
                      FROM tracking_timeentry e
                     WHERE e.user_id = %(user)s AND e.company_id = %(company)s AND e.deleted_at IS NULL
                       AND tstzrange(e.started_at, e.ended_at, '[)') && tstzrange(%(starts)s, %(ends)s, '[)')
                   ) clipped
            """,
            {"user": user_id, "company": company_id, "starts": starts_at, "ends": ends_at},
        )
        count, total, billable = cursor.fetchone()
    return WeekTotals(entries=int(count), total_seconds=int(total), billable_seconds=int(billable))


def _member(company: Company, user_id: UUID) -> Membership:
    """The active membership of ``user_id`` in the company, else 404: another company's user
    and a user who does not exist get the same answer."""
    found = Membership.objects.select_related("user").filter(company=company, user_id=user_id, is_active=True).first()
    if found is None:
        raise NotFoundError("No such member in this company.", code="not_found")
    return found


def _refuse(actor: Membership, user_id: UUID, message: str) -> None:
    """403 for someone whose data the actor reads anyway, else 404: a sheet the caller cannot
    read does not exist for them."""
    if permissions.can_read_user_data(actor, user_id):
        raise PermissionDeniedError(message)
    raise NotFoundError("No such timesheet.", code="not_found")


def _locked_sheet(actor: Membership, timesheet: Timesheet) -> Timesheet:
    """The sheet's row, locked, re-read: the status checks below see the committed truth, and a
    second decider waits here for the first to commit."""
    if timesheet.company_id != actor.company_id:
        raise NotFoundError("No such timesheet.", code="not_found")
    sheet = Timesheet.objects.select_for_update(of=("self",)).select_related("user").filter(pk=timesheet.pk).first()
    if sheet is None:
        raise NotFoundError("No such timesheet.", code="not_found")
    return sheet


def _week_of(company: Company, member: Membership, period_start: date) -> Week:
    return week_containing(period_start, week_start=company.week_start, timezone=member.user.timezone)


def _record(
    sheet: Timesheet,
    *,
    actor: User,
    verb: str,
    before: str,
    event: Event[TimesheetPayload],
    comment: str | None = None,
) -> None:
    """The audit row and the change-log event of one transition, in the caller's transaction."""
    changes: dict[str, list] = {"status": [before, sheet.status]}
    if comment:
        changes["comment"] = ["", comment]
    audit.record(
        action=f"timesheet.{verb}",
        target_type="timesheet",
        target_id=sheet.pk,
        company_id=sheet.company_id,
        actor=actor,
        subject_user_id=sheet.user_id,
        changes=changes,
    )
    events.timesheet_changed(sheet, event)


# --------------------------------------------------------------------------- submit


@transaction.atomic
def timesheet_submit(*, actor_membership: Membership, user_id: UUID, period_start: date) -> Timesheet:
    """Submit ``user_id``'s week starting ``period_start`` (a first day per the company's
    ``week_start``, in the member's local days): SUBMITTED with its totals; its entries lock."""
    company = actor_membership.company
    member = _member(company, user_id)
    if not permissions.can_submit_timesheet(actor_membership, user_id):
        _refuse(actor_membership, user_id, "Only an OWNER or ADMIN submits someone else's timesheet.")
    if not is_week_start(period_start, week_start=company.week_start):
        raise InvalidInput(
            f"Not the first day of a week: this company's weeks start on {company.week_start}.",
            code="not_week_start",
            attr="period_start",
        )
    week = _week_of(company, member, period_start)
    if week.starts_at > timezone.now():
        raise InvalidInput("This week has not started yet.", code="future_week", attr="period_start")

    # The order every entry write takes too (the row lock, then the advisory lock): in-flight
    # writes of this user commit before we read, new ones wait for our commit.
    lock_user(member.user_id)
    hold_user_periods(member.user_id)

    sheet = (
        Timesheet.objects.select_for_update()
        .filter(company=company, user_id=member.user_id, period_start=period_start)
        .first()
    )
    if sheet is not None and sheet.status in LOCKING_STATUSES:
        raise ConflictError(f"This week is already {sheet.status.lower()}.", code="already_submitted")
    running = list(
        TimeEntry.objects.filter(
            company=company,
            user_id=member.user_id,
            deleted_at__isnull=True,
            ended_at__isnull=True,
            started_at__lt=week.ends_at,
        ).values_list("pk", flat=True)
    )
    if running:
        # A running entry that started inside a locked week could never be stopped.
        raise ConflictError(
            "A timer is running in this week: stop it first.",
            code="timer_running",
            extra={"running_entry_ids": [str(pk) for pk in running]},
        )
    totals = week_totals(company_id=company.pk, user_id=member.user_id, starts_at=week.starts_at, ends_at=week.ends_at)
    if totals.entries == 0:
        raise InvalidInput("This week has no time entries to submit.", code="empty_week", attr="period_start")

    before = sheet.status if sheet is not None else TimesheetStatus.OPEN
    sheet = sheet or Timesheet(company=company, user=member.user, period_start=period_start)
    sheet.period_end = week.period_end
    sheet.timezone = week.timezone
    sheet.starts_at, sheet.ends_at = week.starts_at, week.ends_at
    sheet.status = TimesheetStatus.SUBMITTED
    sheet.total_seconds, sheet.billable_seconds = totals.total_seconds, totals.billable_seconds
    sheet.submitted_at, sheet.submitted_by = timezone.now(), actor_membership.user
    sheet.decided_at, sheet.decided_by, sheet.comment = None, None, ""
    sheet.save()
    _record(sheet, actor=actor_membership.user, verb="submitted", before=before, event=catalogue.TIMESHEET_SUBMITTED)
    return sheet


# --------------------------------------------------------------------------- decisions


def _decide(*, actor_membership: Membership, timesheet: Timesheet, status: str, comment: str) -> tuple[Timesheet, str]:
    sheet = _locked_sheet(actor_membership, timesheet)
    if sheet.user_id == actor_membership.user_id:
        raise PermissionDeniedError("Nobody approves or rejects their own timesheet.", code="own_timesheet")
    if not permissions.can_decide_timesheet(actor_membership, sheet.user_id):
        _refuse(actor_membership, sheet.user_id, "Your role does not allow deciding on this timesheet.")
    if sheet.status != TimesheetStatus.SUBMITTED:
        raise ConflictError(
            f"Only a submitted timesheet can be decided; this one is {sheet.status}.", code="not_submitted"
        )
    before = sheet.status
    sheet.status = status
    sheet.decided_at, sheet.decided_by = timezone.now(), actor_membership.user
    sheet.comment = comment
    sheet.save(update_fields=["status", "decided_at", "decided_by", "comment", "updated_at"])
    return sheet, before


@transaction.atomic
def timesheet_approve(*, actor_membership: Membership, timesheet: Timesheet, comment: str = "") -> Timesheet:
    """APPROVED: the week stays locked."""
    sheet, before = _decide(
        actor_membership=actor_membership, timesheet=timesheet, status=TimesheetStatus.APPROVED, comment=comment
    )
    _record(
        sheet,
        actor=actor_membership.user,
        verb="approved",
        before=before,
        event=catalogue.TIMESHEET_APPROVED,
        comment=comment,
    )
    return sheet


@transaction.atomic
def timesheet_reject(*, actor_membership: Membership, timesheet: Timesheet, comment: str) -> Timesheet:
    """REJECTED with a reason (required): the week unlocks for the member to fix, and they are
    emailed once this commits."""
    comment = (comment or "").strip()
    if not comment:
        raise InvalidInput("Say why the timesheet is rejected.", code="required", attr="comment")
    sheet, before = _decide(
        actor_membership=actor_membership, timesheet=timesheet, status=TimesheetStatus.REJECTED, comment=comment
    )
    _record(
        sheet,
        actor=actor_membership.user,
        verb="rejected",
        before=before,
        event=catalogue.TIMESHEET_REJECTED,
        comment=comment,
    )
    sheet_id = sheet.pk
    transaction.on_commit(lambda: _send_rejection_email(sheet_id))
    return sheet


@transaction.atomic
def timesheet_reopen(*, actor_membership: Membership, timesheet: Timesheet, comment: str = "") -> Timesheet:
    """Back to OPEN (unlocked): an OWNER or ADMIN from any decided or submitted state, the
    member themselves only while it waits for a decision."""
    sheet = _locked_sheet(actor_membership, timesheet)
    if not permissions.can_read_user_data(actor_membership, sheet.user_id):
        raise NotFoundError("No such timesheet.", code="not_found")
    if sheet.status == TimesheetStatus.OPEN:
        raise ConflictError("This timesheet is already open.", code="already_open")
    if not permissions.can_reopen_timesheet(actor_membership, user_id=sheet.user_id, status=sheet.status):
        raise PermissionDeniedError("Only an OWNER or ADMIN reopens a decided timesheet.")
    before = sheet.status
    sheet.status = TimesheetStatus.OPEN
    sheet.submitted_at, sheet.submitted_by = None, None
    sheet.decided_at, sheet.decided_by = None, None
    sheet.comment = (comment or "").strip()
    sheet.save()
    _record(
        sheet,
        actor=actor_membership.user,
        verb="reopened",
        before=before,
        event=catalogue.TIMESHEET_REOPENED,
        comment=sheet.comment,
    )
    return sheet


def _send_rejection_email(sheet_id: UUID) -> None:
    """After commit (a rolled-back rejection mails nobody); a mail failure never undoes it."""
    sheet = Timesheet.objects.select_related("user", "decided_by", "company").filter(pk=sheet_id).first()
    if sheet is None:
        return
    who = sheet.decided_by.name if sheet.decided_by else "An approver"
    try:
        send_mail(
            subject=f"Your timesheet for the week of {sheet.period_start} was rejected",
            message=(
                f"{who} rejected your timesheet for {sheet.period_start} to {sheet.period_end} "
                f"in {sheet.company.name}:\n\n{sheet.comment}\n\n"
                "Its time entries can be edited again; submit the week once it is fixed.\n"
            ),
            from_email=None,
            recipient_list=[sheet.user.email],
        )
    except Exception:  # the rejection stands; log, do not fail the request
        logger.exception("timesheet_rejection_email_failed", timesheet_id=str(sheet_id))


# --------------------------------------------------------------------------- locked_until


def company_lock_guard(*, company: Company, bound: datetime) -> None:
    """Called by ``organizations.services.company_update`` (registered in ``TrackingConfig``)
    inside its transaction, after it locked the company's row, when the lock moves later:
    wait for the company's in-flight entry writes and hold new ones back until the change
    commits, then refuse while a timer runs that started before ``bound`` (the end of the new
    ``locked_until`` day): it could not be stopped afterwards."""
    hold_company_periods(company.pk)
    running = list(
        TimeEntry.objects.filter(
            company_id=company.pk, deleted_at__isnull=True, ended_at__isnull=True, started_at__lt=bound
        )
        .order_by("started_at")
        .values_list("pk", flat=True)[:100]
    )
    if running:
        raise ConflictError(
            "Timers are running in the period to lock: they must be stopped first.",
            code="timer_running",
            attr="locked_until",
            extra={"running_entry_ids": [str(pk) for pk in running]},
        )
