"""One socket's place in the change stream (docs/realtime.md, "Ordering, duplicates, gaps"):
live events in cursor order, catch-up from a cursor (``resume``), and gap filling.

The sequencer publishes each change to its audience's groups in cursor order, and every
message names its group and ``prev``, the cursor last published to that group. All of a
socket's groups feed its one channel, so messages arrive in cursor order; a change that reaches
the socket through two groups is sent once (``sent_upto``). channels-redis silently drops
messages past a channel's capacity: a ``prev`` newer than the last cursor this socket saw on
that group means some were lost, and they are fetched from the change log before going on.

Catching up (a ``resume`` or a gap) runs beside the message loop, so the channel keeps
draining; live events that arrive meanwhile are held and sent afterwards, minus what the
catch-up already sent. Reads run off the event loop, through the same role filter as
``GET /sync/changes`` (``sync.selectors.change_list``)."""

from __future__ import annotations

import asyncio
import collections
from typing import Protocol

import structlog

from changelog import publishing
from changelog import selectors as changelog_selectors
from changelog.models import SyncState
from organizations import permissions
from realtime.close_codes import CLOSE_RECONNECT, CLOSE_SERVER_ERROR
from realtime.identity import Identity, scope_key
from realtime.offloop import off_loop
from sync import selectors

logger = structlog.get_logger(__name__)


class Socket(Protocol):
    """What delivery needs of the consumer."""

    closing: bool

    async def send_json(self, content, close=False): ...

    async def send_event(self, event: dict) -> None: ...

    async def send_error(self, code: str, detail: str) -> None: ...

    async def close_once(self, code: int) -> None: ...


def stream_position() -> tuple[int, int]:
    """(published_upto, head): changes up to the first were sent to the channel layer before
    this call; changes up to the second are numbered and committed (changelog/sequencer.py)."""
    row = SyncState.objects.filter(pk=1).values_list("published_upto", "head").first()
    return row or (0, 0)


def changes_page(identity: Identity, after: int, upto: int, limit: int) -> list[dict] | None:
    """The next page of changes the user may see, as envelopes. None when their memberships
    changed since the socket opened: it must reconnect rather than be fed under the old rules
    (a lost "refresh" message must not let a removed member read on)."""
    memberships = list(permissions.active_memberships(identity.user))
    if scope_key(memberships) != identity.scope_key:
        return None
    rows = selectors.change_list(memberships=memberships, after=after, upto=upto)[:limit]
    return [
        publishing.envelope(event=c.event, cursor=c.cursor, company_id=c.company_id, data=c.payload, at=c.at)
        for c in rows
    ]


def resume_gone(cursor: int) -> bool:
    """Same rule as GET /sync/changes (410), on the log's state read once."""
    state = changelog_selectors.sync_state()
    return changelog_selectors.cursor_gone(cursor, head=state.head, pruned_below=state.pruned_below)


class Delivery:
    """Everything a socket sends from the change log and the channel layer, for one identity."""

    def __init__(self, socket: Socket, identity: Identity, *, page_size: int, held_limit: int, recent_size: int):
        self.socket = socket
        self.identity = identity
        self.page_size = page_size
        self.held_limit = held_limit  # live events held during a catch-up before we drop them and refetch
        self.recent_size = recent_size  # cursors remembered as sent, so a late refill never repeats one
        # Every change the user may see with a cursor <= floor was sent, or was published
        # before the socket joined its groups (history: what "resume" is for).
        self.floor = 0
        self.sent_upto = 0  # highest cursor sent: live events at or below it are duplicates
        self.last_seen: dict[str, int] = {}  # per group: the last cursor that arrived on it
        # Made on first use (an idle socket holds none: memory per idle socket).
        self.recent: collections.deque[int] | None = None
        self.recent_set: set[int] | frozenset[int] = frozenset()
        self.jobs: collections.deque[dict] | None = None  # catch-ups to run, while the worker runs
        self.held: collections.deque[dict] | None = None
        self.worker: asyncio.Future | None = None

    async def start(self) -> None:
        """Live from here. Call only after joining the groups: whatever is published later
        reaches a group we are already in, so "live from here" has no hole."""
        published, head = await off_loop(stream_position)()
        self.floor = self.sent_upto = published
        if head > published:
            # Numbered but not yet (or being) published, possibly before we joined: from the log.
            self._queue({"kind": "fill", "after": published, "upto": head})

    async def stop(self) -> None:
        tasks = [t for t in (self.worker,) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def resume(self, after: int) -> None:
        self._queue({"kind": "resume", "after": after})

    # ----------------------------------------------------------------------- live

    async def receive_chunk(self, message: dict) -> None:
        """Several events of one group in cursor order (the publisher's chunk): each is handled
        as a single event whose ``prev`` is the cursor before it in the chunk."""
        prev = message.get("prev")
        for event in message.get("events", []):
            await self.receive({"event": event, "group": message.get("group"), "prev": prev})
            prev = event.get("cursor")

    async def receive(self, message: dict) -> None:
        if self.socket.closing:
            return
        if self.worker is not None:  # a catch-up is sending: keep live events for after it
            if self.held is None:
                self.held = collections.deque()
            if len(self.held) >= self.held_limit:
                # Too many to hold: drop them and fetch what they carried from the log instead.
                self.held.clear()
                if not self.jobs or {"kind": "refill"} not in self.jobs:
                    self._queue({"kind": "refill"})
            else:
                self.held.append(message)
            return
        await self._live(message)

    async def _live(self, message: dict) -> None:
        event = message["event"]
        cursor = event.get("cursor")
        group, prev = message.get("group"), message.get("prev")
        if cursor is None or group is None:
            # Not a change-log event (presence; sync.applied, whose cursor only says how far the
            # batch reached): nothing to order or refill, and it must not move sent_upto, or the
            # batch's own changes, published afterwards by a worker, would look already sent.
            await self.socket.send_event(event)
            return
        expected = max(self.last_seen.get(group, self.floor), self.floor)
        if group is not None and cursor > self.last_seen.get(group, -1):
            self.last_seen[group] = cursor
        if prev is not None and prev > expected:
            # Messages to this group after `expected` never arrived. Refill from there, not from
            # sent_upto: under overflow channels-redis may drop one message and accept a later
            # one from another group, so a lost change can lie below what was already sent.
            self._queue({"kind": "fill", "after": expected, "upto": cursor})
            return
        if cursor > self.sent_upto:
            await self._send_event(event)

    async def _send_event(self, event: dict) -> None:
        if self.socket.closing:
            return
        cursor = event["cursor"]
        await self.socket.send_event(event)
        self.sent_upto = max(self.sent_upto, cursor)
        if self.recent is None or not isinstance(self.recent_set, set):
            self.recent, self.recent_set = collections.deque(), set()
        self.recent.append(cursor)
        self.recent_set.add(cursor)
        if len(self.recent) > self.recent_size:
            self.recent_set.discard(self.recent.popleft())

    # ----------------------------------------------------------------------- catching up

    def _queue(self, job: dict) -> None:
        if self.jobs is None:
            self.jobs = collections.deque()
        self.jobs.append(job)
        if self.worker is None:
            self.worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        try:
            while self.jobs and not self.socket.closing:
                await self._catch_up(self.jobs.popleft())
                while self.held and not self.jobs and not self.socket.closing:
                    await self._live(self.held.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("realtime_catch_up_failed")
            await self.socket.close_once(CLOSE_SERVER_ERROR)  # the client reconnects and resumes
        finally:
            self.worker = None
            self.jobs = self.jobs or None  # drop the empty deques of an idle socket
            self.held = self.held or None

    async def _catch_up(self, job: dict) -> None:
        """Send every change the user may see in (after, upto] that this socket has not sent,
        in cursor order, a page at a time. ``upto`` defaults to the head."""
        if job["kind"] == "resume":
            gone = await off_loop(resume_gone)(job["after"])
            if gone:
                await self.socket.send_error("cursor_gone", "This cursor is no longer available: do a full resync.")
                return
        after = job.get("after", self.sent_upto)
        upto = job.get("upto")
        if upto is None:
            upto = await off_loop(changelog_selectors.head_cursor)()
        position = after
        while True:
            page = await off_loop(changes_page)(self.identity, position, upto, self.page_size)
            if page is None:
                await self.socket.close_once(CLOSE_RECONNECT)
                return
            for event in page:
                if event["cursor"] not in self.recent_set:
                    await self._send_event(event)
            if len(page) < self.page_size:
                break
            position = page[-1]["cursor"]
        # Everything visible in (after, upto] has now been sent: live events up to `upto` are
        # duplicates, and when nothing before `after` was missing, nothing up to `upto` is.
        self.sent_upto = max(self.sent_upto, upto)
        if after <= self.floor:
            self.floor = max(self.floor, upto)
