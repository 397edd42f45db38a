"""The liveness watchdog (docs/realtime.md, "Close codes"), one per process (per event loop),
for all of its sockets: every ``liveness_seconds`` one Redis round trip checks every socket's
device session (a revoked one closes 4401 within 5 s even if its control message was lost),
one pipeline keeps presence fresh, and the process's hub (realtime/fanout.py) checks that Redis
has not restarted under it (``Hub.verify``: its ``run_id``) and re-joins its groups before they
would expire.

One socket's own timer doing the same cost a thread hop per socket every few seconds: with
500 sockets on a process, events arriving during those bursts waited 150-250 ms longer
(bench/realtime_bench.py)."""

from __future__ import annotations

import asyncio
from typing import Protocol

import structlog

from accounts.tokens import live_sessions
from realtime.close_codes import CLOSE_UNAUTHENTICATED
from realtime.fanout import Hub
from realtime.identity import Identity
from realtime.offloop import off_loop
from realtime.presence import presence_refresh_many

logger = structlog.get_logger(__name__)


class Watched(Protocol):
    """What the watchdog needs of a consumer."""

    liveness_seconds: float  # how often to check; on the consumer class, so tests can shorten it
    identity: Identity | None
    closing: bool
    presence_counted: bool
    channel_name: str
    hub: Hub | None  # the process's subscription to the socket's groups

    async def close_once(self, code: int) -> None: ...


class Watchdog:
    _by_loop: dict[asyncio.AbstractEventLoop, Watchdog] = {}

    def __init__(self) -> None:
        self.sockets: set[Watched] = set()
        self.task: asyncio.Task | None = None

    @classmethod
    def for_loop(cls) -> Watchdog:
        loop = asyncio.get_running_loop()
        if loop not in cls._by_loop:
            cls._by_loop[loop] = cls()
        return cls._by_loop[loop]

    def add(self, consumer: Watched) -> None:
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def discard(self, consumer: Watched) -> None:
        self.sockets.discard(consumer)
        if not self.sockets:  # the last socket of this loop: no timer left behind
            if self.task is not None:
                self.task.cancel()
            self._by_loop.pop(asyncio.get_running_loop(), None)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(min(c.liveness_seconds for c in self.sockets))
            try:
                await self._check(list(self.sockets))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or the database hiccuped: keep the sockets, try again
                logger.warning("realtime_watch_failed", exc_info=True)

    @staticmethod
    async def _check(sockets: list[Watched]) -> None:
        # First, and whatever else fails: a restarted Redis closes the hub's sockets (1011).
        for hub in {c.hub for c in sockets if c.hub is not None and not c.closing}:
            await hub.verify()
        watched = [(c, c.identity) for c in sockets if not c.closing and c.identity is not None]
        sessions = {(i.session_id, str(i.user.pk)) for _, i in watched if i.session_id}
        live = await off_loop(live_sessions)(sessions)
        for consumer, identity in watched:
            if identity.session_id and identity.session_id not in live:
                await consumer.close_once(CLOSE_UNAUTHENTICATED)
        counted = [(i.user.pk, c.channel_name) for c, i in watched if c.presence_counted and not c.closing]
        await off_loop(presence_refresh_many)(counted)
        for hub in {c.hub for c, _ in watched if c.hub is not None}:
            await hub.refresh()
