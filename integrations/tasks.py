"""Celery tasks of webhooks (ARCHITECTURE 10: thin). Routed to their own queue
(``CELERY_WEBHOOK_QUEUE``, read by its own worker) so a slow receiver never holds back the
default queue's merging, processing and publishing. Every task is idempotent: a duplicate
(a worker killed after its work, before its ack) finds nothing left to do."""

from __future__ import annotations

from uuid import UUID

from celery import shared_task
from django.conf import settings

from common.redis import get_client, key
from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import feeder, sender, upkeep

QUEUED_SECONDS = 60  # a queued mark outlives a lost message this long at most (the beat ignores it)


def _queued_key(endpoint_id: UUID | str) -> str:
    return key("webhooks", "queued", str(endpoint_id))


def queue_feed(endpoint_id: UUID | str, *, always: bool = False) -> None:
    """Queue a feeder run for one endpoint (the queue named explicitly: tests move it), unless
    one is queued already and has not started: that run will see whatever this kick was for
    (a run clears the mark before it reads anything). Under load every published batch kicks
    every endpoint: one waiting run each, not a queue of runs that find the lock taken.
    ``always``: the beat's, which must not trust a mark whose message may have been lost."""
    endpoint_id = str(endpoint_id)
    marked = get_client().set(_queued_key(endpoint_id), 1, nx=not always, ex=QUEUED_SECONDS)
    if marked:
        webhook_feed.apply_async(args=[endpoint_id], queue=settings.CELERY_WEBHOOK_QUEUE)


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: str) -> str | None:
    """One attempt at a PENDING delivery (a redelivery). A change-log event still ahead of its
    endpoint's cursor is the feeder's (sent in order, one at a time): it is fed instead. A
    delivery no longer pending (a duplicate task after a worker restart) or gone is left alone."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    cursor = delivery.endpoint.cursor
    if delivery.cursor is not None and cursor is not None and delivery.cursor > cursor:
        webhook_feed(str(delivery.endpoint_id))
        return None
    return sender.send(delivery).status


@shared_task(ignore_result=True)
def webhook_feed(endpoint_id: str) -> None:
    """Deliver what is due to one endpoint, in order; a run out of budget queues the next, so
    a busy endpoint takes turns with the others on the webhooks worker."""
    get_client().delete(_queued_key(endpoint_id))  # from now on a kick queues another run
    if feeder.feed(UUID(endpoint_id)):
        queue_feed(endpoint_id)


@shared_task(ignore_result=True)
def webhook_dispatch(company_ids: list[str]) -> int:
    """After a commit (changelog's ``changes_published``): feed those companies' active
    endpoints. One message per published batch in the writer; the fan-out happens here."""
    endpoint_ids = feeder.endpoints_to_feed(company_ids=company_ids)
    for endpoint_id in endpoint_ids:
        queue_feed(endpoint_id)
    return len(endpoint_ids)


@shared_task(ignore_result=True)
def webhook_wake() -> int:
    """Beat: feed every endpoint with a due retry or changes it has not seen, so a lost kick
    or a dead worker delays a delivery by one beat period and loses nothing."""
    endpoint_ids = feeder.endpoints_to_feed()
    for endpoint_id in endpoint_ids:
        queue_feed(endpoint_id, always=True)
    return len(endpoint_ids)


@shared_task(ignore_result=True)
def webhook_purge_deliveries() -> int:
    """Beat, daily: the delivery log past ``WEBHOOK_DELIVERY_RETENTION_DAYS``."""
    return upkeep.purge()
