"""Celery tasks of sync (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from sync.sequencer import sequence_and_publish


@shared_task(ignore_result=True)
def sequence_changes() -> int:
    """Number and publish committed changes nobody published yet. The process that commits a
    change normally does it on commit; this picks up what a crash in between left behind.
    Safe to run twice or concurrently: the sequencer's advisory lock lets one work at a time."""
    return sequence_and_publish()
