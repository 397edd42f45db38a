"""Errors reach Sentry tagged and scrubbed: a real sentry-sdk client sends its envelope over
HTTP to a small server on loopback standing in for Sentry, and we read what arrived."""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import sentry_sdk
from django.core.wsgi import get_wsgi_application
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from common.sentry import init_sentry, scrub

pytestmark = pytest.mark.django_db


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        encoding = self.headers.get("Content-Encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli

            body = brotli.decompress(body)
        type(self).received.append(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_sentry():
    _Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    init_sentry(
        dsn=f"http://publickey@127.0.0.1:{server.server_address[1]}/42",
        environment="test",
        release=None,
        traces_sample_rate=0.0,
    )
    yield _Collector.received
    sentry_sdk.init()  # no DSN: an inert client, as in every other test
    server.shutdown()


def events(received: list[bytes], timeout: float = 10) -> list[tuple[dict, bytes]]:
    """(event, raw envelope) for every error event that arrived."""
    sentry_sdk.flush(timeout=timeout)
    deadline = time.monotonic() + timeout
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    found = []
    for envelope in received:
        lines = envelope.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append((json.loads(payload), envelope))
    return found


def wsgi_post(path: str, query: str, payload: dict, headers: dict) -> str:
    """POST through Django's WSGI handler, the one config/asgi.py serves HTTP with, so the
    request reaches Sentry exactly as in production (url, headers, query, body)."""
    body = json.dumps(payload).encode()
    environ: dict = {}
    setup_testing_defaults(environ)
    environ.update(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": "application/json",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            **headers,
        }
    )
    statuses = []
    start_response: Any = lambda status, headers, exc_info=None: statuses.append(status)  # noqa: E731
    b"".join(get_wsgi_application()(environ, start_response))
    return statuses[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.urls("common.tests.urls_crash")
def test_a_crash_arrives_tagged_with_request_and_user_id_and_without_credentials(fake_sentry):
    user = UserFactory()
    login = APIClient().post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}).json()
    status = wsgi_post(
        "/api/v1/crash-with-body",
        "ticket=ticket-in-query-456&page=2",
        {"email": user.email, "password": PASSWORD, "new_password": "N3w-Secret-Pass!", "refresh": login["refresh"]},
        {
            "HTTP_AUTHORIZATION": f"Bearer {login['access']}",
            "HTTP_COOKIE": "sessionid=cookie-session-value-123; csrftoken=csrf-cookie-789",
            "HTTP_X_REQUEST_ID": "req-sentry-1",
        },
    )
    assert status.startswith("500")

    [(event, raw)] = events(fake_sentry)
    assert event["exception"]["values"][-1]["value"] == "boom with a body"
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["tags"]["user_id"] == str(user.id)
    request = event["request"]
    assert request["url"].endswith("/api/v1/crash-with-body")
    assert request["data"]["email"] == user.email  # the body is there, minus its secrets
    assert request["data"]["password"] == request["data"]["refresh"] == "[Filtered]"
    assert request["headers"]["Authorization"] == "[Filtered]"
    assert request["headers"]["X-Request-Id"] == "req-sentry-1"
    assert "page=2" in request["query_string"]
    assert "cookies" not in request
    text = raw.decode()
    for secret in (
        login["access"],
        login["refresh"],
        PASSWORD,
        "N3w-Secret-Pass!",
        "cookie-session-value-123",
        "csrf-cookie-789",
        "ticket-in-query-456",
    ):
        assert secret not in text, secret


def test_tokens_in_free_text_are_scrubbed_too():
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoxfQ.c2lnbmF0dXJl"
    scrubbed = scrub({"message": f"could not decode {jwt}", "headers": [["Authorization", "Bearer abc"]]})
    assert jwt not in json.dumps(scrubbed)
    assert scrubbed["headers"] == [["Authorization", "[Filtered]"]]
    assert scrub({"detail": "sent Bearer abc.def to upstream"}) == {"detail": "sent Bearer [Filtered] to upstream"}
