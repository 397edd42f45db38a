"""Celery tasks of the change log (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from changelog import services
from changelog.sequencer import sequence_and_publish


@shared_task(ignore_result=True)
def sequence_changes() -> int:
    """Number and publish committed changes nobody published yet: what a sync batch hands off
    (so a thousand events do not hold up its answer), and, from the beat, what a crash between
    a commit and its on-commit publish left behind. Safe to run twice or concurrently: the
    sequencer's advisory locks let one process number, and one publish, at a time."""
    return sequence_and_publish()


@shared_task(ignore_result=True)
def prune_changes() -> int:
    """Changes older than 30 days go; older cursors then get 410."""
    return services.changes_prune()
