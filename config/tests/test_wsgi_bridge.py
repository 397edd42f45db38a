"""config/wsgi_bridge.py: what daphne receives from the WSGI bridge, for whole and streaming
responses, and what the app reads of a request body sent in several chunks."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.http import HttpResponse, StreamingHttpResponse

from config.wsgi_bridge import OneHopWSGIMiddleware

SCOPE = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/x",
    "raw_path": b"/x",
    "query_string": b"a=1",
    "root_path": "",
    "headers": [(b"host", b"testserver"), (b"content-type", b"text/plain")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 8000),
}


def serve(app, body_chunks=(b"",), on_send=None, scope=SCOPE, receive=None):
    """Run one request through the bridge on a fresh loop: (messages sent, exception or None).
    ``receive``, when given, replaces the queue of ``body_chunks`` (an async callable)."""
    sent: list[dict] = []

    async def main():
        queue: asyncio.Queue = asyncio.Queue()
        for i, chunk in enumerate(body_chunks):
            queue.put_nowait({"type": "http.request", "body": chunk, "more_body": i < len(body_chunks) - 1})

        async def send(message):
            sent.append(message)
            if on_send is not None:
                on_send(message)

        bridge = OneHopWSGIMiddleware(app, workers=2)
        try:
            await bridge(scope, receive or queue.get, send)
        finally:
            bridge.executor.shutdown(wait=False)

    try:
        asyncio.run(asyncio.wait_for(main(), 10))
    except Exception as exc:  # noqa: BLE001 (returned for the test to check)
        return sent, exc
    return sent, None


def test_a_whole_response_is_sent_as_start_and_one_body_from_a_pool_thread():
    threads = []

    def app(environ, start_response):
        threads.append(threading.current_thread())
        response = HttpResponse(b'{"ok": true}', content_type="application/json")
        response["X-Thing"] = "1"
        start_response("201 Created", list(response.items()))
        return response

    sent, error = serve(app)
    assert error is None
    assert threads[0] is not threading.main_thread()
    assert sent[0]["type"] == "http.response.start"
    assert sent[0]["status"] == 201
    assert (b"x-thing", b"1") in sent[0]["headers"]
    assert (b"content-type", b"application/json") in sent[0]["headers"]
    assert sent[1:] == [{"type": "http.response.body", "body": b'{"ok": true}'}]


def test_the_app_reads_a_body_sent_in_several_chunks_whole():
    read = []

    def app(environ, start_response):
        read.append(environ["wsgi.input"].readline())
        read.append(environ["wsgi.input"].read())
        read.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b""]

    sent, error = serve(app, body_chunks=(b"line one\nand ", b"the rest", b""))
    assert error is None
    assert read == [b"line one\n", b"and the rest", b""]
    assert sent[0]["status"] == 200


def test_a_streaming_response_goes_out_chunk_by_chunk():
    # The second chunk is made only once the first has reached daphne: a bridge that held the
    # stream until its end would wait here forever (and fail on the timeout).
    first_sent = threading.Event()

    def chunks():
        yield b"first,"
        assert first_sent.wait(5), "the first chunk was held back"
        yield b"second"

    def app(environ, start_response):
        response = StreamingHttpResponse(chunks(), content_type="text/csv")
        start_response("200 OK", list(response.items()))
        return response

    def on_send(message):
        if message.get("body") == b"first,":
            first_sent.set()

    sent, error = serve(app, on_send=on_send)
    assert error is None
    assert sent[0]["type"] == "http.response.start"
    assert [m["body"] for m in sent[1:]] == [b"first,", b"second", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, False]


def test_a_stream_that_fails_midway_is_not_finished_as_if_complete():
    def chunks():
        yield b"partial"
        raise RuntimeError("export broke")

    def app(environ, start_response):
        response = StreamingHttpResponse(chunks())
        start_response("200 OK", list(response.items()))
        return response

    sent, error = serve(app)
    assert isinstance(error, RuntimeError)
    assert [m.get("more_body", False) for m in sent if m["type"] == "http.response.body"] == [True]


@pytest.mark.parametrize("streaming", [False, True])
def test_the_response_is_closed_once(streaming):
    closed = []

    def app(environ, start_response):
        response = StreamingHttpResponse([b"a"]) if streaming else HttpResponse(b"a")
        response.close = lambda: closed.append(True)
        start_response("200 OK", list(response.items()))
        return response

    sent, error = serve(app)
    assert error is None
    assert b"".join(m.get("body", b"") for m in sent) == b"a"
    assert closed == [True]


@pytest.mark.parametrize("header", [(b"content-length", b"200000"), (b"transfer-encoding", b"chunked")])
def test_a_large_or_unsized_body_is_read_by_the_app_as_it_arrives_not_held_whole(header):
    # An import file or a screenshot: daphne keeps it in a temporary file and the app reads it
    # chunk by chunk. The second chunk is handed over only once the app has read the first: a
    # bridge that read the whole body before calling the app would wait here forever.
    first_read = threading.Event()
    chunks = [b"a" * 100_000, b"b" * 100_000]
    read = []

    async def receive():
        if not chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        if len(chunks) == 1:
            while not first_read.is_set():
                await asyncio.sleep(0.01)
        return {"type": "http.request", "body": chunks.pop(0), "more_body": True}

    def app(environ, start_response):
        read.append(environ["wsgi.input"].read(100_000))
        first_read.set()
        read.append(environ["wsgi.input"].read())
        start_response("200 OK", [])
        return [b"done"]

    scope = {**SCOPE, "headers": [*SCOPE["headers"], header]}
    sent, error = serve(app, scope=scope, receive=receive)
    assert error is None
    assert read == [b"a" * 100_000, b"b" * 100_000]
    assert b"".join(m.get("body", b"") for m in sent[1:]) == b"done"
