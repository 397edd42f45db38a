"""The one sender of webhooks (SPEC "Webhooks", docs/webhooks.md): the `test` event, a
redelivery and the change-log feeder (``feeder``) all send through ``send``.

One attempt: check the endpoint's URL again (DNS can change since it was saved) and connect to
the address just checked, with the original name as Host and TLS name (no second lookup for a
rebinding DNS server to answer differently); POST ``{type, timestamp, data}`` signed per
Standard Webhooks with the endpoint's secret (and the previous one during a rotation); no
redirect followed (a 3xx is a failure: its target was never checked); the answer read up to
64 KB and its first 1 KB kept; the outcome written on the delivery row."""

from __future__ import annotations

import functools
import json
import ssl
import time
from datetime import UTC, datetime

import httpx
import structlog
from django.conf import settings
from standardwebhooks import Webhook

from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from integrations.webhooks import ssrf

logger = structlog.get_logger(__name__)

USER_AGENT = "Stint-Webhooks/1"
READ_LIMIT = 64 * 1024  # read this much of an answer at most, then hang up
KEEP_LIMIT = 1024  # and keep this much of it on the delivery row


@functools.cache
def tls_context() -> ssl.SSLContext:
    """httpx's default verifying context (certifi's CAs), built once per process: building it
    loads the CA bundle, ~18 ms of CPU, which per attempt was most of a delivery's cost
    (bench/webhooks_bench.py, docs/benchmarks.md). An SSLContext is safe to share."""
    return httpx.create_ssl_context()


def body_bytes(payload: dict) -> bytes:
    """The exact bytes sent and signed (compact JSON; the same for every attempt)."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def active_secrets(endpoint: WebhookEndpoint, now: datetime) -> list[str]:
    """The secrets that sign now: the current one, and the previous one while its 24 h last."""
    secrets = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        secrets.append(endpoint.previous_secret)
    return secrets


def signed_headers(*, endpoint: WebhookEndpoint, webhook_id: str, body: bytes, now: datetime) -> dict[str, str]:
    signatures = [Webhook(secret).sign(webhook_id, now, body) for secret in active_secrets(endpoint, now)]
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": " ".join(signatures),  # the spec's list: any one matching verifies
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "accept-encoding": "identity",  # the kept bytes are then the answer's text, not gzip
    }


def _pinned_request(target: ssrf.Target) -> tuple[str, dict[str, str], dict]:
    """The URL to the checked address, its Host header and the TLS name (``sni_hostname``:
    httpcore also verifies the certificate against it)."""
    address = target.addresses[0]
    literal = f"[{address}]" if address.version == 6 else str(address)
    path = target.url.path or "/"
    if target.url.query:
        path += f"?{target.url.query}"
    url = f"{target.url.scheme.lower()}://{literal}:{target.port}{path}"
    default = ssrf.DEFAULT_PORTS[target.url.scheme.lower()]
    host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = host if target.port == default else f"{host}:{target.port}"
    extensions = {"sni_hostname": target.host} if target.url.scheme.lower() == "https" else {}
    return url, {"host": host_header}, extensions


def _attempt(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, bytes, str]:
    """(status, first bytes of the answer, error). Raises nothing."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    try:
        target = ssrf.check(endpoint.url)
    except ssrf.UnsafeURL as exc:
        return None, b"", f"Not sent: {exc}"[:300]
    body = body_bytes(delivery.payload)
    now = datetime.now(UTC)
    url, host, extensions = _pinned_request(target)
    headers = {**signed_headers(endpoint=endpoint, webhook_id=delivery.webhook_id, body=body, now=now), **host}
    try:
        # trust_env=False: no HTTP(S)_PROXY from the environment may take the request elsewhere.
        with (
            httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, verify=tls_context()) as client,
            client.stream("POST", url, content=body, headers=headers, extensions=extensions) as response,
        ):
            received = bytearray()
            for chunk in response.iter_raw():
                received += chunk
                if len(received) >= READ_LIMIT or time.monotonic() > deadline:
                    break
            if time.monotonic() > deadline:
                return response.status_code, bytes(received), f"Timed out after {timeout:g} s."
            return response.status_code, bytes(received), ""
    except httpx.TimeoutException:
        return None, b"", f"Timed out after {timeout:g} s."
    except httpx.HTTPError as exc:
        return None, b"", f"{type(exc).__name__}: {exc}"[:300]


def send(delivery: WebhookDelivery) -> WebhookDelivery:
    """One attempt at ``delivery``, recorded on it: attempts + 1, the answer's status, time and
    first 1 KB, SUCCEEDED for a 2xx and FAILED otherwise (no answer, 3xx, 4xx, 5xx, a refused
    address). The retry schedule is the caller's (the feeder)."""
    endpoint = delivery.endpoint
    started = time.monotonic()
    status, received, error = _attempt(endpoint=endpoint, delivery=delivery)
    elapsed_ms = round((time.monotonic() - started) * 1000)
    succeeded = status is not None and 200 <= status < 300 and not error
    if status is not None and 300 <= status < 400 and not error:
        error = "Redirects are not followed: answer 2xx at the URL itself."
    delivery.attempts += 1
    delivery.status = DeliveryStatus.SUCCEEDED if succeeded else DeliveryStatus.FAILED
    delivery.response_status = status
    delivery.response_ms = elapsed_ms
    delivery.response_body = received[:KEEP_LIMIT].decode("utf-8", errors="replace")
    delivery.error = error
    delivery.next_attempt_at = None
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
        response_status=status,
        response_ms=elapsed_ms,
        error=error or None,
    )
    return delivery
