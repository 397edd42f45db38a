"""Celery tasks of reports (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import shared_task

from reports import services


@shared_task(bind=True, acks_late=True, max_retries=services.MAX_ATTEMPTS - 1, default_retry_delay=5)
def build_export(self, export_id: str) -> None:
    """Build one export. The status claim makes a second delivery a no-op; a failure retries
    (at most 3 attempts in all), then the export is FAILED with the reason."""
    try:
        services.export_build(export_id=export_id)
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(ignore_result=True)
def purge_exports() -> int:
    """Expired exports and their files go (EXPORT_RETENTION_DAYS)."""
    return services.exports_purge()
