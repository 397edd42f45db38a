"""A real HTTP receiver for webhook tests: a threading ``http.server`` on 127.0.0.1 that
records every request (headers, raw body) and answers as told."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int]  # the client's address and port: one per connection


@dataclass
class Receiver:
    port: int
    status: int = 200
    body: bytes = b"ok"
    location: str = ""  # for a 3xx
    delay: float = 0.0  # seconds to hang before answering
    statuses: list[int] = field(default_factory=list)  # answers for the next requests, then ``status``
    keep_alive: bool = False  # HTTP/1.1 persistent connections (else one request per connection)
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@contextmanager
def receiver(**behaviour) -> Iterator[Receiver]:
    state = Receiver(port=0, **behaviour)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1" if state.keep_alive else "HTTP/1.0"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.requests.append(Received(self.path, headers, body, self.client_address))
            if state.delay:
                time.sleep(state.delay)
            self.send_response(state.statuses.pop(0) if state.statuses else state.status)
            if state.location:
                self.send_header("location", state.location)
            self.send_header("content-length", str(len(state.body)))
            self.end_headers()
            with contextlib.suppress(OSError):  # the sender hung up (it reads 64 KB at most, or timed out)
                self.wfile.write(state.body)

        def log_message(self, *args) -> None:  # quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
