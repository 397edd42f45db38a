"""Celery tasks of tracking (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def maintain_partitions() -> dict:
    """Monthly partitions of the activity tables ahead of need; raw heartbeats past retention
    dropped. Idempotent."""
    from tracking import partitions

    return partitions.maintain()
