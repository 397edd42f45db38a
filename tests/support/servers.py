"""Servers a test starts (daphne, aw-server, runstack nodes, a private redis-server): waiting for
them to answer, and a realtime client that follows them across restarts."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def wait_until_up(proc: subprocess.Popen, url: str, *, log: Path, timeout: float, what: str) -> None:
    """Until ``url`` answers 200; fails with the server's last output if it exits first, or
    with ``what`` if it does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"{what} did not come up"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)


def redis_server(sock: Path, data_dir: Path, *, appendonly: bool = True) -> subprocess.Popen:
    """A private redis-server on the unix socket ``sock``, answering PING when this returns;
    with an append-only file as in docker-compose.yml, or without one as the embedded Redis of
    `make run` (a restart then loses every key: the channel layer's groups too)."""
    from config import embedded

    argv = [str(embedded.redis_server_binary()), "--port", "0", "--unixsocket", str(sock), "--dir", str(data_dir)]
    argv += ["--appendonly", "yes" if appendonly else "no", "--save", ""]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 10
    while not embedded._redis_answers(sock):
        assert proc.poll() is None, "redis-server exited"
        assert time.monotonic() < deadline, "redis-server did not answer within 10 s"
        time.sleep(0.05)
    return proc


@contextlib.contextmanager
def runstack(port: int, env: dict, *args: str, log: Path, timeout: float = 120):
    """`manage.py runstack` on ``port`` (in a session of its own, so a test can SIGKILL the
    whole node with os.killpg) until /health/ready answers; stopped with one SIGINT after the
    block, as Ctrl-C does, unless the test killed it."""
    from django.conf import settings

    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port), *args],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),  # a file: a full pipe would block it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_until_up(proc, f"http://127.0.0.1:{port}/health/ready", log=log, timeout=timeout, what="runstack")
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def resuming_client(
    url: str | list[str],
    token: str,
    cursor: int,
    seen: dict,
    stop: asyncio.Event,
    log: list,
    received: list | None = None,
) -> None:
    """A desktop-style realtime client over a real socket: it resumes from its cursor on every
    (re)connection. Given several URLs (nodes behind a load balancer), it moves on to the next
    when one fails. ``seen``: cursor -> event; ``received``: every cursor as it arrived (a
    duplicate shows there, not in ``seen``); ``log``: its connections and disconnections."""
    import websockets
    from websockets.typing import Subprotocol

    subprotocols = [Subprotocol("bearer"), Subprotocol(token)]
    urls = [url] if isinstance(url, str) else url
    attempt = 0
    while not stop.is_set():
        url = urls[attempt % len(urls)]
        attempt += 1
        try:
            async with websockets.connect(url, subprotocols=subprotocols, open_timeout=5) as ws:
                log.append(("connected", cursor, url))
                await ws.send(json.dumps({"type": "resume", "cursor": cursor}))
                while not stop.is_set():
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=0.5))
                    except TimeoutError:
                        continue
                    if isinstance(frame.get("cursor"), int):
                        seen[frame["cursor"]] = frame
                        if received is not None:
                            received.append(frame["cursor"])
                        cursor = max(cursor, frame["cursor"])
        except (OSError, websockets.exceptions.WebSocketException, TimeoutError) as exc:
            log.append(("disconnected", type(exc).__name__, url))
            await asyncio.sleep(0.3)
