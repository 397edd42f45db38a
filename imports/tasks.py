"""Celery tasks of imports (ARCHITECTURE 10: thin, idempotent), on the jobs queue."""

from __future__ import annotations

from celery import Task, shared_task
from django.conf import settings

from imports import services


# Past the soft limit the run raises inside (a failed attempt; a real run's retry resumes
# after its last committed chunk); a minute later the hard limit kills the child.
@shared_task(
    bind=True,
    acks_late=True,
    max_retries=services.MAX_ATTEMPTS - 1,
    default_retry_delay=5,
    soft_time_limit=settings.IMPORT_SOFT_TIME_LIMIT,
    time_limit=settings.IMPORT_SOFT_TIME_LIMIT + 60,
)
def run_import(self: Task, import_id: str) -> None:
    """Run one import. The status claim makes a second delivery a no-op; a failure retries (at
    most 3 attempts in all), then the import is FAILED with the reason."""
    try:
        services.import_run(job_id=import_id)
    except Exception as exc:
        raise self.retry(exc=exc) from exc
