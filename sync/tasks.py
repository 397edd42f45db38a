"""Celery tasks of sync (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from sync import services


@shared_task(ignore_result=True)
def prune_item_keys() -> int:
    """Applied-item keys older than 35 days go. Idempotent."""
    return services.item_keys_prune()
