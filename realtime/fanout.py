"""Process-local fan-out (docs/realtime.md, "One subscription per process"): the sockets of a
web process do not each hold a channel in the channel layer. One ``Hub`` per process (per event
loop) holds one channel, joins every group one of its sockets is in, receives each group
message once and hands it to its local sockets in memory.

Per socket, channels-redis's ``receive`` cost a wait of two tasks for every message (23 % of a
web process fanning one event out to 1,250 sockets, docs/benchmarks.md "Realtime on two
nodes"), and its Redis groups held every socket's channel. Here a message costs one Redis pop
per process, and each socket a bounded in-memory inbox (``RealtimeConsumer.deliver``).

What the channel layer guaranteed still holds: one channel per process receives every group's
messages in the order they were published, so each socket's inbox is in that order too; a
socket's inbox drops its oldest messages when full, as channels-redis drops what exceeds a
channel's capacity, and the socket's gap check refills them from the change log. A slow socket
only fills its own inbox: the hub never waits on a socket.

A lost Redis (docs/realtime.md, "When Redis restarts"): a failed receive, or a Redis server that
answers with another ``run_id`` than when the hub subscribed (a restart between two receives:
redis-py retries the pop on the new server, whose groups may be gone), ends the hub. It closes
its sockets with 1011, so their clients reconnect and resume from their cursor, and forgets its
channel and groups: the next socket of the process gets a new hub, which subscribes on the
server as it is now. A hub that kept going would leave its sockets open but deaf."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

import structlog

from changelog import publishing
from realtime.close_codes import CLOSE_SERVER_ERROR

logger = structlog.get_logger(__name__)

GROUP_REFRESH_SECONDS = 3600.0  # below CHANNEL_LAYERS group_expiry (2 h)


class HubLost(Exception):
    """The hub lost its Redis while a socket was joining: the socket closes 1011."""


class Member(Protocol):
    """What the hub needs of a socket."""

    def deliver(self, message: dict) -> None: ...

    async def close_once(self, code: int) -> None: ...


class Hub:
    _by_loop: dict[tuple[asyncio.AbstractEventLoop, object], Hub] = {}

    def __init__(self, layer) -> None:
        self.layer = layer
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        self.subscribed: set[str] = set()  # groups whose group_add has completed
        self.lock = asyncio.Lock()  # group_add / group_discard of this hub, one at a time
        self.task: asyncio.Task | None = None
        self.refreshed_at = time.monotonic()
        self.run_ids: list[str] | None = None  # each Redis host's run_id when the hub subscribed
        self.lost = False

    @classmethod
    def for_layer(cls, layer) -> Hub:
        """This event loop's hub on ``layer`` (tests give every test a new layer and loop)."""
        key = (asyncio.get_running_loop(), layer)
        hub = cls._by_loop.get(key)
        if hub is None:
            hub = cls._by_loop[key] = cls(layer)
        return hub

    async def join(self, group: str, member: Member) -> None:
        """Deliver ``group``'s messages to ``member``. Returns once the hub's channel is in the
        group: whatever is published afterwards reaches the member (Delivery.start relies on it).
        Raises ``HubLost`` if the hub lost its Redis meanwhile, and the layer's error if Redis
        is down."""
        if self.lost:
            raise HubLost
        self.members.setdefault(group, set()).add(member)
        self._by_loop.setdefault((asyncio.get_running_loop(), self.layer), self)  # if the last leave dropped it
        if group not in self.subscribed:
            async with self.lock:
                if self.lost:
                    raise HubLost
                if self.channel is None:
                    # Before subscribing: a restart after this read shows as a changed run_id.
                    self.run_ids = await self._run_ids()
                    self.channel = await self.layer.new_channel()
                if group not in self.subscribed and member in self.members.get(group, ()):
                    await self.layer.group_add(group, self.channel)
                    if self.lost:  # lost during the group_add: that subscription is on a server we left
                        raise HubLost
                    self.subscribed.add(group)
        if self.channel is not None and (self.task is None or self.task.done()):
            self.task = asyncio.ensure_future(self._run())

    async def leave(self, group: str, member: Member) -> None:
        members = self.members.get(group)
        if members is None:
            return
        members.discard(member)
        if members:
            return
        del self.members[group]
        # Unsubscribed from here on, before the await: a socket joining meanwhile waits for the
        # lock and subscribes again after this discard.
        subscribed = group in self.subscribed
        self.subscribed.discard(group)
        if not self.members and self.task is not None:  # the last socket of this loop
            self.task.cancel()
            self.task = None
            self._by_loop.pop((asyncio.get_running_loop(), self.layer), None)
        if subscribed and self.channel is not None:
            async with self.lock:
                if group not in self.members:
                    await self.layer.group_discard(group, self.channel)

    async def refresh(self) -> None:
        """Re-join the groups before channels-redis's group_expiry drops the channel (the
        liveness watchdog calls this every few seconds; it acts hourly)."""
        if time.monotonic() - self.refreshed_at < GROUP_REFRESH_SECONDS or self.channel is None:
            return
        self.refreshed_at = time.monotonic()
        async with self.lock:
            for group in list(self.subscribed):
                await self.layer.group_add(group, self.channel)

    async def verify(self) -> None:
        """Whether Redis is still the server the hub subscribed on (the liveness watchdog asks
        every few seconds): another ``run_id`` means it restarted, and the hub's channel and
        groups may be gone with it. A Redis that does not answer decides nothing here: the
        hub's receive fails on it, and the next check compares again."""
        if self.lost or self.run_ids is None:
            return
        try:
            run_ids = await self._run_ids()
        except Exception:
            logger.info("realtime_hub_verify_failed", exc_info=True)
            return
        if run_ids != self.run_ids:
            await self.lose("redis_restarted")

    async def lose(self, reason: str) -> None:
        """Close every socket of the hub with 1011 (their clients reconnect and resume from
        their cursor) and forget the channel and groups: the next socket gets a new hub, which
        subscribes again. The sockets close in their own tasks (``close_once`` only asks them
        from here), so this never waits on one."""
        if self.lost:
            return
        self.lost = True
        key = (asyncio.get_running_loop(), self.layer)
        if self._by_loop.get(key) is self:
            del self._by_loop[key]
        members = {member for group in self.members.values() for member in group}
        self.members.clear()
        self.subscribed.clear()
        self.channel = None
        if self.task is not None and self.task is not asyncio.current_task():
            self.task.cancel()
        self.task = None
        logger.warning("realtime_hub_lost_redis", reason=reason, sockets=len(members))
        for member in members:
            await member.close_once(CLOSE_SERVER_ERROR)

    async def _run_ids(self) -> list[str]:
        """The ``run_id`` of each Redis host of the layer: it changes with every restart."""
        return [(await self.layer.connection(i).info("server"))["run_id"] for i in range(self.layer.ring_size)]

    async def _run(self) -> None:
        assert self.channel is not None
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: what it held for us may be gone with it
                logger.warning("realtime_hub_receive_failed", exc_info=True)
                await self.lose("receive_failed")
                return
            self.dispatch(message)

    def dispatch(self, message: dict) -> None:
        # publishing.send_messages names the group in every message; presence's own messages
        # (and the tests' hand-made ones) carry it as their "group".
        group = message.get(publishing.ROUTE) or message.get("group")
        members = self.members.get(group) if isinstance(group, str) else None
        if members is None:
            if group is None:
                logger.warning("realtime_hub_message_without_group", type=message.get("type"))
            return
        for member in list(members):
            member.deliver(message)
