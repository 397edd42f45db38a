"""Celery tasks of the change log (ARCHITECTURE 10: thin, idempotent)."""

from __future__ import annotations

import structlog
from celery import shared_task

from changelog import services
from changelog.sequencer import sequence_and_publish
from common.redis import get_client, key

logger = structlog.get_logger(__name__)
QUEUED_TTL = 10  # seconds: a queued run that never starts (a lost task) holds nobody up longer


def _queued_key() -> str:
    return key("changelog", "publish-queued")


def publish_soon() -> None:
    """After a commit: have a worker number and publish, without queueing a task per commit.
    One run is queued at a time: a commit that finds one queued and not yet started leaves its
    changes to it, since that run clears the mark before it reads (so it reads after this
    commit) and a commit after the clearing queues the next run. Without Redis the run is
    queued anyway; without a broker this process publishes (as it did before workers did)."""
    try:
        fresh = bool(get_client().set(_queued_key(), 1, nx=True, ex=QUEUED_TTL))
    except Exception:  # the mark is an optimisation: queue as if there were none
        fresh = True
    if not fresh:
        return
    try:
        sequence_changes.delay()
    except Exception:  # no broker: publish here rather than not at all
        logger.warning("publish_inline_broker_down")
        _clear_queued()  # nothing was queued: the next commit must queue (or publish) itself
        sequence_and_publish()


def _clear_queued() -> None:
    try:
        get_client().delete(_queued_key())
    except Exception:  # the mark expires by itself; beat runs this task every few seconds meanwhile
        logger.warning("publish_queued_mark_not_cleared")


@shared_task(ignore_result=True)
def sequence_changes() -> int:
    """Number and publish committed changes nobody published yet: what a sync batch hands off
    (so a thousand events do not hold up its answer), and, from the beat, what a crash between
    a commit and its on-commit publish left behind. Safe to run twice or concurrently: the
    sequencer's advisory locks let one process number, and one publish, at a time."""
    _clear_queued()  # before reading: a commit from now on queues another run (publish_soon)
    return sequence_and_publish()


@shared_task(ignore_result=True)
def prune_changes() -> int:
    """Changes older than 30 days go; older cursors then get 410."""
    return services.changes_prune()
