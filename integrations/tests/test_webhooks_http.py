"""The sender's HTTP/1.1 client (integrations/webhooks/channel.py, ``Channel``) against a
scripted receiver on a raw socket: the answer shapes a real server may send (chunked, ending at
close, an interim 100, a kept-alive connection closed while idle, garbage, a huge chunked
body), each read as HTTP says, with the connection reused only when it can be."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from standardwebhooks import Webhook

from integrations.models import WebhookEndpoint
from integrations.webhooks import sender
from integrations.webhooks.channel import KEEP_LIMIT, READ_LIMIT, Channel


@dataclass
class Script:
    """Answers to send, one per request in order: (bytes, close the connection after it)."""

    answers: list[tuple[bytes, bool]]
    port: int = 0
    got: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)  # (client port, headers, body)


def _read_request(conn: socket.socket, buf: bytearray) -> tuple[dict[str, str], bytes] | None:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.decode().partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        rest += conn.recv(65536)
    buf[:] = rest[length:]
    return headers, rest[:length]


@contextlib.contextmanager
def scripted(*answers: tuple[bytes, bool]) -> Iterator[Script]:
    script = Script(list(answers))
    server = socket.create_server(("127.0.0.1", 0))
    script.port = server.getsockname()[1]

    def serve(conn: socket.socket, peer: int) -> None:
        buf = bytearray()
        with conn, contextlib.suppress(OSError):  # the client may hang up first
            while script.answers:
                request = _read_request(conn, buf)
                if request is None:
                    return
                script.got.append((peer, *request))
                answer, close = script.answers.pop(0)
                conn.sendall(answer)
                if close:
                    return

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, (_, peer) = server.accept()
                threading.Thread(target=serve, args=(conn, peer), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield script
    finally:
        server.close()


@pytest.fixture
def channel_to(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    endpoint = WebhookEndpoint(url="", secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")

    def make(script: Script) -> Channel:
        endpoint.url = f"http://127.0.0.1:{script.port}/hook?x=1"
        channel = sender.open_channel(endpoint)
        assert isinstance(channel, Channel), channel
        return channel

    return make


OK = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", False)


def test_a_chunked_answer_is_read_and_the_connection_reused(channel_to):
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX: 1\r\n\r\n"
    )
    with scripted((chunked, False), OK) as script, channel_to(script) as channel:
        first = channel.post("msg_1", b'{"a":1}')
        second = channel.post("msg_2", b'{"a":2}')

    assert (first.status, first.received, first.error) == (200, b"hello world", "")
    assert (second.status, second.received) == (200, b"ok")
    assert len({peer for peer, _, _ in script.got}) == 1
    headers, body = script.got[0][1], script.got[0][2]
    assert body == b'{"a":1}'
    assert headers["host"] == f"127.0.0.1:{script.port}"
    Webhook(channel.endpoint.secret).verify(body, headers)


def test_an_answer_ending_at_close_is_read_and_the_next_request_gets_a_new_connection(channel_to):
    with scripted((b"HTTP/1.1 500 Oops\r\n\r\nbroken", True), OK) as script, channel_to(script) as channel:
        first = channel.post("msg_1", b"{}")
        second = channel.post("msg_2", b"{}")

    assert (first.status, first.received, first.succeeded) == (500, b"broken", False)
    assert second.succeeded
    assert len({peer for peer, _, _ in script.got}) == 2


def test_an_interim_100_is_skipped_for_the_final_answer(channel_to):
    answer = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 4\r\n\r\nmade"
    with scripted((answer, False)) as script, channel_to(script) as channel:
        got = channel.post("msg_1", b"{}")
    assert (got.status, got.received, got.succeeded) == (201, b"made", True)


def test_a_kept_alive_connection_closed_while_idle_is_replaced_once(channel_to):
    # The first answer keeps the connection alive (no "close"), then the receiver closes it
    # (its idle timeout): the next request finds it closed and goes again on a new connection.
    with scripted((OK[0], True), OK) as script, channel_to(script) as channel:
        assert channel.post("msg_1", b"{}").succeeded
        assert channel._sock is not None  # kept
        time.sleep(0.2)  # the receiver's close arrives
        got = channel.post("msg_2", b"{}")

    assert got.succeeded, got.error
    assert [(h["webhook-id"]) for _, h, _ in script.got] == ["msg_1", "msg_2"]
    assert len({peer for peer, _, _ in script.got}) == 2


def test_a_reply_that_is_not_http_is_a_failure(channel_to):
    with scripted((b"SSH-2.0-OpenSSH_9.6\r\n\r\n", True)) as script, channel_to(script) as channel:
        got = channel.post("msg_1", b"{}")
    assert (got.status, got.succeeded) == (None, False)
    assert got.error.startswith("Not an HTTP answer we can read")


def test_a_huge_chunked_answer_is_read_up_to_64_kb_and_the_connection_dropped(channel_to):
    chunk = b"x" * 50_000
    huge = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + (b"c350\r\n" + chunk + b"\r\n") * 4 + b"0\r\n\r\n"
    with scripted((huge, False), OK) as script, channel_to(script) as channel:
        started = time.monotonic()
        first = channel.post("msg_1", b"{}")
        second = channel.post("msg_2", b"{}")

    assert first.succeeded
    assert len(first.received) == READ_LIMIT
    assert len(first.kept) == KEEP_LIMIT
    assert second.succeeded
    assert len({peer for peer, _, _ in script.got}) == 2  # not reused: the rest was never read
    assert time.monotonic() - started < 5


def test_a_url_with_spaces_or_non_ascii_is_not_sent(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    endpoint = WebhookEndpoint(url="http://127.0.0.1:9/a b", secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert "percent-encode" in sender.open_channel(endpoint)
    endpoint.url = "http://127.0.0.1:9/é"
    assert "percent-encode" in sender.open_channel(endpoint)
