"""A sync item's conflict (SPEC: Sync, conflicts): its reason, the server's version of the
entity (the REST API's output shape, plus the sync clock and a tombstone's ``deleted_at``) and
what a tracking service's refusal becomes. Apart from ``sync.services`` so that it stays one
concern per module."""

from __future__ import annotations

from datetime import datetime

from common.exceptions import InvalidInput, ServiceError
from common.representation import utc_iso
from tracking.models import Task, TimeEntry


class SyncConflict(Exception):
    def __init__(self, reason: str, server: dict | None, detail: str = "", extra: dict | None = None):
        super().__init__(reason)
        self.reason, self.server, self.detail = reason, server, detail
        self.extra = extra or {}  # beside reason and server (``locked_period`` of a ``locked``)


def entry_version(entry: TimeEntry | None) -> dict | None:
    if entry is None:
        return None
    from tracking.api.serializers import TimeEntrySerializer

    data = dict(TimeEntrySerializer(entry).data)
    data["deleted_at"] = utc_iso(entry.deleted_at) if entry.deleted_at else None
    data["client_updated_at"] = utc_iso(entry.client_updated_at) if entry.client_updated_at else None
    return data


def task_version(task: Task | None) -> dict | None:
    if task is None:
        return None
    from tracking.api.serializers import TaskSerializer

    data = dict(TaskSerializer(task).data)
    data["client_updated_at"] = utc_iso(task.client_updated_at) if task.client_updated_at else None
    return data


def is_stale(server_clock: datetime | None, client_clock: datetime) -> bool:
    return server_clock is not None and client_clock <= server_clock


def from_service_error(item: dict, exc: ServiceError) -> SyncConflict:
    """A tracking service's refusal as the item's conflict, with the server's version."""
    extra: dict = {}
    if isinstance(exc, InvalidInput):  # the item's data broke a rule (SPEC: a conflict "invalid")
        reason = "invalid"
    elif exc.code in {"overlap", "already_running"}:
        reason = "overlap"
    elif exc.code == "period_locked":
        # SPEC: conflict "locked". The database refused (tracking migration 0006): an entry,
        # or a task whose deletion would edit entries, in a SUBMITTED or APPROVED week or on
        # or before the company's locked_until. ``detail`` names the period; the server's
        # version is what stays.
        reason = "locked"
        extra = {"locked_period": exc.extra.get("locked_period")}
    else:
        reason = exc.code or "invalid"
    return SyncConflict(reason, current_version(item), exc.message, extra)


def as_body(key: str, conflict: SyncConflict) -> dict:
    body = {"idempotency_key": key, "reason": conflict.reason, "server": conflict.server}
    if conflict.detail:
        body["detail"] = conflict.detail
    body.update(conflict.extra)
    return body


def current_version(item: dict) -> dict | None:
    entity_id = item["data"].get("id")
    if not entity_id:
        return None
    if item["entity"] == "time_entry":
        return entry_version(TimeEntry.objects.filter(pk=entity_id).first())
    return task_version(Task.objects.filter(pk=entity_id).first())
