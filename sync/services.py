"""Batch push from desktop clients (SPEC: Sync). Each item is applied in its own savepoint
through the tracking services the REST API uses: there is no second copy of the rules.

Idempotency, twice over: an item's ``idempotency_key`` is remembered per user (at least 30
days) and skipped when seen again; and every upsert names its entity ``id`` (clients create
offline with their own UUIDs), so even a key the server forgot cannot create a second copy.
Last writer wins by ``client_updated_at``: an item no newer than the write the server holds is
a conflict carrying the server's version; so is an overlap. Deletes become tombstones."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

import structlog
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from changelog import audience, catalogue, publishing, recording
from changelog.models import Change, Tombstone
from changelog.selectors import last_cursor
from common.bulk import AnyOf, copy_rows
from common.exceptions import ServiceError
from common.models import uuid7
from organizations import permissions
from organizations.models import Membership, Project
from organizations.selectors import visible_project
from sync import selectors
from sync.conflicts import SyncConflict, as_body, entry_version, from_service_error, is_stale, task_version
from sync.models import SyncItemKey
from tracking import services as tracking
from tracking.models import Source, Task, TimeEntry

logger = structlog.get_logger(__name__)
ITEM_KEY_RETENTION = timedelta(days=35)  # SPEC: at least 30 days
KEY_COLUMNS = ["id", "user", "key", "created_at"]  # SyncItemKey's, for the batch's COPY


@dataclass
class BatchResult:
    processed: int = 0
    skipped: int = 0
    conflicts: list[dict] = field(default_factory=list)
    cursor: int | None = None
    change_ids: list[int] = field(default_factory=list)


# --------------------------------------------------------------------------- the batch


class _Context:
    """Per-batch lookups: the caller's memberships and the projects they see, resolved once."""

    def __init__(self, user: User, memberships: list[Membership]):
        self.user, self.memberships = user, memberships
        for membership in memberships:  # the caller's own: the rules read membership.user (a query each)
            if membership.user_id == user.pk:
                membership.user = user
        self._projects: dict[UUID, tuple[Project, Membership]] = {}

    def project(self, project_id: UUID) -> tuple[Project, Membership]:
        if project_id not in self._projects:
            found = visible_project(memberships=self.memberships, project_id=project_id)
            if found is None:
                raise SyncConflict("not_found", None, "No such project.")
            self._projects[project_id] = found
        return self._projects[project_id]

    def membership(self, company_id: UUID) -> Membership:
        for membership in self.memberships:
            if membership.company_id == company_id:
                return membership
        raise SyncConflict("not_found", None, "Not a member of this company.")


@transaction.atomic
def batch_apply(*, user: User, memberships: list[Membership], device_id: str, items: list[dict]) -> BatchResult:
    result = BatchResult()
    ctx = _Context(user, memberships)
    keys = [item["idempotency_key"] for item in items]
    seen = selectors.seen_item_keys(user.pk, keys)
    with recording.collect_changes() as change_ids:
        at_once = _apply_all_at_once(ctx, items, seen, result)
        if not at_once:
            for item in items:
                _apply_item(ctx, item, seen, result)
    # At once, every change collected stands; else some savepoints rolled theirs back: the survivors.
    result.change_ids = (
        change_ids if at_once else list(Change.objects.filter(AnyOf(F("id"), change_ids)).values_list("id", flat=True))
    )
    return result


def _apply_all_at_once(ctx: _Context, items: list[dict], seen: set, result: BatchResult) -> bool:
    """The common case, set-based: every item creates a new finished entry (a tracker's
    offline queue). Entries are built by tracking's own ``build_entry`` (the same rules) and
    inserted in one statement inside a savepoint; if the database refuses anything (an overlap,
    a duplicate) nothing of it stays and the caller applies the items one by one, each in its
    own savepoint, so every item still gets its own answer. False when the batch is not of
    that shape or did not go through whole."""
    if not items or any(
        i["entity"] != "time_entry"
        or i["action"] != "upsert"
        or i["idempotency_key"] in seen
        or i["data"].get("ended_at") is None
        and i["data"].get("duration_seconds") is None
        or i["data"].get("project_id") is None
        or i["data"].get("started_at") is None
        or "paused" in i["data"]  # a pause is remembered by entry_create, one by one
        for i in items
    ):
        return False
    ids = [i["data"]["id"] for i in items]
    keys = [i["idempotency_key"] for i in items]
    if len(set(ids)) != len(ids) or len(set(keys)) != len(keys):
        return False
    if selectors.any_entry_known(ids):  # an entry to edit, or a deleted id to refuse: one by one
        return False
    try:
        entries = []
        for item in items:
            project, membership = ctx.project(item["data"]["project_id"])
            entries.append(
                tracking.build_entry(
                    membership=membership,
                    project=project,
                    data=tracking.entry_data(item["data"]),
                    source=Source.SYNC,
                    client_updated_at=item["client_updated_at"],
                )
            )
        with transaction.atomic():
            tracking.entries_create_bulk(entries=entries)
            # Plain rows, not 1,000 model instances: the keys are all this table holds.
            now = timezone.now()
            copy_rows(SyncItemKey, KEY_COLUMNS, [(uuid7(), ctx.user.pk, key, now) for key in keys])
    except (SyncConflict, ServiceError, IntegrityError):
        return False
    seen.update(keys)
    result.processed += len(items)
    return True


def _apply_item(ctx: _Context, item: dict, seen: set, result: BatchResult) -> None:
    key = item["idempotency_key"]
    if key in seen:  # applied before (this batch or an earlier delivery)
        result.skipped += 1
        return
    try:
        with transaction.atomic():  # this item's savepoint
            applied = _apply(ctx, item)
            SyncItemKey.objects.create(user=ctx.user, key=key)
        seen.add(key)
        if applied:
            result.processed += 1
        else:
            result.skipped += 1
    except SyncConflict as conflict:
        result.conflicts.append(as_body(key, conflict))
    except ServiceError as exc:  # the tracking rules said no: overlap, archived project, ...
        result.conflicts.append(as_body(key, from_service_error(item, exc)))


def batch_finish(*, user: User, device_id: str, result: BatchResult) -> BatchResult:
    """After commit: number the batch's changes, answer with the cursor of the last one, hand
    publishing to a worker (a thousand events do not hold up the answer), and tell the user's
    devices once that a batch was applied."""
    from changelog.sequencer import number_pending
    from changelog.tasks import publish_soon

    number_pending()  # this batch's changes included, when it returns (so the cursor below is theirs)
    publish_soon()
    if result.change_ids:
        result.cursor = last_cursor(result.change_ids)
    applied: catalogue.SyncAppliedPayload = {
        "device_id": device_id,
        "processed": result.processed,
        "skipped": result.skipped,
        "conflicts": len(result.conflicts),
    }
    event = publishing.envelope(
        event=catalogue.SYNC_APPLIED.name, cursor=result.cursor, company_id=None, at=timezone.now(), data=dict(applied)
    )
    try:
        publishing.send_to_groups(
            [audience.user_group(user.pk)],
            {"type": publishing.EVENT_MESSAGE, "event": event, "group": None, "prev": None},
        )
    except Exception:  # a notification; the batch itself is durable
        logger.exception("sync_applied_publish_failed")
    return result


def _apply(ctx: _Context, item: dict) -> bool:
    """Apply one item; True if it changed something, False if there was nothing to do."""
    handler = {
        ("time_entry", "upsert"): _entry_upsert,
        ("time_entry", "delete"): _entry_delete,
        ("task", "upsert"): _task_upsert,
        ("task", "delete"): _task_delete,
    }[(item["entity"], item["action"])]
    return handler(ctx, item["data"], item["client_updated_at"])


# --------------------------------------------------------------------------- time entries


def _tombstone_unknown(entity: str, entity_id: UUID) -> bool:
    """A delete for an id the server never saw: its create is still on the way (deliveries
    were reordered). Remember the id as deleted so that create cannot bring it back."""
    if TimeEntry.objects.filter(pk=entity_id).exists() or Task.objects.filter(pk=entity_id).exists():
        raise SyncConflict("not_found", None, "No such entity of yours.")
    _, created = Tombstone.objects.get_or_create(
        entity_id=entity_id, defaults={"entity": entity, "company_id": None, "deleted_at": timezone.now()}
    )
    return created


def _require(data: dict, *fields: str) -> None:
    missing = [f for f in fields if data.get(f) is None]
    if missing:
        raise SyncConflict("invalid", None, f"Creating needs {', '.join(missing)}.")


def _own_entry(ctx: _Context, entry_id: UUID) -> TimeEntry | None:
    entry = TimeEntry.objects.select_for_update().filter(pk=entry_id).first()
    if entry is not None and entry.user_id != ctx.user.pk:
        # Another user's entry (or company): as if it did not exist, and never overwritten.
        raise SyncConflict("not_found", None, "No such entry of yours.")
    return entry


def _entry_upsert(ctx: _Context, data: dict, clock: datetime) -> bool:
    entry = _own_entry(ctx, data["id"])
    if entry is None:
        if Tombstone.objects.filter(entity_id=data["id"]).exists():
            raise SyncConflict("deleted", None, "The entry was deleted.")
        _require(data, "project_id", "started_at")
        _, membership = ctx.project(data["project_id"])
        if data.get("ended_at") is None and data.get("duration_seconds") is None:
            if data.get("paused"):
                raise SyncConflict("invalid", None, "paused: a paused entry has ended: give ended_at.")
            tracking.timer_start(
                membership=membership,
                project_id=data["project_id"],
                task_id=data.get("task_id"),
                description=data.get("description", ""),
                started_at=data["started_at"],
                entry_id=data["id"],
                timezone_name=data.get("timezone"),
                source=Source.SYNC,
                client_updated_at=clock,
            )
        else:
            tracking.entry_create(
                membership=membership,
                data=tracking.entry_data(data),
                source=Source.SYNC,
                client_updated_at=clock,
                paused=data.get("paused"),
            )
        return True
    if entry.deleted_at is not None:
        raise SyncConflict("deleted", entry_version(entry), "The entry was deleted.")
    if is_stale(entry.client_updated_at, clock):
        raise SyncConflict("stale", entry_version(entry), "The server holds a newer version.")
    changes = tracking.entry_data({k: v for k, v in data.items() if k != "id"})
    tracking.entry_update(
        entry=entry,
        membership=ctx.membership(entry.company_id),
        data=changes,
        client_updated_at=clock,
        paused=data.get("paused"),
    )
    return True


def _entry_delete(ctx: _Context, data: dict, clock: datetime) -> bool:
    entry = _own_entry(ctx, data["id"])
    if entry is None:
        return _tombstone_unknown("time_entry", data["id"])
    if entry.deleted_at is not None:
        return False  # already gone: deleting again changes nothing
    if is_stale(entry.client_updated_at, clock):
        raise SyncConflict("stale", entry_version(entry), "The server holds a newer version.")
    tracking.entry_delete(entry=entry, client_updated_at=clock)
    return True


# --------------------------------------------------------------------------- tasks


def _task_upsert(ctx: _Context, data: dict, clock: datetime) -> bool:
    if Tombstone.objects.filter(entity_id=data["id"]).exists():
        raise SyncConflict("deleted", None, "The task was deleted.")
    task = Task.objects.select_for_update().filter(pk=data["id"]).first()
    if task is None:
        _require(data, "project_id", "title")
        project, membership = ctx.project(data["project_id"])
        if not permissions.can_manage_tasks_in(membership, project):
            raise SyncConflict("forbidden", None, "Your role does not allow changing tasks here.")
        tracking.task_create(project=project, data=tracking.task_data(data), client_updated_at=clock)
        return True
    project, membership = ctx.project(task.project_id)
    if not permissions.can_manage_tasks_in(membership, project):
        raise SyncConflict("forbidden", task_version(task), "Your role does not allow changing tasks here.")
    if is_stale(task.client_updated_at, clock):
        raise SyncConflict("stale", task_version(task), "The server holds a newer version.")
    changes = tracking.task_data({k: v for k, v in data.items() if k != "id"})
    tracking.task_update(task=task, data=changes, client_updated_at=clock)
    return True


def _task_delete(ctx: _Context, data: dict, clock: datetime) -> bool:
    task = Task.objects.select_for_update().filter(pk=data["id"]).first()
    if task is None:
        return _tombstone_unknown("task", data["id"])
    project, membership = ctx.project(task.project_id)
    if not permissions.can_manage_tasks_in(membership, project):
        raise SyncConflict("forbidden", task_version(task), "Your role does not allow changing tasks here.")
    if is_stale(task.client_updated_at, clock):
        raise SyncConflict("stale", task_version(task), "The server holds a newer version.")
    tracking.task_delete(task=task)
    return True


# --------------------------------------------------------------------------- pruning


def item_keys_prune(*, now: datetime | None = None) -> int:
    """Drop applied-item keys older than 35 days (SPEC: a retried item is recognised for at
    least 30)."""
    now = now or timezone.now()
    deleted, _ = SyncItemKey.objects.filter(created_at__lt=now - ITEM_KEY_RETENTION).delete()
    return deleted
