"""Celery tasks of sync (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from sync.sequencer import sequence_and_publish


@shared_task(ignore_result=True)
def sequence_changes() -> int:
    """Number and publish committed changes nobody published yet: what a sync batch hands off
    (so a thousand events do not hold up its answer), and, from the beat, what a crash between
    a commit and its on-commit publish left behind. Safe to run twice or concurrently: the
    sequencer's advisory locks let one process number, and one publish, at a time."""
    return sequence_and_publish()


@shared_task(ignore_result=True)
def prune_changes() -> dict:
    """Changes older than 30 days and item keys older than 35 go; older cursors then get 410."""
    from sync.services import changes_prune

    return changes_prune()


@shared_task(ignore_result=True, acks_late=True)
def merge_heartbeats() -> int:
    """Merge pending heartbeats into app-usage intervals, device by device. Queued by intake
    (debounced) and by beat; safe to run concurrently (devices are claimed) and to kill at any
    point (a device's merge is one transaction)."""
    from sync.heartbeats import merge_pending

    return merge_pending()
