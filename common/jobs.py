"""The lifecycle every background-built object shares (an export, a screenshot): a status a
user can see, a claim that makes a task safe to deliver twice, and bounded attempts
(ARCHITECTURE 10: "claim work with a conditional UPDATE ... retries bounded, then a FAILED
state a user can see")."""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import F, QuerySet
from django.utils import timezone


class JobStatus(models.TextChoices):
    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    READY = "READY"
    FAILED = "FAILED"


def claim(queryset: QuerySet, pk, *, max_attempts: int, running: str = JobStatus.PROCESSING, **also):
    """Take the object for one attempt: PENDING, or ``running`` (PROCESSING; an import's is
    RUNNING) by a worker that died (its task is delivered again), with attempts left ->
    ``running``, attempts + 1, and the fields in ``also`` set. None when it is finished, out of
    attempts, or not in ``queryset``: another delivery got there first."""
    claimed = queryset.filter(pk=pk, status__in=[JobStatus.PENDING, running], attempts__lt=max_attempts).update(
        status=running, attempts=F("attempts") + 1, updated_at=timezone.now(), **also
    )
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


def requeue_lost(queryset: QuerySet, task, *, older_than: timedelta, limit: int = 500) -> int:
    """Send ``task`` again for jobs whose message the broker lost: PENDING for longer than
    ``older_than`` while the task's queue is empty. Redis loses a message when the worker
    that popped it dies before recording it as unacknowledged (a window of a few instructions:
    the message is then neither in the queue nor restored after the visibility timeout), and
    nothing else would ever send it again. A PENDING job that is only waiting its turn has its
    message in the queue, so nothing is sent while the queue holds anything; a message that a
    live worker reserved and has not started yet is sent twice, which the claim makes harmless.
    Each job is sent again at most once per ``older_than`` (its ``updated_at`` is touched).
    Returns how many were sent."""
    from common.broker import queue_lengths, queue_of

    queue = queue_of(task.name)
    if queue_lengths([queue])[queue]:
        return 0
    now = timezone.now()
    lost = list(
        queryset.filter(status=JobStatus.PENDING, updated_at__lt=now - older_than)
        .order_by("updated_at")
        .values_list("pk", flat=True)[:limit]
    )
    if lost:
        queryset.filter(pk__in=lost, status=JobStatus.PENDING).update(updated_at=now)
        for pk in lost:
            task.delay(str(pk))
    return len(lost)
