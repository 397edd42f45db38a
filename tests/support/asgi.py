"""Drive the HTTP side of ``config.asgi.application`` (what daphne serves) from sync tests.

The app runs on one event loop in a background thread, as in a web process, so the lean
heartbeat intake keeps its connections between requests; the Django fallback runs on
a2wsgi's threads as it does under daphne. ``AsgiClient`` speaks just enough of
``APIClient``'s interface (``post(path, data, format="json")``, ``get(path)``) for the intake's
and the lean pull's tests to run unchanged through both paths."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field

import pytest


def body_bytes(data) -> bytes:
    return json.dumps(data).encode()


class LoopThread:
    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True, name="asgi-loop")
        self.thread.start()

    def run(self, coro, timeout: float = 30):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@dataclass
class AsgiResponse:
    status_code: int
    headers: dict[str, str]
    content: bytes = b""
    extra: dict = field(default_factory=dict)

    def json(self):
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]


class AsgiClient:
    def __init__(self, app, loop: LoopThread, credentials: dict[str, str]):
        self.app, self.loop, self.credentials = app, loop, credentials

    def post(self, path: str, data, format: str = "json", **extra) -> AsgiResponse:  # noqa: A002 (APIClient's name)
        assert format == "json"
        path, _, query = path.partition("?")
        return self.loop.run(self._call(path, query, self.headers_for(data, **extra), body_bytes(data)))

    def get(self, path: str, repeated: tuple[str, str] | None = None, **extra) -> AsgiResponse:
        """``repeated``: one more header of that name and value, as a second line."""
        path, _, query = path.partition("?")
        return self.loop.run(self._call(path, query, self.headers_for(None, **extra), b"", "GET", repeated))

    def headers_for(self, data, **extra) -> dict[str, str]:
        headers = {"host": "testserver"}
        if data is not None:
            headers.update({"content-type": "application/json", "content-length": str(len(body_bytes(data)))})
        for name, value in {**self.credentials, **extra}.items():
            headers[name.removeprefix("HTTP_").replace("_", "-").lower()] = value
        return headers

    async def _call(self, path, query, headers, body, method: str = "POST", repeated=None) -> AsgiResponse:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "root_path": "",
            "headers": [(k.encode(), v.encode()) for k, v in [*headers.items(), *([repeated] if repeated else [])]],
            "client": ("127.0.0.1", 50000),
            "server": ("testserver", 80),
        }
        pending = [{"type": "http.request", "body": body, "more_body": False}]
        done = asyncio.Event()

        async def receive():
            if pending:
                return pending.pop()
            await done.wait()
            return {"type": "http.disconnect"}

        response = AsgiResponse(0, {})

        async def send(message):
            if message["type"] == "http.response.start":
                response.status_code = message["status"]
                response.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
                response.extra["header_names"] = [k.decode().lower() for k, _ in message["headers"]]
            elif message["type"] == "http.response.body":
                response.content += message.get("body", b"")
                if not message.get("more_body"):
                    done.set()

        await self.app(scope, receive, send)
        return response


@pytest.fixture(scope="session")
def asgi_http(django_db_setup, django_db_blocker):
    """``(app, loop)``: the ``http`` app of ``config.asgi`` on a loop of its own. Its lean
    paths keep connection pools to the test database, closed before the database is dropped."""
    from config.asgi import application

    app = application.application_mapping["http"]
    loop = LoopThread()
    yield app, loop
    with django_db_blocker.unblock():
        loop.run(app.aclose())
    loop.stop()
