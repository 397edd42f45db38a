from __future__ import annotations

from celery import shared_task

from accounts import services


@shared_task(acks_late=True, max_retries=3, default_retry_delay=30, ignore_result=True)
def send_password_reset(email: str) -> None:
    """Idempotent enough: a retry may send a second link; each is single use and expires."""
    services.password_reset_request(email=email)


@shared_task(ignore_result=True)
def prune_expired_tokens() -> None:
    services.tokens_prune()
