"""Realtime sockets through channels' WebsocketCommunicator: signed-in devices, opening a socket,
reading its events, waiting for its close."""

from __future__ import annotations

import json
import time

from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from django.conf import settings

from accounts.services import DeviceInfo, session_create
from config.asgi import application


def run(body):
    """Run an async test body on a fresh loop; sync_to_async calls inside it come back to this
    thread (and its database connection)."""
    return async_to_sync(body)()


def device(user):
    """A signed-in device: (access token, session id)."""
    tokens = session_create(user=user, device=DeviceInfo(device_name="test"), stay_logged_in=False)
    return tokens.access, str(tokens.session.id)


def token_for(user) -> str:
    return device(user)[0]


ALLOWED_ORIGIN = "http://127.0.0.1:8000"


def socket_for(*, token=None, ticket=None, cookie=None, origin=None) -> WebsocketCommunicator:
    headers = []
    if origin:
        headers.append((b"origin", origin.encode()))
    if cookie:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    path = "/ws/realtime/" + (f"?ticket={ticket}" if ticket else "")
    return WebsocketCommunicator(
        application, path, headers=headers, subprotocols=["bearer", token] if token is not None else None
    )


def _is_presence(message: dict) -> bool:
    return message["type"] == "websocket.send" and json.loads(message["text"])["type"] == "presence.changed"


async def receive(comm: WebsocketCommunicator, timeout: float = 5) -> dict:
    """The next message, skipping presence events (a user's sockets get their own presence;
    only the presence tests look at them)."""
    while True:
        message = await comm.receive_output(timeout=timeout)
        if not _is_presence(message):
            assert message["type"] == "websocket.send", message
            return json.loads(message["text"])


async def events(comm: WebsocketCommunicator, count: int, timeout: float = 5) -> list[dict]:
    return [await receive(comm, timeout) for _ in range(count)]


async def quiet(comm: WebsocketCommunicator, seconds: float) -> bool:
    """Nothing but presence arrives within ``seconds`` (a bounded wait)."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await comm.receive_nothing(timeout=left):
            return True
        if not _is_presence(await comm.receive_output()):
            return False
    return True


async def presence_of(comm: WebsocketCommunicator, user, seconds: float) -> list[dict]:
    """The presence events about ``user`` arriving within ``seconds``."""
    found = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        if await comm.receive_nothing(timeout=left):
            break
        message = await comm.receive_output()
        if _is_presence(message):
            event = json.loads(message["text"])
            if event["data"]["user_id"] == str(user.id):
                found.append(event)
    return found


async def opened(comm: WebsocketCommunicator, subprotocol=None) -> WebsocketCommunicator:
    connected, chosen = await comm.connect(timeout=5)
    assert connected, chosen
    assert chosen == subprotocol
    # A socket that is accepted and then closed for bad auth must fail here, not later.
    await comm.send_json_to({"type": "ping"})
    assert await receive(comm) == {"type": "pong"}
    return comm


async def closes_with(comm: WebsocketCommunicator, code: int, within: float) -> None:
    started = time.monotonic()
    while True:
        message = await comm.receive_output(timeout=max(0.01, within - (time.monotonic() - started)))
        if message["type"] == "websocket.close":
            assert message.get("code") == code, message
            return
        assert message["type"] == "websocket.send", message  # events before the close are fine
