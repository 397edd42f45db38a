"""Every write of tasks and time entries. The REST API, the sync batch, the admin and
seed_demo all come through here, so the rules live once.

Timer operations of one user are serialised by locking the user's row: a start reads the
running entry, stops it at the new start and inserts the new one in a single transaction.
The database has the last word on the invariants (one running entry, no overlap, end after
start); a violation becomes a 409 naming the entries it conflicts with, never a 500."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import User
from changelog import catalogue
from changelog.models import Tombstone
from common.bulk import copy_insert
from common.exceptions import ConflictError, InvalidInput
from organizations.models import Membership, Project
from organizations.selectors import visible_project
from tracking import events
from tracking.models import (
    ENTRY_MAX_DURATION,
    ENTRY_TIME_RANGE,
    BillingType,
    Source,
    Task,
    TimeEntry,
)
from tracking.selectors import subtree_ids

# --------------------------------------------------------------------------- helpers

ENDS_BEFORE_START = "The entry must end after it starts."

# The times an entry may have (docs/tracking.md). Before 2000 or more than a day ahead is a
# typo or a broken clock, never work, and unbounded times overflowed date arithmetic and the
# sums of every project list; a day ahead leaves room for any time zone and clock skew. The
# database holds what it can of this (``tracking_entry_started_in_range``, which cannot know
# "now", and ``tracking_entry_at_most_31_days``); every write below goes through
# ``_check_times``, so no path checks less.
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


def overlapping_entries(*, user_id, started_at: datetime, ended_at: datetime | None, exclude_id=None) -> list[str]:
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

    def __init__(self, message: str, *, code: str, entry_ids: list[str]):
        ids = ", ".join(entry_ids) if entry_ids else "unknown"
        super().__init__(
            f"{message} Conflicting entries: {ids}.", code=code, extra={"conflicting_entry_ids": entry_ids}
        )


def _save_entry(entry: TimeEntry, *, update_fields: list[str] | None = None) -> TimeEntry:
    """Save inside a savepoint; translate constraint violations into domain errors."""
    try:
        with transaction.atomic():
            entry.save(update_fields=update_fields)
    except IntegrityError as exc:
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


def _check_moment(moment: datetime, attr: str, now: datetime) -> None:
    if not EARLIEST_ENTRY_TIME <= moment <= now + MAX_AHEAD:
        raise InvalidInput(
            "Must be between 2000-01-01 and one day from now.", code="invalid", attr=attr
        )  # "invalid": the sync batch answers such an item as a conflict "invalid" (SPEC)


def _check_times(started_at: datetime, ended_at: datetime | None, *, now: datetime | None = None) -> None:
    """The one rule for an entry's times, for every write: both within 2000-01-01 .. now + 1
    day, the end after the start, and at most 31 days long however the end was given (an
    ``ended_at`` or a ``duration_seconds``)."""
    now = now or timezone.now()
    _check_moment(started_at, "started_at", now)
    if ended_at is None:
        return
    _check_moment(ended_at, "ended_at", now)
    if ended_at <= started_at:
        raise InvalidInput(ENDS_BEFORE_START, code="ends_before_start", attr="ended_at")
    if ended_at - started_at > MAX_ENTRY_DURATION:
        latest = (started_at + MAX_ENTRY_DURATION).astimezone(UTC)
        raise InvalidInput(
            f"An entry lasts at most 31 days: end it by {latest:%Y-%m-%dT%H:%M:%SZ}.",
            code="too_long",
            attr="ended_at",
        )


def _lock_user(user_id) -> None:
    # Serialises the timer operations of one user across processes; other users never wait.
    User.objects.select_for_update().filter(pk=user_id).values_list("pk", flat=True).first()


def _duration(started_at: datetime, ended_at: datetime) -> int:
    # Aware datetimes subtract in absolute time: a DST change inside the span changes nothing.
    return int((ended_at - started_at).total_seconds())


def resolve_project(*, membership: Membership, project_id) -> Project:
    """A project of the member's company that the member sees, else 400 on project_id
    (the same answer for another company's project and one that does not exist)."""
    found = visible_project(memberships=[membership], project_id=project_id)
    if found is None:
        raise InvalidInput("No such project.", code="does_not_exist", attr="project_id")
    return found[0]


def _resolve_task(project: Project, task_id) -> Task | None:
    if task_id is None:
        return None
    task = Task.objects.filter(project=project, pk=task_id).first()
    if task is None:
        raise InvalidInput("No such task in this project.", code="does_not_exist", attr="task_id")
    return task


def _ensure_open(project: Project) -> None:
    if project.archived_at is not None:
        raise ConflictError(
            "The project is archived and takes no new time.", code="project_archived", attr="project_id"
        )


# --------------------------------------------------------------------------- timers


@transaction.atomic
def timer_start(
    *,
    membership: Membership,
    project_id,
    task_id=None,
    description: str = "",
    started_at: datetime | None = None,
    entry_id: uuid.UUID | None = None,
    timezone_name: str | None = None,
    source: str = Source.TIMER,
    client_updated_at: datetime | None = None,
) -> TimeEntry:
    """Start a timer; a running one is stopped at the new start, in the same transaction."""
    user = membership.user
    project = resolve_project(membership=membership, project_id=project_id)
    task = _resolve_task(project, task_id)
    _ensure_open(project)
    _lock_user(user.pk)
    # The server's "now" is read after the lock: a stop that got the lock first ended the
    # running entry at its own now, and this start must begin after it, not before.
    started_at = started_at or timezone.now()
    _check_times(started_at, None)
    running = TimeEntry.objects.filter(user=user, ended_at__isnull=True, deleted_at__isnull=True).first()
    if running is not None:
        if started_at <= running.started_at:
            raise EntryConflict(
                "The running timer started after this start.", code="overlap", entry_ids=[str(running.pk)]
            )
        _stop(running, started_at)
        events.entry_changed(running, catalogue.TIMER_STOPPED)
    entry = TimeEntry(
        company_id=project.company_id,
        user=user,
        project=project,
        task=task,
        description=description,
        started_at=started_at,
        timezone=timezone_name or user.timezone,
        billable=project.billable,
        source=source,
        client_updated_at=client_updated_at or timezone.now(),
    )
    if entry_id is not None:
        entry.id = entry_id
    _save_entry(entry)
    events.entry_changed(entry, catalogue.TIMER_STARTED)
    return entry


def _stop(entry: TimeEntry, ended_at: datetime, client_updated_at: datetime | None = None) -> TimeEntry:
    if ended_at <= entry.started_at:
        raise InvalidInput("A timer cannot stop before it started.", code="ends_before_start", attr="ended_at")
    _check_times(entry.started_at, ended_at)
    entry.ended_at = ended_at
    entry.duration_seconds = _duration(entry.started_at, ended_at)
    entry.client_updated_at = client_updated_at or timezone.now()
    return _save_entry(entry, update_fields=["ended_at", "duration_seconds", "client_updated_at", "updated_at"])


@transaction.atomic
def timer_stop(*, user: User, ended_at: datetime | None = None) -> TimeEntry:
    _lock_user(user.pk)
    running = TimeEntry.objects.filter(user=user, ended_at__isnull=True, deleted_at__isnull=True).first()
    if running is None:
        raise ConflictError("No timer is running.", code="not_running")
    _stop(running, ended_at or timezone.now())
    events.entry_changed(running, catalogue.TIMER_STOPPED)
    return running


# --------------------------------------------------------------------------- manual entries


def _end_from(data: dict, started_at: datetime) -> datetime:
    if data.get("ended_at") is not None and data.get("duration_seconds") is not None:
        raise InvalidInput("Give ended_at or duration_seconds, not both.", code="ambiguous", attr="duration_seconds")
    if data.get("ended_at") is not None:
        return data["ended_at"]
    if data.get("duration_seconds") is not None:
        if not 1 <= data["duration_seconds"] <= MAX_ENTRY_DURATION.total_seconds():
            raise InvalidInput("1 second to 31 days.", code="invalid", attr="duration_seconds")
        _check_moment(started_at, "started_at", timezone.now())  # before adding: 9999-12-31 + 2 h overflows
        return started_at + timedelta(seconds=data["duration_seconds"])
    raise InvalidInput("Give ended_at or duration_seconds.", code="required", attr="ended_at")


def build_entry(
    *,
    membership: Membership,
    data: dict,
    project: Project | None = None,
    source: str = Source.MANUAL,
    client_updated_at: datetime | None = None,
) -> TimeEntry:
    """A validated, unsaved finished entry: the rules of a manual entry in one place, for
    ``entry_create`` and the sync batch's bulk path alike. ``project`` may be passed when the
    caller already resolved it with ``resolve_project`` for this membership."""
    project = project or resolve_project(membership=membership, project_id=data["project_id"])
    task = _resolve_task(project, data.get("task_id"))
    _ensure_open(project)
    started_at = data["started_at"]
    ended_at = _end_from(data, started_at)
    _check_times(started_at, ended_at)
    entry = TimeEntry(
        company_id=project.company_id,
        user=membership.user,
        project=project,
        task=task,
        description=data.get("description", ""),
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=_duration(started_at, ended_at),
        timezone=data.get("timezone") or membership.user.timezone,
        billable=data.get("billable", project.billable),
        source=source,
        client_updated_at=client_updated_at or timezone.now(),
    )
    if data.get("id") is not None:
        entry.id = data["id"]
    return entry


@transaction.atomic
def entry_create(
    *,
    membership: Membership,
    data: dict,
    project: Project | None = None,
    source: str = Source.MANUAL,
    client_updated_at: datetime | None = None,
) -> TimeEntry:
    """A finished entry: ``started_at`` plus ``ended_at`` or ``duration_seconds``."""
    entry = build_entry(
        membership=membership, data=data, project=project, source=source, client_updated_at=client_updated_at
    )
    _lock_user(entry.user_id)
    _save_entry(entry)
    events.entry_changed(entry, catalogue.ENTRY_UPSERTED)
    return entry


@transaction.atomic
def entries_create_bulk(*, entries: list[TimeEntry]) -> None:
    """Insert entries built by ``build_entry`` in one statement. All or nothing: any violation
    (overlap, duplicate id) raises IntegrityError and the caller applies them one by one
    instead, where each gets its own answer. Used by the sync batch for its common case."""
    if not entries:
        return
    for user_id in sorted({e.user_id for e in entries}):
        _lock_user(user_id)
    copy_insert(entries)
    events.entries_upserted(entries)


EDITABLE = ("description", "billable", "timezone")


@transaction.atomic
def entry_update(
    *, entry: TimeEntry, membership: Membership, data: dict, client_updated_at: datetime | None = None
) -> TimeEntry:
    """Edit an entry, keeping every invariant. ``membership`` is the editor's (it decides
    which projects the entry may move to)."""
    _lock_user(entry.user_id)
    entry = TimeEntry.objects.select_for_update().get(pk=entry.pk)
    was_running = entry.ended_at is None
    fields = [f for f in EDITABLE if f in data]
    for field in fields:
        setattr(entry, field, data[field])
    if "project_id" in data and data["project_id"] != entry.project_id:
        project = resolve_project(membership=membership, project_id=data["project_id"])
        if project.company_id != entry.company_id:
            raise InvalidInput("No such project.", code="does_not_exist", attr="project_id")
        _ensure_open(project)
        entry.project = project
        fields.append("project")
        if "task_id" not in data and entry.task_id is not None:
            entry.task = None  # the old task belongs to the old project
            fields.append("task")
    if "task_id" in data:
        entry.task = _resolve_task(entry.project, data["task_id"])
        fields.append("task")
    if "started_at" in data:
        entry.started_at = data["started_at"]
        fields.append("started_at")
    if data.get("ended_at") is not None or data.get("duration_seconds") is not None:
        entry.ended_at = _end_from(data, entry.started_at)
        fields.append("ended_at")
    elif "ended_at" in data and entry.ended_at is not None:
        raise InvalidInput("A finished entry cannot run again: start a timer.", code="invalid", attr="ended_at")
    if "started_at" in fields or "ended_at" in fields:
        _check_times(entry.started_at, entry.ended_at)
    if entry.ended_at is not None:
        entry.duration_seconds = _duration(entry.started_at, entry.ended_at)
        fields.append("duration_seconds")
    entry.client_updated_at = client_updated_at or timezone.now()
    _save_entry(entry, update_fields=[*dict.fromkeys(fields), "client_updated_at", "updated_at"])
    events.entry_changed(entry, catalogue.TIMER_STOPPED if was_running and entry.ended_at else catalogue.ENTRY_UPSERTED)
    return entry


@transaction.atomic
def entry_delete(*, entry: TimeEntry, client_updated_at: datetime | None = None) -> TimeEntry:
    """A tombstone: hidden from reads (and from the invariants), kept for sync."""
    if entry.deleted_at is None:
        entry.deleted_at = timezone.now()
        entry.client_updated_at = client_updated_at or entry.deleted_at
        entry.save(update_fields=["deleted_at", "client_updated_at", "updated_at"])
        events.entry_changed(entry, catalogue.ENTRY_DELETED)
    return entry


# --------------------------------------------------------------------------- tasks

TASK_FIELDS = (
    "title",
    "status",
    "position",
    "estimate_seconds",
    "billing_type",
    "hourly_rate_cents",
    "task_price_cents",
)


def _validate_billing(task: Task) -> None:
    if task.billing_type == BillingType.HOURLY_RATE:
        if task.hourly_rate_cents is None:
            raise InvalidInput("HOURLY_RATE needs hourly_rate_cents.", code="required", attr="hourly_rate_cents")
        if task.task_price_cents is not None:
            raise InvalidInput("HOURLY_RATE takes no task_price_cents.", code="forbidden", attr="task_price_cents")
    elif task.billing_type == BillingType.TASK_PRICE:
        if task.task_price_cents is None:
            raise InvalidInput("TASK_PRICE needs task_price_cents.", code="required", attr="task_price_cents")
        if task.hourly_rate_cents is not None:
            raise InvalidInput("TASK_PRICE takes no hourly_rate_cents.", code="forbidden", attr="hourly_rate_cents")
    elif task.hourly_rate_cents is not None or task.task_price_cents is not None:
        attr = "hourly_rate_cents" if task.hourly_rate_cents is not None else "task_price_cents"
        raise InvalidInput("Billing type NONE takes no rate or price.", code="forbidden", attr=attr)


def _lock_tree(project_id) -> None:
    # Moves are checked against the tree as it is; locking the project serialises them, so two
    # concurrent moves cannot each pass the check and close a cycle together.
    Project.objects.select_for_update().filter(pk=project_id).values_list("pk", flat=True).first()


def _resolve_parent(project: Project, parent_id) -> Task | None:
    if parent_id is None:
        return None
    parent = Task.objects.filter(project=project, pk=parent_id).first()
    if parent is None:
        raise InvalidInput("No such parent task in this project.", code="does_not_exist", attr="parent_id")
    return parent


def descendant_ids(task: Task) -> set:
    """The task's subtree (itself included), in one recursive query."""
    return set(subtree_ids(task.pk))


@transaction.atomic
def task_create(*, project: Project, data: dict, client_updated_at: datetime | None = None) -> Task:
    _lock_tree(project.pk)
    task = Task(company_id=project.company_id, project=project, **{k: v for k, v in data.items() if k in TASK_FIELDS})
    task.parent = _resolve_parent(project, data.get("parent_id"))
    if data.get("id") is not None:
        if Task.objects.filter(pk=data["id"]).exists():
            raise ConflictError("A task with this id already exists.", code="duplicate_id", attr="id")
        if Tombstone.objects.filter(entity_id=data["id"]).exists():
            raise ConflictError("A task with this id was deleted; ids are never reused.", code="deleted", attr="id")
        task.id = data["id"]
    _validate_billing(task)
    task.client_updated_at = client_updated_at or timezone.now()
    task.save()
    events.task_changed(task)
    return task


@transaction.atomic
def task_update(*, task: Task, data: dict, client_updated_at: datetime | None = None) -> Task:
    _lock_tree(task.project_id)
    task = Task.objects.select_for_update().get(pk=task.pk)
    fields = [k for k in data if k in TASK_FIELDS]
    for field in fields:
        setattr(task, field, data[field])
    if "parent_id" in data:
        parent = _resolve_parent(task.project, data["parent_id"])
        if parent is not None and parent.pk in descendant_ids(task):
            raise InvalidInput("A task cannot move under itself or its own subtask.", code="cycle", attr="parent_id")
        task.parent = parent
        fields.append("parent")
    _validate_billing(task)
    task.client_updated_at = client_updated_at or timezone.now()
    task.save(update_fields=[*fields, "client_updated_at", "updated_at"])
    events.task_changed(task)
    return task


@transaction.atomic
def task_set_status(*, task: Task, status: str) -> Task:
    task.status = status
    task.client_updated_at = timezone.now()
    task.save(update_fields=["status", "client_updated_at", "updated_at"])
    events.task_changed(task)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Deletes the subtree; time tracked on it stays, without a task. Every deleted task gets a
    task.deleted change and a tombstone, so no replayed upsert brings it back."""
    subtree = list(Task.objects.filter(pk__in=subtree_ids(task.pk)))
    events.tasks_deleted(subtree)
    task.delete()
