"""A webhook channel: one keep-alive HTTP/1.1 connection (its own small client: see ``Channel``)
to the address the SSRF check just approved, with the original name as Host and TLS name: the
name is resolved once per channel and never again (no second lookup for a rebinding DNS server
to answer differently), so the feeder opens one channel per batch and DNS changes are seen at
the next batch. Each request: POST ``{type, timestamp, data}`` signed per Standard Webhooks
with the endpoint's secret (and the previous one during a rotation); no redirect followed (a
3xx is a failure: its target was never checked); the whole exchange within
``WEBHOOK_TIMEOUT_SECONDS``; the answer read up to 64 KB and its first 1 KB kept."""

from __future__ import annotations

import contextlib
import functools
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import structlog
from django.conf import settings
from standardwebhooks import Webhook

from integrations.models import WebhookEndpoint
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
    if ":" in target.host:
        host = f"[{target.host}]"
    else:
        try:  # an internationalised name goes in Host as its ASCII (punycode) form
            host = target.host.encode("idna").decode("ascii")
        except UnicodeError:
            host = target.host  # refused as non-ASCII by sender.open_channel
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


def _timed_out(timeout: float) -> str:
    return f"Timed out after {timeout:g} s."


class _Unusable(Exception):
    """The answer is not HTTP/1.x as we read it (the message says why)."""


class _Closed(Exception):
    """The receiver closed the connection before the answer's end."""


HEAD_LIMIT = 64 * 1024  # the answer's status line and headers, at most
NO_BODY = frozenset({204, 304})


class Channel:
    """A keep-alive HTTP/1.1 connection to one endpoint's checked address, for a batch of
    requests in order (one at a time: never pipelined, so the next is sent only after this
    one's answer). Opened lazily, re-opened when the receiver closes it; ``close`` when done.

    The client is this class, over a plain (or TLS) socket: one ``sendall`` per request and a
    small HTTP/1.1 answer reader (status line, headers, a Content-Length, chunked or
    read-to-close body). ``http.client`` cost ~100 us of CPU per request and ``h11`` ~85 us,
    against ~20 us here (bench: the sender's CPU was most of a delivery's)."""

    def __init__(self, endpoint: WebhookEndpoint, target: ssrf.Target) -> None:
        self.endpoint = endpoint
        self.pin = pin(target)
        self.timeout = float(settings.WEBHOOK_TIMEOUT_SECONDS)
        self._sock: socket.socket | None = None
        self._buf = bytearray()
        self._signers: dict[str, Webhook] = {}
        self._head = (
            f"POST {self.pin.path} HTTP/1.1\r\nhost: {self.pin.host_header}\r\n"
            f"content-type: application/json\r\nuser-agent: {USER_AGENT}\r\n"
            "accept-encoding: identity\r\n"  # the kept bytes are then the answer's text, not gzip
        ).encode()

    def __enter__(self) -> Channel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
        self._sock = None
        self._buf.clear()

    def _signatures(self, webhook_id: str, body: bytes, now: datetime) -> str:
        signatures = []
        for secret in active_secrets(self.endpoint, now):
            signer = self._signers.get(secret)
            if signer is None:  # the secret decoded once per channel, not per request
                signer = self._signers[secret] = Webhook(secret)
            signatures.append(signer.sign(webhook_id, now, body))
        return " ".join(signatures)  # the spec's list: any one matching verifies

    def _remaining(self, deadline: float) -> float:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        return remaining

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.create_connection((str(self.pin.address), self.pin.port), self._remaining(deadline))
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.pin.tls_name is not None:
                sock = tls_context().wrap_socket(sock, server_hostname=self.pin.tls_name)
        except BaseException:
            sock.close()
            raise
        return sock

    def _fill(self, deadline: float) -> None:
        assert self._sock is not None
        self._sock.settimeout(self._remaining(deadline))
        data = self._sock.recv(READ_LIMIT)
        if not data:
            raise _Closed
        self._buf += data

    def _line(self, deadline: float) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if len(self._buf) > HEAD_LIMIT:
                raise _Unusable("an answer line longer than 64 KB")
            self._fill(deadline)
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def _answer_head(self, deadline: float) -> tuple[bytes, int, dict[bytes, bytes]]:
        """(version, status, headers: lower-case names, the last value of each, Transfer-Encoding's
        values joined), skipping interim 1xx answers."""
        while True:
            while (end := self._buf.find(b"\r\n\r\n")) < 0:
                if len(self._buf) > HEAD_LIMIT:
                    raise _Unusable("answer headers longer than 64 KB")
                self._fill(deadline)
            lines = bytes(self._buf[:end]).split(b"\r\n")
            del self._buf[: end + 4]
            version, _, rest = lines[0].partition(b" ")
            code = rest[:3]
            if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
                raise _Unusable("not an HTTP/1.x answer")
            status = int(code)
            headers: dict[bytes, bytes] = {}
            for line in lines[1:]:
                name, colon, value = line.partition(b":")
                if not colon:
                    raise _Unusable("a malformed answer header")
                name = name.strip().lower()
                value = value.strip()
                if name == b"transfer-encoding" and name in headers:
                    value = headers[name] + b"," + value
                elif name == b"content-length" and headers.get(name, value) != value:
                    raise _Unusable("two different Content-Length headers")
                headers[name] = value
            if 100 <= status < 200 and status != 101:
                continue  # an interim answer (100 Continue...): the final one follows
            return version, status, headers

    def _take(self, received: bytearray, n: int, deadline: float) -> None:
        """Move ``n`` body bytes from the connection to ``received`` (what fits under the limit)."""
        while n:
            if not self._buf:
                self._fill(deadline)
            chunk = self._buf[:n]
            del self._buf[: len(chunk)]
            n -= len(chunk)
            received += chunk[: READ_LIMIT - len(received)]

    def _answer_body(self, status: int, headers: dict[bytes, bytes], deadline: float) -> tuple[bytes, bool]:
        """(the body's first 64 KB, whether it was read to its end)."""
        received = bytearray()
        if status in NO_BODY:
            return b"", True
        codings = headers.get(b"transfer-encoding")
        if codings is not None and codings.rsplit(b",", 1)[-1].strip().lower() == b"chunked":
            while len(received) < READ_LIMIT:
                size_line = self._line(deadline).split(b";", 1)[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    raise _Unusable("a malformed chunk size") from None
                if size == 0:
                    while self._line(deadline):  # trailers, up to the empty line
                        pass
                    return bytes(received), True
                if len(received) + size > READ_LIMIT:
                    self._take(received, READ_LIMIT - len(received), deadline)
                    break
                self._take(received, size, deadline)
                if self._line(deadline):
                    raise _Unusable("a chunk longer than its size")
            return bytes(received), False
        length = headers.get(b"content-length")
        if codings is None and length is not None:
            if not length.isdigit():
                raise _Unusable("a malformed Content-Length")
            size = int(length)
            self._take(received, min(size, READ_LIMIT), deadline)
            return bytes(received), size <= READ_LIMIT
        try:  # no length: the body ends when the receiver closes
            while len(received) < READ_LIMIT:
                self._take(received, max(len(self._buf), 1), deadline)
        except _Closed:
            pass
        return bytes(received[:READ_LIMIT]), False  # the connection is done either way

    def _exchange(self, request: bytes, deadline: float) -> tuple[int, bytes]:
        """Send ``request`` and read its answer: (status, the body's first 64 KB). A connection
        kept alive since the last answer and found closed before this one began (the receiver's
        idle timeout) is replaced once; the same webhook-id is sent again (at least once)."""
        for again in (False, True):
            reused = self._sock is not None
            if self._sock is None:
                self._sock = self._connect(deadline)
            try:
                self._sock.settimeout(self._remaining(deadline))
                self._sock.sendall(request)
                version, status, headers = self._answer_head(deadline)
                break
            except (_Closed, BrokenPipeError, ConnectionResetError):
                began = bool(self._buf)
                self.close()
                if reused and not again and not began:
                    logger.info("webhook_connection_replaced", endpoint_id=str(self.endpoint.pk))
                    continue
                raise
        body, complete = self._answer_body(status, headers, deadline)
        connection_header = headers.get(b"connection", b"").lower()
        if not complete or b"close" in connection_header or version == b"HTTP/1.0":
            self.close()  # not reusable (HTTP/1.0 keep-alive is not worth the guessing)
        return status, body

    def post(self, webhook_id: str, body: bytes) -> Answer:
        """One signed POST; raises nothing."""
        started = time.monotonic()
        deadline = started + self.timeout
        now = datetime.now(UTC)
        request = b"".join(
            (
                self._head,
                f"webhook-id: {webhook_id}\r\nwebhook-timestamp: {int(now.timestamp())}\r\n"
                f"webhook-signature: {self._signatures(webhook_id, body, now)}\r\n"
                f"content-length: {len(body)}\r\n\r\n".encode(),
                body,
            )
        )

        def answer(status: int | None, received: bytes, error: str) -> Answer:
            return Answer(status, received, error[:300], round((time.monotonic() - started) * 1000))

        try:
            status, received = self._exchange(request, deadline)
        except TimeoutError:
            self.close()
            return answer(None, b"", _timed_out(self.timeout))
        except _Closed:
            self.close()
            return answer(None, b"", "The receiver closed the connection before answering in full.")
        except _Unusable as exc:
            self.close()
            return answer(None, b"", f"Not an HTTP answer we can read: {exc}.")
        except (OSError, ValueError) as exc:  # refused, reset, TLS (ssl.SSLError is an OSError)...
            self.close()
            return answer(None, b"", f"{type(exc).__name__}: {exc}")
        error = REDIRECT_ERROR if 300 <= status < 400 else ""
        return answer(status, received, error)
