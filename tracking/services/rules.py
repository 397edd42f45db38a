"""The rules every write of a time entry shares (timers, manual entries, the sync batch's bulk
path, the admin): the times an entry may have, the lock that serialises one user's timer
operations, the project and task an entry may point at, and the translation of the database's
constraint violations into domain errors. Each rule lives here once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from common.exceptions import ConflictError, InvalidInput
from organizations.models import Membership, Project
from organizations.selectors import visible_project
from tracking.models import ENTRY_MAX_DURATION, ENTRY_TIME_RANGE, Task, TimeEntry

ENDS_BEFORE_START = "The entry must end after it starts."

# The times an entry may have (docs/tracking.md). Before 2000 or more than a day ahead is a
# typo or a broken clock, never work, and unbounded times overflowed date arithmetic and the
# sums of every project list; a day ahead leaves room for any time zone and clock skew. The
# database holds what it can of this (``tracking_entry_started_in_range``, which cannot know
# "now", and ``tracking_entry_at_most_31_days``); every write below goes through
# ``check_times``, so no path checks less.
EARLIEST_ENTRY_TIME = ENTRY_TIME_RANGE[0]
MAX_AHEAD = timedelta(days=1)
MAX_ENTRY_DURATION = ENTRY_MAX_DURATION  # a single entry longer than a month is a typo, not work

ENTRY_CONSTRAINTS = {
    "tracking_entry_no_overlap": "overlap",
    "tracking_entry_one_running_per_user": "already_running",
    "tracking_entry_ends_after_start": "ends_before_start",
}


def _constraint_name(exc: IntegrityError) -> str | None:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None)


def overlapping_entries(
    *, user_id: UUID, started_at: datetime, ended_at: datetime | None, exclude_id: UUID | None = None
) -> list[str]:
    """Ids of the user's live entries that overlap [started_at, ended_at) (open end: running)."""
    qs = TimeEntry.objects.filter(user_id=user_id, deleted_at__isnull=True).filter(
        Q(ended_at__isnull=True) | Q(ended_at__gt=started_at)
    )
    if ended_at is not None:
        qs = qs.filter(started_at__lt=ended_at)
    if exclude_id is not None:
        qs = qs.exclude(pk=exclude_id)
    return [str(pk) for pk in qs.order_by("started_at").values_list("pk", flat=True)[:20]]


class EntryConflict(ConflictError):
    """409 with the ids of the entries in the way (clients show or resolve them)."""

    def __init__(self, message: str, *, code: str, entry_ids: list[str]) -> None:
        ids = ", ".join(entry_ids) if entry_ids else "unknown"
        super().__init__(
            f"{message} Conflicting entries: {ids}.", code=code, extra={"conflicting_entry_ids": entry_ids}
        )


# --------------------------------------------------------------------------- locked periods

# The advisory-lock keys of tracking migration 0006's check (classid, then hashtext of the id):
# every entry write takes them shared, a submit (user) and a ``locked_until`` change (company)
# exclusively. Transaction-scoped: released at commit, safe behind PgBouncer.
PERIOD_LOCK_COMPANY_KEY = 1398031105
PERIOD_LOCK_USER_KEY = 1398031106


def hold_user_periods(user_id: UUID) -> None:
    """Wait for the user's in-flight entry writes to commit, and hold new ones back until this
    transaction ends (a submit reads the week's entries after this)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [PERIOD_LOCK_USER_KEY, str(user_id)])


def hold_company_periods(company_id: UUID) -> None:
    """The same for every entry write of a company (a change of ``locked_until``)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", [PERIOD_LOCK_COMPANY_KEY, str(company_id)])


class PeriodLocked(ConflictError):
    """409 ``period_locked``: the entry is in a SUBMITTED or APPROVED week, or on or before the
    company's ``locked_until``. ``locked_period`` in the body says which."""

    def __init__(self, message: str, period: dict) -> None:
        super().__init__(message, code="period_locked", extra={"locked_period": period})


def period_locked(exc: IntegrityError) -> PeriodLocked | None:
    """The domain error for the database's lock check (``tracking_entry_period_locked``), or
    None for any other violation. Every path that writes entries maps it through here."""
    if _constraint_name(exc) != "tracking_entry_period_locked":
        return None
    diag = exc.__cause__.diag  # type: ignore[union-attr]
    detail = json.loads(diag.message_detail or "{}")
    detail.pop("entry_id", None)
    return PeriodLocked(diag.message_primary or "The period is locked.", {k: v for k, v in detail.items() if v})


def save_entry(entry: TimeEntry, *, update_fields: list[str] | None = None) -> TimeEntry:
    """Save inside a savepoint; translate constraint violations into domain errors."""
    try:
        with transaction.atomic():
            entry.save(update_fields=update_fields)
    except IntegrityError as exc:
        locked = period_locked(exc)
        if locked is not None:
            raise locked from exc
        name = _constraint_name(exc)
        if name == "tracking_entry_ends_after_start":
            raise InvalidInput(
                "The entry must end after it starts.", code="ends_before_start", attr="ended_at"
            ) from exc
        if name == "tracking_entry_started_in_range":
            raise InvalidInput("Must be between 2000-01-01 and 2100-01-01.", code="invalid", attr="started_at") from exc
        if name == "tracking_entry_at_most_31_days":
            raise InvalidInput("An entry lasts at most 31 days.", code="too_long", attr="ended_at") from exc
        if name in ENTRY_CONSTRAINTS:
            if name == "tracking_entry_one_running_per_user":
                ids = [
                    str(pk)
                    for pk in TimeEntry.objects.filter(
                        user_id=entry.user_id, ended_at__isnull=True, deleted_at__isnull=True
                    )
                    .exclude(pk=entry.pk)
                    .values_list("pk", flat=True)
                ]
                raise EntryConflict("A timer is already running.", code="already_running", entry_ids=ids) from exc
            ids = overlapping_entries(
                user_id=entry.user_id, started_at=entry.started_at, ended_at=entry.ended_at, exclude_id=entry.pk
            )
            raise EntryConflict("The entry overlaps another entry.", code="overlap", entry_ids=ids) from exc
        if update_fields is None and TimeEntry.objects.filter(pk=entry.pk).exists():
            raise ConflictError("An entry with this id already exists.", code="duplicate_id", attr="id") from exc
        raise
    return entry


def check_moment(moment: datetime, attr: str, now: datetime) -> None:
    if not EARLIEST_ENTRY_TIME <= moment <= now + MAX_AHEAD:
        raise InvalidInput(
            "Must be between 2000-01-01 and one day from now.", code="invalid", attr=attr
        )  # "invalid": the sync batch answers such an item as a conflict "invalid" (SPEC)


def check_times(started_at: datetime, ended_at: datetime | None, *, now: datetime | None = None) -> None:
    """The one rule for an entry's times, for every write: both within 2000-01-01 .. now + 1
    day, the end after the start, and at most 31 days long however the end was given (an
    ``ended_at`` or a ``duration_seconds``)."""
    now = now or timezone.now()
    check_moment(started_at, "started_at", now)
    if ended_at is None:
        return
    check_moment(ended_at, "ended_at", now)
    if ended_at <= started_at:
        raise InvalidInput(ENDS_BEFORE_START, code="ends_before_start", attr="ended_at")
    if ended_at - started_at > MAX_ENTRY_DURATION:
        latest = (started_at + MAX_ENTRY_DURATION).astimezone(UTC)
        raise InvalidInput(
            f"An entry lasts at most 31 days: end it by {latest:%Y-%m-%dT%H:%M:%SZ}.",
            code="too_long",
            attr="ended_at",
        )


def lock_user(user_id: UUID) -> None:
    # Serialises the timer operations of one user across processes; other users never wait.
    User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()


def duration_between(started_at: datetime, ended_at: datetime) -> int:
    # Aware datetimes subtract in absolute time: a DST change inside the span changes nothing.
    return int((ended_at - started_at).total_seconds())


def resolve_project(*, membership: Membership, project_id: UUID) -> Project:
    """A project of the member's company that the member sees, else 400 on project_id
    (the same answer for another company's project and one that does not exist)."""
    found = visible_project(memberships=[membership], project_id=project_id)
    if found is None:
        raise InvalidInput("No such project.", code="does_not_exist", attr="project_id")
    return found[0]


def resolve_task(project: Project, task_id: UUID | None) -> Task | None:
    if task_id is None:
        return None
    task = Task.objects.filter(project=project, pk=task_id).first()
    if task is None:
        raise InvalidInput("No such task in this project.", code="does_not_exist", attr="task_id")
    return task


def ensure_open(project: Project) -> None:
    if project.archived_at is not None:
        raise ConflictError(
            "The project is archived and takes no new time.", code="project_archived", attr="project_id"
        )
