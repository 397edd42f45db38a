"""Timers and time entries: start, stop, create (one or many), update, delete. The times,
locks and constraint translation they share are in ``rules``.

Timer operations of one user are serialised by locking the user's row: a start reads the
running entry, stops it at the new start and inserts the new one in a single transaction.
The database has the last word on the invariants (one running entry, no overlap, end after
start, locked periods); a violation becomes a 409 naming the entries it conflicts with (or
the locked week), never a 500.

A change made by someone other than the entry's owner (an OWNER or ADMIN correcting a
member's time, by REST or the admin) is written to the audit log in the same transaction:
``actor`` is who made it; the owner editing their own entries leaves no audit row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from audit import recording as audit
from changelog import catalogue
from common.bulk import copy_insert
from common.exceptions import ConflictError, InvalidInput
from organizations.models import Membership, Project
from organizations.selectors import visible_project
from tracking import events
from tracking.models import PausedTimer, Source, TimeEntry
from tracking.services.entry_fields import AUDITED_FIELDS, EntryData, audit_entry
from tracking.services.rules import (
    MAX_ENTRY_DURATION,
    EntryConflict,
    check_moment,
    check_times,
    duration_between,
    ensure_open,
    lock_user,
    resolve_project,
    resolve_task,
    save_entry,
)

# --------------------------------------------------------------------------- timers


@transaction.atomic
def timer_start(
    *,
    membership: Membership,
    project_id: uuid.UUID,
    task_id: uuid.UUID | None = None,
    description: str = "",
    started_at: datetime | None = None,
    entry_id: uuid.UUID | None = None,
    timezone_name: str | None = None,
    source: str = Source.TIMER,
    client_updated_at: datetime | None = None,
    billable: bool | None = None,
) -> TimeEntry:
    """Start a timer; a running one is stopped at the new start, in the same transaction. Any
    start forgets the user's paused timer (Toggl: a new timer makes the pause moot)."""
    user = membership.user
    project = resolve_project(membership=membership, project_id=project_id)
    task = resolve_task(project, task_id)
    ensure_open(project)
    lock_user(user.pk)
    # The server's "now" is read after the lock: a stop that got the lock first ended the
    # running entry at its own now, and this start must begin after it, not before.
    started_at = started_at or timezone.now()
    check_times(started_at, None)
    running = TimeEntry.objects.filter(user=user, ended_at__isnull=True, deleted_at__isnull=True).first()
    if running is not None:
        if started_at <= running.started_at:
            raise EntryConflict(
                "The running timer started after this start.", code="overlap", entry_ids=[str(running.pk)]
            )
        _stop(running, started_at)
        events.entry_changed(running, catalogue.TIMER_STOPPED)
    PausedTimer.objects.filter(user=user).delete()
    entry = TimeEntry(
        company_id=project.company_id,
        user=user,
        project=project,
        task=task,
        description=description,
        started_at=started_at,
        timezone=timezone_name or user.timezone,
        billable=project.billable if billable is None else billable,
        source=source,
        client_updated_at=client_updated_at or timezone.now(),
    )
    if entry_id is not None:
        entry.id = entry_id
    save_entry(entry)
    events.entry_changed(entry, catalogue.TIMER_STARTED)
    return entry


def _stop(entry: TimeEntry, ended_at: datetime, client_updated_at: datetime | None = None) -> TimeEntry:
    if ended_at <= entry.started_at:
        raise InvalidInput("A timer cannot stop before it started.", code="ends_before_start", attr="ended_at")
    check_times(entry.started_at, ended_at)
    entry.ended_at = ended_at
    entry.duration_seconds = duration_between(entry.started_at, ended_at)
    entry.client_updated_at = client_updated_at or timezone.now()
    return save_entry(entry, update_fields=["ended_at", "duration_seconds", "client_updated_at", "updated_at"])


@transaction.atomic
def timer_stop(*, user: User, ended_at: datetime | None = None) -> TimeEntry:
    lock_user(user.pk)
    running = TimeEntry.objects.filter(user=user, ended_at__isnull=True, deleted_at__isnull=True).first()
    if running is None:
        raise ConflictError("No timer is running.", code="not_running")
    _stop(running, ended_at or timezone.now())
    events.entry_changed(running, catalogue.TIMER_STOPPED)
    return running


def _remember_pause(entry: TimeEntry) -> None:
    """``entry`` (finished) becomes its user's paused timer, replacing any earlier pause."""
    PausedTimer.objects.update_or_create(
        user_id=entry.user_id, defaults={"company_id": entry.company_id, "entry": entry}
    )


@transaction.atomic
def timer_pause(*, user: User, ended_at: datetime | None = None) -> TimeEntry:
    """Stop the running timer as ``timer_stop`` does (same 409s: ``not_running``,
    ``period_locked``) and remember it for ``timer_resume``."""
    entry = timer_stop(user=user, ended_at=ended_at)
    _remember_pause(entry)
    return entry


@transaction.atomic
def timer_resume(*, user: User, memberships: list[Membership]) -> TimeEntry:
    """Start a new timer with the paused entry's project, task, description and billable flag
    (``timer_start``, which forgets the pause). ``memberships``: the companies the request may
    act in (the named one, or all the caller's); a pause in another company is "nothing
    paused" here, as if it did not exist."""
    lock_user(user.pk)  # a concurrent resume waits, then finds the pause gone: 409
    paused = PausedTimer.objects.select_related("entry").filter(user=user).first()
    membership = next((m for m in memberships if paused and m.company_id == paused.company_id), None)
    if paused is None or membership is None:
        raise ConflictError("Nothing is paused.", code="not_paused")
    entry = paused.entry
    if entry.deleted_at is not None:
        raise ConflictError("The paused entry was deleted: start a new timer.", code="paused_entry_deleted")
    if visible_project(memberships=[membership], project_id=entry.project_id) is None:
        raise ConflictError(
            "The paused entry's project is no longer one you can track: start a new timer.",
            code="project_unavailable",
        )
    return timer_start(
        membership=membership,
        project_id=entry.project_id,
        task_id=entry.task_id,
        description=entry.description,
        timezone_name=entry.timezone,
        billable=entry.billable,
    )


def _paused_flag(entry: TimeEntry, paused: bool | None) -> None:
    """A sync item's ``paused`` (REST has /pause): true remembers the finished entry as the
    user's paused timer, false forgets it, None leaves the pause alone (docs/sync.md)."""
    if paused is None:
        return
    if paused:
        if entry.ended_at is None:
            raise InvalidInput("A paused entry has ended: give ended_at.", code="invalid", attr="paused")
        _remember_pause(entry)
    else:
        PausedTimer.objects.filter(entry=entry).delete()


# --------------------------------------------------------------------------- manual entries


def _end_from(data: EntryData, started_at: datetime) -> datetime:
    ended_at, seconds = data.get("ended_at"), data.get("duration_seconds")
    if ended_at is not None and seconds is not None:
        raise InvalidInput("Give ended_at or duration_seconds, not both.", code="ambiguous", attr="duration_seconds")
    if ended_at is not None:
        return ended_at
    if seconds is not None:
        if not 1 <= seconds <= MAX_ENTRY_DURATION.total_seconds():
            raise InvalidInput("1 second to 31 days.", code="invalid", attr="duration_seconds")
        check_moment(started_at, "started_at", timezone.now())  # before adding: 9999-12-31 + 2 h overflows
        return started_at + timedelta(seconds=seconds)
    raise InvalidInput("Give ended_at or duration_seconds.", code="required", attr="ended_at")


def build_entry(
    *,
    membership: Membership,
    data: EntryData,
    project: Project | None = None,
    source: str = Source.MANUAL,
    client_updated_at: datetime | None = None,
) -> TimeEntry:
    """A validated, unsaved finished entry: the rules of a manual entry in one place, for
    ``entry_create`` and the sync batch's bulk path alike. ``project`` may be passed when the
    caller already resolved it with ``resolve_project`` for this membership."""
    project = project or resolve_project(membership=membership, project_id=data["project_id"])
    task = resolve_task(project, data.get("task_id"))
    ensure_open(project)
    started_at = data["started_at"]
    ended_at = _end_from(data, started_at)
    check_times(started_at, ended_at)
    # A client's own id (sync) is given to the constructor: no uuid7 made only to be replaced.
    given = {"id": data["id"]} if data.get("id") is not None else {}
    entry = TimeEntry(
        **given,
        company_id=project.company_id,
        user=membership.user,
        project=project,
        task=task,
        description=data.get("description", ""),
        started_at=started_at,
        ended_at=ended_at,
        duration_seconds=duration_between(started_at, ended_at),
        timezone=data.get("timezone") or membership.user.timezone,
        billable=data.get("billable", project.billable),
        source=source,
        client_updated_at=client_updated_at or timezone.now(),
    )
    return entry


@transaction.atomic
def entry_create(
    *,
    membership: Membership,
    data: EntryData,
    project: Project | None = None,
    source: str = Source.MANUAL,
    client_updated_at: datetime | None = None,
    actor: User | None = None,
    paused: bool | None = None,
) -> TimeEntry:
    """A finished entry: ``started_at`` plus ``ended_at`` or ``duration_seconds``, for
    ``membership``'s user. ``actor``: who creates it, when that is someone else (audited).
    ``paused``: a sync item's flag (``_paused_flag``)."""
    entry = build_entry(
        membership=membership, data=data, project=project, source=source, client_updated_at=client_updated_at
    )
    lock_user(entry.user_id)
    save_entry(entry)
    _paused_flag(entry, paused)
    audit_entry(entry, verb="created", actor=actor, before={}, after=audit.snapshot(entry, AUDITED_FIELDS))
    events.entry_changed(entry, catalogue.ENTRY_UPSERTED)
    return entry


@transaction.atomic(savepoint=False)
def entries_create_bulk(*, entries: list[TimeEntry]) -> None:
    """Insert entries built by ``build_entry`` in one statement. All or nothing: any violation
    (overlap, duplicate id) raises IntegrityError and the caller applies them one by one
    instead, where each gets its own answer. Used by the sync batch for its common case. No
    savepoint of its own: inside a transaction, a failure rolls back the caller's savepoint
    (the batch keeps one around it), so catching the error needs one there."""
    if not entries:
        return
    for user_id in sorted({e.user_id for e in entries}):
        lock_user(user_id)
    copy_insert([*entries])  # a list[Model] (list is invariant), the same objects
    events.entries_upserted(entries)


EDITABLE = ("description", "billable", "timezone")


@transaction.atomic
def entry_update(
    *,
    entry: TimeEntry,
    membership: Membership,
    data: EntryData,
    client_updated_at: datetime | None = None,
    actor: User | None = None,
    paused: bool | None = None,
) -> TimeEntry:
    """Edit an entry, keeping every invariant. ``membership`` is the editor's (it decides
    which projects the entry may move to); ``actor`` is the editor (default: the membership's
    user), audited when it is not the entry's owner."""
    actor = actor or membership.user
    lock_user(entry.user_id)
    entry = TimeEntry.objects.select_for_update().get(pk=entry.pk)
    before = audit.snapshot(entry, AUDITED_FIELDS)
    was_running = entry.ended_at is None
    given: Mapping[str, object] = data  # the plain fields, by name
    fields = [f for f in EDITABLE if f in given]
    for field in fields:
        setattr(entry, field, given[field])
    if "project_id" in data and data["project_id"] != entry.project_id:
        project = resolve_project(membership=membership, project_id=data["project_id"])
        if project.company_id != entry.company_id:
            raise InvalidInput("No such project.", code="does_not_exist", attr="project_id")
        ensure_open(project)
        entry.project = project
        fields.append("project")
        if "task_id" not in data and entry.task_id is not None:
            entry.task = None  # the old task belongs to the old project
            fields.append("task")
    if "task_id" in data:
        entry.task = resolve_task(entry.project, data["task_id"])
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
        check_times(entry.started_at, entry.ended_at)
    if entry.ended_at is not None:
        entry.duration_seconds = duration_between(entry.started_at, entry.ended_at)
        fields.append("duration_seconds")
    entry.client_updated_at = client_updated_at or timezone.now()
    save_entry(entry, update_fields=[*dict.fromkeys(fields), "client_updated_at", "updated_at"])
    _paused_flag(entry, paused)
    audit_entry(entry, verb="updated", actor=actor, before=before, after=audit.snapshot(entry, AUDITED_FIELDS))
    events.entry_changed(entry, catalogue.TIMER_STOPPED if was_running and entry.ended_at else catalogue.ENTRY_UPSERTED)
    return entry


@transaction.atomic
def entry_delete(
    *, entry: TimeEntry, client_updated_at: datetime | None = None, actor: User | None = None
) -> TimeEntry:
    """A tombstone: hidden from reads (and from the invariants), kept for sync. ``actor``: who
    deletes it (audited when not the owner; None for a task or command)."""
    if entry.deleted_at is None:
        lock_user(entry.user_id)
        entry.deleted_at = timezone.now()
        entry.client_updated_at = client_updated_at or entry.deleted_at
        save_entry(entry, update_fields=["deleted_at", "client_updated_at", "updated_at"])
        # What was deleted, field by field ([before, null]): the owner reading their audit
        # trail sees which time went, though the tombstone is hidden from every read.
        audit_entry(entry, verb="deleted", actor=actor, before=audit.snapshot(entry, AUDITED_FIELDS), after={})
        events.entry_changed(entry, catalogue.ENTRY_DELETED)
    return entry
