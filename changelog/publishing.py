"""Sending to realtime groups from sync code (WSGI threads, Celery tasks, the sequencer), and
the shape of what is sent: the message types consumers handle and the event envelope.

Server -> client envelope: {"type": EVENT, "cursor": N, "company_id": ..., "data": {...}, "at": ...}
(``EVENT`` a name from ``changelog.catalogue``, ``data`` its payload).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from common.representation import utc_iso

EVENT_MESSAGE = "realtime.event"  # the consumer method that forwards an event to the socket
EVENTS_MESSAGE = "realtime.events"  # several events of one group, in cursor order
CONTROL_MESSAGE = "realtime.control"  # close a socket (session revoked, membership changed)
# The group a message was sent to. A web process receives all its sockets' groups on one
# channel (realtime/fanout.py) and reads this to hand the message on. Not "group": that one is
# the event's place in the ordered stream, and null for events outside it (sync.applied).
ROUTE = "route"


def envelope(*, event: str, cursor: int | None, company_id, data: Mapping[str, Any], at: datetime) -> dict:
    return {
        "type": event,
        "cursor": cursor,
        "company_id": str(company_id) if company_id else None,
        "data": data,
        "at": utc_iso(at),
    }


def send_to_groups(groups: list[str], message: dict) -> None:
    """Low-level: one message to several groups, from sync code (workers and web alike)."""
    send_messages([(group, message) for group in groups])


def send_messages(messages: list[tuple[str, dict]]) -> None:
    """Send ``(group, message)`` pairs in order, from sync code, on this process's layer loop."""
    if not messages:
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def _send():
        for group, message in messages:
            await layer.group_send(group, {**message, ROUTE: group})

    asyncio.run_coroutine_threadsafe(_send(), _layer_loop()).result(timeout=LAYER_SEND_TIMEOUT)


# Sync code (WSGI threads, Celery tasks) sends through one event loop per process, kept on a
# daemon thread. ``async_to_sync`` from a thread without a loop would start a loop per call,
# and channels-redis keeps its connection pools per loop: every publish would open new Redis
# connections and close them again.
LAYER_SEND_TIMEOUT = 10.0
_loop_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_loop_pid: int | None = None


def _layer_loop() -> asyncio.AbstractEventLoop:
    global _loop, _loop_pid
    with _loop_lock:
        if _loop is None or _loop_pid != os.getpid():  # none yet, or inherited across a fork
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="channel-layer-loop", daemon=True).start()
            _loop_pid = os.getpid()
        return _loop
