from __future__ import annotations

from celery import shared_task

from common import idempotency


@shared_task(ignore_result=True)
def prune_idempotency_records() -> int:
    return idempotency.prune_expired()
