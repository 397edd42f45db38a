"""Writes to the change log that are not recording: its retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from changelog.models import Change, SyncState

CHANGE_RETENTION = timedelta(days=30)  # SPEC: a client offline longer does a full resync (410)


@transaction.atomic
def changes_prune(*, now: datetime | None = None) -> int:
    """Drop changes older than 30 days; remember the lowest cursor still held so older cursors
    get 410 (the client does a full resync)."""
    now = now or timezone.now()
    old = Change.objects.filter(at__lt=now - CHANGE_RETENTION, cursor__isnull=False)
    newest_pruned = old.order_by("-cursor").values_list("cursor", flat=True).first()
    deleted, _ = old.delete()
    if newest_pruned is not None:
        state, _ = SyncState.objects.select_for_update().get_or_create(pk=1)
        state.pruned_below = max(state.pruned_below, newest_pruned)
        state.save(update_fields=["pruned_below"])
    return deleted
