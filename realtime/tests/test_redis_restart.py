"""A restarted Redis under the process's hub (realtime/fanout.py; docs/realtime.md, "When Redis
restarts"): the hub's sockets are closed with 1011, so their clients reconnect and resume from
their cursor, and sockets opened afterwards subscribe on the server as it is now. First in
process (channels' WebsocketCommunicator, the channel layer on a private redis-server), then
over a real socket to daphne, whose close frames are what a client actually sees."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import tempfile
import time
from pathlib import Path

import httpx
import pytest
from channels.layers import get_channel_layer
from websockets.asyncio.client import connect as ws_connect

from changelog import audience
from conftest import daphne_servers, free_port
from realtime.close_codes import CLOSE_SERVER_ERROR, CLOSE_UNAUTHENTICATED
from realtime.consumers import RealtimeConsumer
from realtime.fanout import Hub
from tests.support.servers import redis_server
from tests.support.sockets import closes_with, opened, run, socket_for, token_for

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]


class PrivateRedis:
    """A redis-server of the test's own, on a short unix socket path (they are capped)."""

    def __init__(self, data_dir: Path, *, appendonly: bool) -> None:
        self.data_dir = data_dir
        self.appendonly = appendonly
        self.sock = Path(tempfile.mkdtemp(prefix="stint-hub-")) / "r.sock"
        self.proc = redis_server(self.sock, data_dir, appendonly=appendonly)

    def restart(self, *, down: float) -> None:
        """With an append-only file: a clean stop (SIGTERM writes it), as a container restart
        does. Without: SIGKILL, as the embedded Redis dies; every key is gone."""
        self.proc.send_signal(signal.SIGTERM if self.appendonly else signal.SIGKILL)
        self.proc.wait(10)
        time.sleep(down)
        self.proc = redis_server(self.sock, self.data_dir, appendonly=self.appendonly)

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        shutil.rmtree(self.sock.parent, ignore_errors=True)


@pytest.fixture(params=["append-only", "embedded"])
def private_redis(request, tmp_path):
    redis = PrivateRedis(tmp_path, appendonly=request.param == "append-only")
    yield redis
    redis.stop()


@pytest.fixture
def layer_on(settings):
    """Point the channel layer (only it) at a private Redis."""

    def point(redis: PrivateRedis) -> None:
        default = settings.CHANNEL_LAYERS["default"]
        hosts = [{**default["CONFIG"]["hosts"][0], "address": f"unix://{redis.sock}"}]
        settings.CHANNEL_LAYERS = {"default": {**default, "CONFIG": {**default["CONFIG"], "hosts": hosts}}}

    return point


def test_a_redis_restart_closes_the_hubs_sockets_1011_and_new_sockets_subscribe_again(
    world, private_redis, layer_on, monkeypatch
):
    """Down for a second (the hub's receive fails), or back at once with its groups gone (the
    receive may carry on on the new server: the watchdog sees another run_id)."""
    layer_on(private_redis)
    monkeypatch.setattr(RealtimeConsumer, "liveness_seconds", 0.5)
    member = world.users["member"]
    token = token_for(member)

    async def body():
        first = await opened(socket_for(token=token), subprotocol="bearer")
        second = await opened(socket_for(token=token), subprotocol="bearer")
        hub = Hub.for_layer(get_channel_layer())
        assert hub.channel is not None
        down = 1.0 if private_redis.appendonly else 0.0
        await asyncio.to_thread(private_redis.restart, down=down)
        await closes_with(first, CLOSE_SERVER_ERROR, within=5)
        await closes_with(second, CLOSE_SERVER_ERROR, within=1)
        await first.disconnect()
        await second.disconnect()
        assert hub.lost
        assert (hub.members, hub.subscribed, hub.channel) == ({}, set(), None)  # forgot the old server

        # a socket that reconnects gets a new hub, subscribed on the server as it is now
        again = await opened(socket_for(token=token), subprotocol="bearer")
        new_hub = Hub.for_layer(get_channel_layer())
        assert new_hub is not hub
        assert audience.user_group(member.id) in new_hub.subscribed
        control = {"type": "realtime.control", "action": "close", "code": CLOSE_UNAUTHENTICATED}
        await get_channel_layer().group_send(
            audience.user_group(member.id), {**control, "group": audience.user_group(member.id)}
        )
        await closes_with(again, CLOSE_UNAUTHENTICATED, within=3)  # it heard the new server
        await again.disconnect()

    run(body)


def test_a_redis_that_answers_with_another_run_id_closes_the_hubs_sockets(world):
    """The watchdog's check, alone: a hub whose Redis is not the server it subscribed on."""
    token = token_for(world.users["member"])

    async def body():
        socket = await opened(socket_for(token=token), subprotocol="bearer")
        hub = Hub.for_layer(get_channel_layer())
        await hub.verify()  # the same server: nothing happens
        assert not hub.lost
        assert hub.run_ids is not None
        hub.run_ids = ["a server that is gone"]
        await hub.verify()
        await closes_with(socket, CLOSE_SERVER_ERROR, within=2)
        await socket.disconnect()
        assert hub.lost
        assert Hub.for_layer(get_channel_layer()) is not hub

    run(body)


# --------------------------------------------------------------------------- under daphne


def _start_timer(port: int, token: str, project_id) -> None:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/time-entries/start",
        json={"project_id": str(project_id)},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


@pytest.mark.slow
@pytest.mark.parametrize("appendonly", [True, False], ids=["append-only", "embedded"])
def test_under_daphne_a_redis_restart_reaches_the_client_as_a_1011_close_frame(world, tmp_path, appendonly):
    """daphne (autobahn) refuses to send 1011 from an application's websocket.close: the
    consumer ends with an error instead, which daphne answers with 1011. The client reconnects
    to the same process and hears events published on the new server."""
    redis = PrivateRedis(tmp_path, appendonly=appendonly)
    member = world.users["member"]
    token = token_for(member)
    url_env = {"REDIS_URL": f"unix://{redis.sock}?db=0"}
    try:
        with daphne_servers([free_port()], tmp_path, **url_env) as (port,):

            async def body():
                uri = f"ws://127.0.0.1:{port}/ws/realtime/"
                async with ws_connect(uri, subprotocols=["bearer", token], open_timeout=5) as ws:
                    await ws.send(json.dumps({"type": "ping"}))
                    assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] in {"pong", "presence.changed"}
                    await asyncio.to_thread(redis.restart, down=1.0 if appendonly else 0.0)
                    started = time.monotonic()
                    code = await _close_code(ws, within=8)
                    assert code == CLOSE_SERVER_ERROR, code
                    assert time.monotonic() - started < 8
                async with ws_connect(uri, subprotocols=["bearer", token], open_timeout=5) as ws:
                    await ws.send(json.dumps({"type": "ping"}))
                    await _next(ws, "pong")
                    await asyncio.to_thread(_start_timer, port, token, world.project_team.id)
                    assert (await _next(ws, "timer.started"))["data"]["project_id"] == str(world.project_team.id)

            asyncio.run(body())
    finally:
        redis.stop()


async def _next(ws, kind: str, within: float = 5) -> dict:
    deadline = time.monotonic() + within
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


async def _close_code(ws, within: float) -> int:
    """The code of the close frame that arrives within ``within`` seconds (events before it
    are fine)."""
    import websockets

    async def read_all():
        while True:
            await ws.recv()

    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(read_all(), within)
    assert closed.value.rcvd is not None, "closed without a close frame"
    return closed.value.rcvd.code
