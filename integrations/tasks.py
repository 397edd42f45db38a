"""Celery tasks of webhooks (ARCHITECTURE 10: thin). Routed to their own queue
(``CELERY_WEBHOOK_QUEUE``, read by its own worker) so a slow receiver never holds back the
default queue's merging, processing and publishing."""

from __future__ import annotations

from celery import shared_task

from integrations.models import DeliveryStatus, WebhookDelivery
from integrations.webhooks import sender


@shared_task(ignore_result=True)
def webhook_deliver(delivery_id: str) -> str | None:
    """One attempt at a PENDING delivery (a redelivery; the feeder's retries next). A delivery
    no longer pending (a duplicate task after a worker restart) or gone is left alone."""
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    return sender.send(delivery).status
