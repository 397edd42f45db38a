"""a2wsgi's WSGI-in-a-thread bridge (config/asgi.py), with one hop each way per request.

a2wsgi runs the WSGI app on its thread pool and hands every message back to the event loop as
it is made: the response start, each body chunk and the closing empty chunk are each a
``run_coroutine_threadsafe`` round trip (wake the loop, queue the message, a sender task passes
it on, wake the thread again), and the body is read the same way, one round trip per chunk.
For a plain Django response, whose body is already one ``bytes`` in memory, that is three
round trips after the one hop into the pool. Here:

- a small request body (a declared length up to ``PREFETCH_MAX``: every API call) is read on
  the loop before the hop (daphne has queued all of it before the application runs, so this
  waits for nothing). A larger or unsized one (an import file, a screenshot; daphne keeps a body
  over 100 KB in a temporary file) is read as a2wsgi reads it, chunk by chunk from the thread,
  so it is never held in memory whole;
- a response that is not streaming is taken whole in the thread and sent from the loop once
  the thread is done: one hop there, one back;
- a streaming response (Django's ``streaming = True``: ``StreamingHttpResponse``,
  ``FileResponse``; or any iterable that does not say) goes through a2wsgi's own per-chunk path,
  as before, so a large file is never held in memory and a slow stream is not delayed.

Everything else (the environ, the pool, error handling) is a2wsgi's."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
from typing import Any

from a2wsgi import WSGIMiddleware
from a2wsgi.wsgi import Body, WSGIResponder, build_environ
from a2wsgi.wsgi_typing import Environ


class PrefetchedBody(Body):
    """a2wsgi's ``wsgi.input`` over a body already read on the loop: no round trips."""

    def __init__(self, loop: asyncio.AbstractEventLoop, receive: Any, data: bytes) -> None:
        super().__init__(loop, receive)
        self.buffer.extend(data)
        self._has_more = False  # all of it (or, from a client that left mid-body, what came)


class OneHopResponder(WSGIResponder):
    """Holds the messages a2wsgi's ``start_response`` and ``send`` make until the response
    turns out not to be streaming (then the loop sends them all at once) or to be (then they
    go out through a2wsgi's sender, and the rest as it comes)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        data, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # http.disconnect: the client is gone
                break
            data += message.get("body", b"")
            more = message.get("more_body", False)
        environ = build_environ(scope, PrefetchedBody(self.loop, receive, bytes(data)))
        self.pending: list | None = []
        self.streamed: concurrent.futures.Future | None = None
        run = functools.partial(contextvars.copy_context().run, self.run, environ, send)
        messages = await self.loop.run_in_executor(self.executor, run)
        if self.streamed is not None:
            await asyncio.wrap_future(self.streamed)
        for message in messages:
            await send(message)
        if self.exc_info is not None:
            raise self.exc_info[0].with_traceback(self.exc_info[1], self.exc_info[2])

    def send(self, message: Any) -> None:
        if self.pending is None:
            super().send(message)
        else:
            self.pending.append(message)

    def run(self, environ: Environ, send: Any) -> list:
        """In the pool: the whole response's messages, or [] once a streaming one is sent."""
        iterable = self.app(environ, self.start_response)
        try:
            if getattr(iterable, "streaming", True):
                self.streamed = asyncio.run_coroutine_threadsafe(self.sender(send), self.loop)
                held, self.pending = self.pending or [], None
                try:
                    for message in held:
                        self.send(message)
                    for chunk in iterable:
                        self.send({"type": "http.response.body", "body": chunk, "more_body": True})
                    self.send({"type": "http.response.body", "body": b""})
                finally:
                    self.send(None)  # ends the sender, also after an error mid-stream
                return []
            body = b"".join(iterable)
        finally:
            getattr(iterable, "close", lambda: None)()
        assert self.pending is not None
        return [*self.pending, {"type": "http.response.body", "body": body}]


PREFETCH_MAX = 64 * 1024  # bytes: a sync batch of 100 entries is ~30 KB


def _small_body(scope: Any) -> bool:
    """A declared length up to PREFETCH_MAX; no header at all is a bodyless request (GET)."""
    length = None
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            length = value
        elif name == b"transfer-encoding":
            return False  # chunked: any size
    try:
        return length is None or int(length) <= PREFETCH_MAX
    except ValueError:
        return False


class OneHopWSGIMiddleware(WSGIMiddleware):
    """``a2wsgi.WSGIMiddleware`` with ``OneHopResponder`` for HTTP requests with a small body
    (a2wsgi's own responder for the others)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and _small_body(scope):
            return await OneHopResponder(self.app, self.executor, self.send_queue_size)(scope, receive, send)
        return await super().__call__(scope, receive, send)
