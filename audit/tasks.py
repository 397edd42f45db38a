"""Celery tasks of the audit log (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from audit import services


@shared_task(ignore_result=True)
def purge_audit_log() -> int:
    """Rows past AUDIT_RETENTION_DAYS go (beat, daily); unset: none ever do. Running twice
    deletes nothing the second time."""
    return services.audit_purge()
