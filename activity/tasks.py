"""Celery tasks of activity (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from activity import merge, partitions

MERGE_BUDGET_SECONDS = 2.0


@shared_task(ignore_result=True, acks_late=True)
def merge_heartbeats() -> int:
    """Merge pending heartbeats into app-usage intervals, device by device. Queued by intake
    (debounced) and by beat; safe to run concurrently (devices are claimed) and to kill at any
    point (a device's merge is one transaction). Works for MERGE_BUDGET_SECONDS at most, then
    queues itself again: a large backlog never holds a realtime worker process for minutes."""
    merged, more = merge.merge_round_robin(budget_seconds=MERGE_BUDGET_SECONDS)
    if more:
        merge_heartbeats.apply_async()
    return merged


@shared_task(ignore_result=True)
def maintain_partitions() -> dict:
    """Monthly partitions of the activity tables ahead of need; raw heartbeats past retention
    dropped, and those past a shorter plan retention deleted. Idempotent."""
    return {**partitions.maintain(), "deleted_by_plan": partitions.purge_by_plan()}
