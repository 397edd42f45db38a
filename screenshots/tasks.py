"""Celery tasks of screenshots (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

from celery import Task, shared_task

from common.metrics import SCREENSHOT_PROCESSING_SECONDS, timed
from screenshots import services


@shared_task(bind=True, acks_late=True, max_retries=services.MAX_ATTEMPTS - 1, default_retry_delay=5)
def process_screenshot(self: Task, screenshot_id: str) -> None:
    """Process one upload. The status claim makes a second delivery a no-op; a failure retries
    (3 attempts in all), then the screenshot is FAILED with the reason."""
    try:
        with timed(SCREENSHOT_PROCESSING_SECONDS) as outcome:
            if services.screenshot_process(screenshot_id=screenshot_id) is None:
                outcome["outcome"] = "not_ready"  # claimed elsewhere, gone, or failed for good
    except Exception as exc:
        raise self.retry(exc=exc) from exc


@shared_task(ignore_result=True)
def purge_screenshots() -> int:
    """Screenshots past their company's retention go, with their files."""
    return services.screenshots_purge()


@shared_task(ignore_result=True)
def requeue_lost_screenshots() -> int:
    """Uploads whose processing message was lost (a worker killed as it took it) go again."""
    return services.screenshots_requeue_lost()
