"""Celery tasks of reports (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from common.metrics import EXPORT_BUILD_SECONDS, timed
from reports import services


# Past the soft limit the build raises inside (recorded as the attempt's failure, then retried);
# a minute later the hard limit kills the child. Enforced by prefork pools (the jobs workers).
@shared_task(
    bind=True,
    acks_late=True,
    max_retries=services.MAX_ATTEMPTS - 1,
    default_retry_delay=5,
    soft_time_limit=settings.EXPORT_SOFT_TIME_LIMIT,
    time_limit=settings.EXPORT_SOFT_TIME_LIMIT + 60,
)
def build_export(self: Task, export_id: str) -> None:
    """Build one export. The status claim makes a second delivery a no-op; a failure retries
    (at most 3 attempts in all), then the export is FAILED with the reason."""
    try:
        with timed(EXPORT_BUILD_SECONDS) as outcome:
            if services.export_build(export_id=export_id) is None:
                outcome["outcome"] = "not_ready"  # claimed elsewhere, gone, or failed for good
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(ignore_result=True)
def purge_exports() -> int:
    """Expired exports and their files go (EXPORT_RETENTION_DAYS)."""
    return services.exports_purge()


@shared_task(ignore_result=True)
def requeue_lost_exports() -> int:
    """Exports whose build message was lost (a worker killed as it took it) go again."""
    return services.exports_requeue_lost()
