"""Change-log entries for tasks, time entries and timesheets, in the API's output shape (ARCHITECTURE: 8).
Called by the services inside their transaction; published after commit by the change log.
The events themselves (names, entities, actions, payload types) are ``changelog.catalogue``'s."""

from __future__ import annotations

from typing import cast
from uuid import UUID

from django.utils import timezone

from changelog import catalogue, recording
from changelog.catalogue import DeletedTimeEntryPayload, Event, TimeEntryPayload, TimesheetPayload
from changelog.models import Tombstone
from common.representation import sql_representation, utc_iso
from tracking.models import Task, TimeEntry, Timesheet


def entry_changed(entry: TimeEntry, event: Event[TimeEntryPayload] | Event[DeletedTimeEntryPayload]) -> None:
    """``event``: TIMER_STARTED, TIMER_STOPPED, ENTRY_UPSERTED or ENTRY_DELETED (the entry is
    deleted: its payload adds ``deleted_at``)."""
    from tracking.api.serializers import TimeEntrySerializer

    payload = cast(TimeEntryPayload, dict(TimeEntrySerializer(entry).data))
    where = {
        "company_id": entry.company_id,
        "entity_id": entry.pk,
        "user_id": entry.user_id,
        "project_id": entry.project_id,
    }
    if event is catalogue.ENTRY_DELETED:
        assert entry.deleted_at is not None
        deleted: DeletedTimeEntryPayload = {**payload, "deleted_at": utc_iso(entry.deleted_at)}
        recording.record(catalogue.ENTRY_DELETED, payload=deleted, **where)
    else:
        recording.record(cast(Event[TimeEntryPayload], event), payload=payload, **where)


def entries_upserted(entries: list[TimeEntry]) -> None:
    """``entry.upserted`` for many new entries of this transaction (a sync batch), published
    like any other: the payloads built by the database from the rows just written (Python's
    per-entry payload, its JSON and its COPY cost more than PostgreSQL's building them)."""
    _entries_upserted([e.pk for e in entries], quiet=False)


def entries_upserted_quietly(entry_ids: list[UUID]) -> None:
    """``entry.upserted`` for many entries written in this transaction (a bulk import),
    recorded quiet (pulled by sync clients, not sent to sockets one by one)."""
    _entries_upserted(entry_ids, quiet=True)


def _entries_upserted(entry_ids: list[UUID], *, quiet: bool) -> None:
    """Built and inserted by the database: the serializer's shape (``sql_representation``)."""
    from tracking.api.serializers import TimeEntrySerializer

    if not entry_ids:
        return
    payload, params = sql_representation(TimeEntrySerializer, "e")
    recording.record_selected(
        catalogue.ENTRY_UPSERTED,
        rows_sql=f"SELECT e.company_id, e.user_id, e.project_id, e.id, {payload}"
        " FROM unnest(string_to_array(%s, ',')::uuid[]) WITH ORDINALITY AS s(id, n)"
        " JOIN tracking_timeentry e ON e.id = s.id ORDER BY s.n",
        params=[*params, ",".join(map(str, entry_ids))],
        quiet=quiet,
    )


def task_changed(task: Task) -> None:
    from tracking.api.serializers import TaskSerializer

    recording.record(
        catalogue.TASK_UPSERTED,
        company_id=task.company_id,
        entity_id=task.pk,
        payload=cast(catalogue.TaskPayload, dict(TaskSerializer(task).data)),
        project_id=task.project_id,
    )


def tasks_deleted(tasks: list[Task]) -> None:
    """A deleted subtree: one task.deleted per task, and tombstones so no replay revives them."""
    now = timezone.now()
    for task in tasks:
        gone: catalogue.DeletedTaskPayload = {
            "id": str(task.pk),
            "project_id": str(task.project_id),
            "deleted_at": utc_iso(now),
        }
        recording.record(
            catalogue.TASK_DELETED,
            company_id=task.company_id,
            entity_id=task.pk,
            payload=gone,
            project_id=task.project_id,
        )
    Tombstone.objects.bulk_create(
        [Tombstone(entity="task", entity_id=t.pk, company_id=t.company_id, deleted_at=now) for t in tasks],
        ignore_conflicts=True,
    )


def timesheet_changed(sheet: Timesheet, event: Event[TimesheetPayload]) -> None:
    """``event``: one of the TIMESHEET_* events, with the sheet as ``GET /timesheets`` shows it.
    ``user_id`` is the member: the change reaches them, the company's managers and their teams'
    LEADs (USER_DATA), exactly the people who may decide on it."""
    from tracking.api.serializers import TimesheetSerializer
    from tracking.selectors import timesheet_row

    payload = cast(TimesheetPayload, dict(TimesheetSerializer(timesheet_row(sheet)).data))
    recording.record(event, company_id=sheet.company_id, entity_id=sheet.pk, payload=payload, user_id=sheet.user_id)
