"""Change-log entries for tasks and time entries, in the API's output shape (ARCHITECTURE: 8).
Called by the services inside their transaction; published after commit by sync."""

from __future__ import annotations

from django.utils import timezone

from changelog import recording
from changelog.models import Tombstone
from common.representation import fast_representation
from tracking.models import Task, TimeEntry


def entry_changed(entry: TimeEntry, event: str) -> None:
    from tracking.api.serializers import TimeEntrySerializer

    payload = dict(TimeEntrySerializer(entry).data)
    deleted = entry.deleted_at is not None
    if deleted:
        payload["deleted_at"] = entry.deleted_at.isoformat().replace("+00:00", "Z")
    recording.record_change(
        company_id=entry.company_id,
        entity="time_entry",
        entity_id=entry.pk,
        action="delete" if deleted else "upsert",
        event=event,
        payload=payload,
        user_id=entry.user_id,
        project_id=entry.project_id,
    )


def entries_changed(entries: list[TimeEntry], event: str) -> None:
    from tracking.api.serializers import TimeEntrySerializer

    # The serializer's shape without DRF's per-field cost (a 1,000-item sync batch).
    payloads = fast_representation(TimeEntrySerializer)(entries)
    recording.record_changes(
        [
            recording.ChangeSpec(
                company_id=e.company_id,
                entity="time_entry",
                entity_id=e.pk,
                action="upsert",
                event=event,
                payload=dict(payload),
                user_id=e.user_id,
                project_id=e.project_id,
            )
            for e, payload in zip(entries, payloads, strict=True)
        ]
    )


def task_changed(task: Task) -> None:
    from tracking.api.serializers import TaskSerializer

    recording.record_change(
        company_id=task.company_id,
        entity="task",
        entity_id=task.pk,
        action="upsert",
        event="task.upserted",
        payload=dict(TaskSerializer(task).data),
        project_id=task.project_id,
    )


def tasks_deleted(tasks: list[Task]) -> None:
    """A deleted subtree: one task.deleted per task, and tombstones so no replay revives them."""
    now = timezone.now()
    for task in tasks:
        recording.record_change(
            company_id=task.company_id,
            entity="task",
            entity_id=task.pk,
            action="delete",
            event="task.deleted",
            payload={"id": str(task.pk), "project_id": str(task.project_id), "deleted_at": now.isoformat()},
            project_id=task.project_id,
        )
    Tombstone.objects.bulk_create(
        [Tombstone(entity="task", entity_id=t.pk, company_id=t.company_id, deleted_at=now) for t in tasks],
        ignore_conflicts=True,
    )
