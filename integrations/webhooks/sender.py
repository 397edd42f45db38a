"""The one sender of webhooks (SPEC "Webhooks", docs/webhooks.md): the `test` event, a
redelivery and the change-log feeder (``feeder``) all send through a ``Channel``.

A channel is one keep-alive HTTP/1.1 connection (``http.client``: ~4x less CPU per request
than an ``httpx.Client``, bench/webhooks_bench.py) to the address the SSRF check just approved,
with the original name as Host and TLS name: the name is resolved once per channel and never
again (no second lookup for a rebinding DNS server to answer differently), so the feeder opens
one channel per batch and DNS changes are seen at the next batch. Each request: POST
``{type, timestamp, data}`` signed per Standard Webhooks with the endpoint's secret (and the
previous one during a rotation); no redirect followed (a 3xx is a failure: its target was never
checked); the whole exchange within ``WEBHOOK_TIMEOUT_SECONDS``; the answer read up to 64 KB
and its first 1 KB kept. ``send`` is one attempt on its own channel, recorded on its row."""

from __future__ import annotations

import functools
import http.client
import json
import socket
import ssl
import time
from dataclasses import dataclass
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
REDIRECT_ERROR = "Redirects are not followed: answer 2xx at the URL itself."


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


@dataclass(frozen=True)
class Pin:
    """Where a checked URL is sent: the approved address and port, the request path, the Host
    header, and the TLS name (None for http; for https the certificate is verified against it)."""

    address: ssrf.IPAddress
    port: int
    path: str
    host_header: str
    tls_name: str | None


def pin(target: ssrf.Target) -> Pin:
    path = target.url.path or "/"
    if target.url.query:
        path += f"?{target.url.query}"
    scheme = target.url.scheme.lower()
    host = f"[{target.host}]" if ":" in target.host else target.host
    host_header = host if target.port == ssrf.DEFAULT_PORTS[scheme] else f"{host}:{target.port}"
    return Pin(target.addresses[0], target.port, path, host_header, target.host if scheme == "https" else None)


@dataclass(frozen=True)
class Answer:
    """One attempt's outcome: the status (None: no answer), the answer's first bytes, why it
    failed (empty: it did not), and how long it took."""

    status: int | None
    received: bytes
    error: str
    ms: int

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300 and not self.error

    @property
    def kept(self) -> str:
        # PostgreSQL's text refuses NUL: a receiver's binary answer must not fail the record.
        return self.received[:KEEP_LIMIT].decode("utf-8", errors="replace").replace("\x00", "\ufffd")


class _PinnedConnection(http.client.HTTPConnection):
    """``http.client`` connecting to the pinned address, wrapped in TLS for the URL's name."""

    def __init__(self, where: Pin, timeout: float) -> None:
        super().__init__(str(where.address), where.port, timeout=timeout)
        self.pin = where

    def connect(self) -> None:
        sock = socket.create_connection((str(self.pin.address), self.pin.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.pin.tls_name is not None:
            try:
                sock = tls_context().wrap_socket(sock, server_hostname=self.pin.tls_name)
            except BaseException:
                sock.close()
                raise
        self.sock = sock


def _timed_out(timeout: float) -> str:
    return f"Timed out after {timeout:g} s."


class Channel:
    """A keep-alive connection to one endpoint's checked address, for a batch of requests in
    order (one at a time: never pipelined, so the next is sent only after this one's answer).
    Opened lazily, re-opened when the receiver closes it; ``close`` when done."""

    def __init__(self, endpoint: WebhookEndpoint, target: ssrf.Target) -> None:
        self.endpoint = endpoint
        self.pin = pin(target)
        self.timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
        self._conn = _PinnedConnection(self.pin, self.timeout)
        self._signers: dict[str, Webhook] = {}

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._conn.close()

    def _headers(self, webhook_id: str, body: bytes, now: datetime) -> dict[str, str]:
        signatures = []
        for secret in active_secrets(self.endpoint, now):
            signer = self._signers.get(secret)
            if signer is None:  # decoding the secret once per channel, not per request
                signer = self._signers[secret] = Webhook(secret)
            signatures.append(signer.sign(webhook_id, now, body))
        return {
            "host": self.pin.host_header,
            "webhook-id": webhook_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": " ".join(signatures),  # the spec's list: any one matching verifies
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            "accept-encoding": "identity",  # the kept bytes are then the answer's text, not gzip
        }

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        if self._conn.sock is not None:
            self._conn.sock.settimeout(remaining)
        self._conn.timeout = remaining  # for a (re)connect inside request()
        return remaining

    def post(self, webhook_id: str, body: bytes) -> Answer:
        """One signed POST; raises nothing. A kept-alive connection found closed by the receiver
        before it answered is retried once on a new one (the same webhook-id: at least once)."""
        started = time.monotonic()
        deadline = started + self.timeout
        headers = self._headers(webhook_id, body, datetime.now(UTC))

        def answer(status: int | None, received: bytes, error: str) -> Answer:
            return Answer(status, received, error[:300], round((time.monotonic() - started) * 1000))

        for again in (False, True):
            reused = self._conn.sock is not None
            try:
                self._remaining(deadline)
                self._conn.request("POST", self.pin.path, body=body, headers=headers)
                self._remaining(deadline)
                response = self._conn.getresponse()
                break
            except TimeoutError:
                self._conn.close()
                return answer(None, b"", _timed_out(self.timeout))
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                self._conn.close()
                if reused and not again:
                    continue
                return answer(None, b"", f"{type(exc).__name__}: {exc}")
            except (OSError, http.client.HTTPException) as exc:
                self._conn.close()
                return answer(None, b"", f"{type(exc).__name__}: {exc}")
        received = bytearray()
        error = ""
        try:
            while len(received) < READ_LIMIT:
                self._remaining(deadline)
                chunk = response.read1(READ_LIMIT - len(received))
                if not chunk:
                    break
                received += chunk
        except TimeoutError:
            error = _timed_out(self.timeout)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
        if error or len(received) >= READ_LIMIT:  # not read to its end: the connection is not reusable
            self._conn.close()
        else:
            response.close()  # read to its end: the connection stays open for the next request
        status = response.status
        if not error and 300 <= status < 400:
            error = REDIRECT_ERROR
        return answer(status, bytes(received), error)


def open_channel(endpoint: WebhookEndpoint) -> Channel | str:
    """A channel to the endpoint's URL as it resolves now, or why it may not be sent to."""
    try:
        target = ssrf.check(endpoint.url)
    except ssrf.UnsafeURL as exc:
        return f"Not sent: {exc}"[:300]
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
