"""The durable change log.

``Change`` is a transactional outbox: services insert a row in the same transaction as the
change itself, with ``cursor`` NULL. After commit a sequencer numbers the committed rows under
one advisory lock, so cursors follow commit order (a sequence value taken at insert time does
not: a long transaction would commit a lower number after a reader moved past it) and a
reader that moved past cursor N never misses a row later numbered below N.

``SyncState`` holds the log's head and how far it was published and pruned; ``Tombstone``
the ids deleted for good. These models import no domain app (plain UUID columns, not foreign keys), so every domain
app can write to the log without an import cycle (ARCHITECTURE: the dependency direction)."""

from __future__ import annotations

from django.db import models


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
    # Numbered and pulled like any other, never sent to sockets one by one: a bulk import's
    # entries (a million socket events; its requester's page hears import.finished instead).
    quiet = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "sync_change"  # its name from before the move to this app (docs/architecture.md)
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

    class Meta:
        db_table = "sync_syncstate"  # its name from before the move to this app (docs/architecture.md)

    def __str__(self) -> str:
        return f"pruned below {self.pruned_below}"


class Tombstone(models.Model):
    """An entity id that was deleted for good: a task (tasks are deleted, not soft-deleted), or
    any id whose delete reached the server before its create (a reordered delivery). A replayed
    or late upsert must never bring it back. Kept forever; ids are never reused."""

    entity = models.CharField(max_length=32)
    entity_id = models.UUIDField(primary_key=True)
    # Null when a client deleted an id the server never saw (the delete overtook the create).
    company_id = models.UUIDField(null=True)
    deleted_at = models.DateTimeField()

    class Meta:
        db_table = "sync_tombstone"  # its name from before the move to this app (docs/architecture.md)

    def __str__(self) -> str:
        return f"{self.entity} {self.entity_id}"
