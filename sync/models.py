"""The durable change log and what sync needs to stay idempotent.

``Change`` is a transactional outbox: services insert a row in the same transaction as the
change itself, with ``cursor`` NULL. After commit a sequencer numbers the committed rows under
one advisory lock, so cursors follow commit order (a sequence value taken at insert time does
not: a long transaction would commit a lower number after a reader moved past it) and a
reader that moved past cursor N never misses a row later numbered below N.

These models import no domain app (plain UUID columns, not foreign keys), so every domain
app can write to the log without an import cycle (ARCHITECTURE: the dependency direction)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import uuid7


class Change(models.Model):
    id = models.BigAutoField(primary_key=True)
    cursor = models.BigIntegerField(null=True, unique=True)  # set by the sequencer after commit
    company_id = models.UUIDField()
    # Audience: entries are visible by their owner (user_id); tasks and projects by project.
    user_id = models.UUIDField(null=True)
    project_id = models.UUIDField(null=True)
    entity = models.CharField(max_length=32)  # time_entry, task, project, ...
    entity_id = models.UUIDField()
    action = models.CharField(max_length=8)  # upsert | delete
    event = models.CharField(max_length=40)  # the realtime event type, e.g. timer.started
    payload = models.JSONField()  # the API's output shape of the entity
    at = models.DateTimeField()

    class Meta:
        ordering = ("cursor",)
        indexes = [
            # The sequencer's work list: committed rows without a cursor yet.
            models.Index(fields=["id"], condition=models.Q(cursor__isnull=True), name="sync_change_unsequenced"),
            models.Index(fields=["company_id", "cursor"], name="sync_change_company_cursor"),
        ]

    def __str__(self) -> str:
        return f"#{self.cursor} {self.event} {self.entity_id}"


class SyncState(models.Model):
    """One row: the last cursor handed out (never goes back, even when every change is
    pruned) and the cursor below which changes were pruned (410 for older cursors)."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    head = models.BigIntegerField(default=0)
    published_upto = models.BigIntegerField(default=0)  # sent to the channel layer up to here
    pruned_below = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"pruned below {self.pruned_below}"


class SyncItemKey(models.Model):
    """An applied batch item's idempotency key, per user; kept at least 30 days."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="sync_itemkey_user_key")]

    def __str__(self) -> str:
        return self.key


class Tombstone(models.Model):
    """An entity id that was deleted for good: a task (tasks are deleted, not soft-deleted), or
    any id whose delete reached the server before its create (a reordered delivery). A replayed
    or late upsert must never bring it back. Kept forever; ids are never reused."""

    entity = models.CharField(max_length=32)
    entity_id = models.UUIDField(primary_key=True)
    # Null when a client deleted an id the server never saw (the delete overtook the create).
    company_id = models.UUIDField(null=True)
    deleted_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id}"


class HeartbeatInbox(models.Model):
    """Heartbeats accepted (202) and not merged yet. The intake COPYs them here before it
    answers, so a 202 survives any crash after it; the merge moves them, in the transaction
    that merges them, into ``tracking.Heartbeat`` (raw, partitioned) and ``AppUsage``.
    Not partitioned and normally small: rows live here for seconds."""

    id = models.BigAutoField(primary_key=True)
    company_id = models.UUIDField()
    user_id = models.UUIDField()
    device_id = models.CharField(max_length=100)
    timestamp = models.DateTimeField()
    duration = models.FloatField()
    app = models.CharField(max_length=255)
    title = models.CharField(max_length=1000, blank=True)
    url = models.CharField(max_length=2048, blank=True)
    domain = models.CharField(max_length=255, blank=True)
    project_id = models.UUIDField(null=True, blank=True)
    pulsetime = models.FloatField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ("id",)
        indexes = [models.Index(fields=["user_id", "device_id", "id"], name="sync_hbinbox_device")]

    def __str__(self) -> str:
        return f"{self.device_id} {self.timestamp:%Y-%m-%d %H:%M:%S} {self.app}"
