"""The one sender of webhooks (SPEC "Webhooks", docs/webhooks.md): the `test` event, a
redelivery and the change-log feeder (``feeder``) all send through a ``channel.Channel``, opened
here (``open_channel``) on the address the SSRF check approves as the URL resolves now. ``send``
is one attempt on its own channel, recorded on its row."""

from __future__ import annotations

import json
import re

import structlog

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import ssrf
from integrations.webhooks.channel import Answer, Channel, pin

logger = structlog.get_logger(__name__)


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (compact JSON; the same for every attempt)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


_NOT_SENT_AS_IS = re.compile(rb"[^\x21-\x7e]")  # spaces, controls, non-ASCII: never in a request line


def open_channel(endpoint: WebhookEndpoint) -> Channel | str:
    """A channel to the endpoint's URL as it resolves now, or why it may not be sent to."""
    try:
        target = ssrf.check(endpoint.url)
    except ssrf.UnsafeURL as exc:
        return f"Not sent: {exc}"[:300]
    where = pin(target)
    if _NOT_SENT_AS_IS.search(f"{where.path}{where.host_header}".encode()):
        return "Not sent: the URL has spaces, control or non-ASCII characters: percent-encode them."
    return Channel(endpoint, target)


def not_sent(error: str) -> Answer:
    return Answer(None, b"", error, 0)


def record(delivery: WebhookDelivery, got: Answer) -> None:
    """An attempt's outcome on its row, in memory: attempts + 1, the answer's status, time and
    first 1 KB, SUCCEEDED for a 2xx and FAILED otherwise (no answer, 3xx, 4xx, 5xx, a refused
    address). The retry schedule is the caller's."""
    delivery.attempts += 1
    delivery.status = DeliveryStatus.SUCCEEDED if got.succeeded else DeliveryStatus.FAILED
    delivery.response_status = got.status
    delivery.response_ms = got.ms
    delivery.response_body = got.kept
    delivery.error = got.error
    delivery.next_attempt_at = None


def send(delivery: WebhookDelivery) -> WebhookDelivery:
    """One attempt at ``delivery`` on its own channel (the `test` event, a redelivery),
    recorded on its row."""
    endpoint = delivery.endpoint
    channel = open_channel(endpoint)
    if isinstance(channel, str):
        got = not_sent(channel)
    else:
        with channel:
            got = channel.post(delivery.webhook_id, body_bytes(delivery.payload))
    record(delivery, got)
    delivery.save(
        update_fields=[
            "attempts", "status", "response_status", "response_ms", "response_body", "error",
            "next_attempt_at", "updated_at",
        ]
    )  # fmt: skip
    logger.info(
        "webhook_sent",
        delivery_id=str(delivery.pk),
        endpoint_id=str(endpoint.pk),
        type=delivery.type,
        status=delivery.status,
        response_status=got.status,
        response_ms=got.ms,
        error=got.error or None,
    )
    return delivery
