"""The lifecycle every background-built object shares (an export, a screenshot): a status a
user can see, a claim that makes a task safe to deliver twice, and bounded attempts
(ARCHITECTURE 10: "claim work with a conditional UPDATE ... retries bounded, then a FAILED
state a user can see")."""

from __future__ import annotations

from django.db import models
from django.db.models import F, QuerySet
from django.utils import timezone


class JobStatus(models.TextChoices):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


def claim(queryset: QuerySet, pk, *, max_attempts: int):
    """Take the object for one attempt: PENDING, or PROCESSING by a worker that died (its task
    is delivered again), with attempts left -> PROCESSING, attempts + 1. None when it is READY,
    FAILED, out of attempts, or not in ``queryset``: another delivery got there first."""
    claimed = queryset.filter(
        pk=pk, status__in=[JobStatus.PENDING, JobStatus.PROCESSING], attempts__lt=max_attempts
    ).update(status=JobStatus.PROCESSING, attempts=F("attempts") + 1, updated_at=timezone.now())
    return queryset.model.objects.filter(pk=pk).first() if claimed else None


def hold(claimed) -> bool:
    """In an open transaction, lock the claimed row while it is still this attempt's claim
    (PROCESSING, the attempt count the claim gave it); False when a later delivery claimed it
    meanwhile. A redelivered task (its message came back while this one still ran: a slow
    attempt outlasting the broker's visibility timeout) then waits at its own claim until this
    attempt commits, and finds the job done: two attempts never write one job's files or
    status at once, so the slower one cannot turn READY back into PENDING."""
    return (
        type(claimed)
        .objects.select_for_update()
        .filter(pk=claimed.pk, status=JobStatus.PROCESSING, attempts=claimed.attempts)
        .exists()
    )


def record_failure(obj, exc: Exception, *, max_attempts: int, final: bool = False) -> tuple[bool, str]:
    """Back to PENDING for the retry, or FAILED with the reason once the attempts are spent (or
    when retrying cannot help); returns (final, reason)."""
    reason = f"{type(exc).__name__}: {exc}"[:1000]
    final = final or obj.attempts >= max_attempts
    type(obj).objects.filter(pk=obj.pk).update(
        status=JobStatus.FAILED if final else JobStatus.PENDING, error=reason, updated_at=timezone.now()
    )
    return final, reason
