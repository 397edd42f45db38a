"""``/ws/realtime/`` (SPEC: Realtime; ARCHITECTURE 7-9): authenticate, join the caller's
groups, forward committed changes in cursor order. Consumers never write to the database; the
only writes here are to Redis (presence, spending a ticket).

Delivery. The sequencer publishes each change to its audience's groups in cursor order, and
every message names its group and ``prev``, the cursor last published to that group. All of a
socket's groups feed its one channel, so messages arrive in cursor order; a change that reaches
the socket through two groups is sent once (``sent_upto``). channels-redis silently drops
messages past a channel's capacity: a ``prev`` newer than the last cursor this socket saw on
that group means some were lost, and they are fetched from the change log before going on.

Catching up (a ``resume`` or a gap) runs beside the message loop, so the channel keeps
draining; live events that arrive meanwhile are held and sent afterwards, minus what the
catch-up already sent. Close codes: 4401 auth missing/invalid/revoked, 4403 memberships
changed (reconnect), 4429 frame too large or too many messages. See docs/realtime.md."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import structlog
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model, load_backend
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from rest_framework.exceptions import AuthenticationFailed

from accounts.authentication import token_identity
from accounts.tokens import live_sessions, session_is_live, web_session_id
from changelog import audience, publishing
from changelog import selectors as changelog_selectors
from changelog.models import SyncState
from common.metrics import WEBSOCKET_CONNECTIONS
from common.redis import get_client, key
from organizations import permissions
from organizations.models import Membership, TeamMember
from realtime.tickets import ticket_redeem
from sync import selectors

logger = structlog.get_logger(__name__)

CLOSE_UNAUTHENTICATED = 4401  # missing, invalid or expired auth; the session was revoked
CLOSE_RECONNECT = 4403  # memberships changed: reconnect to get the groups they allow now
CLOSE_TOO_MUCH = 4429  # a frame over 64 KB, or more than 20 client messages in a second
CLOSE_SERVER_ERROR = 1011


try:  # daphne (autobahn) raises this on a send after the client's close frame arrived
    from autobahn.exception import Disconnected as _ClientGone
except ImportError:  # pragma: no cover - another server
    _ClientGone = ()


def _off_loop(fn):
    """ORM and Redis calls, off the event loop, on channels' one shared thread per process
    (thread-sensitive, its default). Pool threads (thread_sensitive=False) would let sockets'
    calls run in parallel, but leaked pooled database connections in our tests; each call
    here is a few milliseconds, and sockets connect far less often than they receive."""
    return database_sync_to_async(fn)


# --------------------------------------------------------------------------- who is calling


@dataclass
class Identity:
    user: object
    session_id: str | None  # the device session (token, ticket, or the dashboard's Django session)
    memberships: list[Membership] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def scope_key(self) -> list[tuple[str, str]]:
        return _scope_key(self.memberships)


def _scope_key(memberships: list[Membership]) -> list[tuple[str, str]]:
    return sorted((str(m.company_id), m.role) for m in memberships)


def _identity(user, session_id: str | None) -> Identity:
    """The user's groups, from their active memberships and teams (sync/realtime.py names them)."""
    memberships = list(permissions.active_memberships(user).order_by("company_id"))
    groups = [audience.user_group(user.pk)]
    if session_id:
        groups.append(audience.session_group(session_id))
    for m in memberships:
        if m.role in permissions.COMPANY_MANAGERS:
            groups.append(audience.company_managers_group(m.company_id))
        groups.append(audience.company_all_group(m.company_id))
    teams = TeamMember.objects.filter(user=user, company_id__in=[m.company_id for m in memberships])
    for team_member in teams.order_by("team_id").only("team_id", "role"):
        groups.append(audience.team_all_group(team_member.team_id))
        if permissions.is_team_lead(team_member):
            groups.append(audience.team_leads_group(team_member.team_id))
    return Identity(user=user, session_id=session_id, memberships=memberships, groups=groups)


def _identity_from_token(raw: str) -> Identity | None:
    if not raw:
        return None
    try:
        user, claims = token_identity(raw)
    except AuthenticationFailed:
        return None
    return _identity(user, claims.session_id)


def _identity_from_ticket(ticket: str) -> Identity | None:
    redeemed = ticket_redeem(ticket)
    if redeemed is None:
        return None
    user_id, session_id = redeemed
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None or (session_id is not None and not session_is_live(session_id, user_id=str(user.pk))):
        return None
    return _identity(user, session_id)


def _identity_from_session(session) -> Identity | None:
    """The dashboard's Django session, checked like django.contrib.auth.get_user but without
    its side effect (a session whose password hash is stale is refused here, not flushed:
    consumers do not write), then its device session, as DeviceSessionMiddleware does."""
    try:
        user_id = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except (KeyError, ValueError, ValidationError):  # no session, an anonymous one, or junk
        return None
    if backend_path not in settings.AUTHENTICATION_BACKENDS:
        return None
    user = load_backend(backend_path).get_user(user_id)  # None unless active
    if user is None:
        return None
    stored = session.get(HASH_SESSION_KEY) or ""
    hashes = [user.get_session_auth_hash(), *user.get_session_auth_fallback_hash()]
    if not any(constant_time_compare(stored, h) for h in hashes):
        return None
    # The browser's device session (accounts/web_sessions.py): the socket joins its group and
    # the watchdog checks it, so revoking it closes this socket as it closes a token's.
    session_id = web_session_id(session)
    if not session_id or not session_is_live(session_id, user_id=str(user.pk)):
        return None
    return _identity(user, session_id)


def _stream_position() -> tuple[int, int]:
    """(published_upto, head): changes up to the first were sent to the channel layer before
    this call; changes up to the second are numbered and committed (sync/sequencer.py)."""
    row = SyncState.objects.filter(pk=1).values_list("published_upto", "head").first()
    return row or (0, 0)


def _changes_page(identity: Identity, after: int, upto: int, limit: int) -> list[dict] | None:
    """The next page of changes the user may see, as envelopes. None when their memberships
    changed since the socket opened: it must reconnect rather than be fed under the old rules
    (a lost "refresh" message must not let a removed member read on)."""
    memberships = list(permissions.active_memberships(identity.user))
    if _scope_key(memberships) != identity.scope_key:
        return None
    rows = selectors.change_list(memberships=memberships, after=after, upto=upto)[:limit]
    return [
        publishing.envelope(event=c.event, cursor=c.cursor, company_id=c.company_id, data=c.payload, at=c.at)
        for c in rows
    ]


# --------------------------------------------------------------------------- presence

# One sorted set per user: a member per open socket, scored by its last refresh. Counting
# fresh members (instead of INCR/DECR) means a web process that dies without closing its
# sockets cannot leave a user "online" for as long as their other sockets keep the key alive.
_PRESENCE_OPEN = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return redis.call('ZCARD', KEYS[1])
"""
_PRESENCE_CLOSE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[3]))
return {removed, redis.call('ZCARD', KEYS[1])}
"""


def _presence_key(user_id) -> str:
    return key("presence", str(user_id))


def _presence_open(user_id, member: str, ttl: int) -> bool:
    """Count this socket in; True when it is the user's first."""
    return get_client().eval(_PRESENCE_OPEN, 1, _presence_key(user_id), time.time(), member, ttl) == 1


def _presence_refresh_many(members: list[tuple[object, str]], ttl: int) -> None:
    """``_presence_refresh`` for many sockets in one pipeline."""
    if not members:
        return
    now = time.time()
    pipe = get_client().pipeline(transaction=False)
    for user_id, member in members:
        pipe.zadd(_presence_key(user_id), {member: now})
        pipe.expire(_presence_key(user_id), ttl)
    pipe.execute()


def _presence_close(user_id, member: str, ttl: int) -> bool:
    """Count this socket out; True when it was the user's last."""
    removed, left = get_client().eval(_PRESENCE_CLOSE, 1, _presence_key(user_id), time.time(), member, ttl)
    return removed == 1 and left == 0


# --------------------------------------------------------------------------- the consumer


def _header(scope, name: bytes) -> str | None:
    for header, value in scope.get("headers", []):
        if header.lower() == name:
            return value.decode("latin-1")
    return None


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    max_frame_bytes = 64 * 1024
    max_messages_per_second = 20
    liveness_seconds = 3.0  # revocation closes within 5 s even if the control message is lost
    group_refresh_seconds = 3600.0  # below CHANNEL_LAYERS group_expiry (2 h)
    presence_ttl_seconds = 30
    page_size = 500
    held_limit = 5000  # live events held during a catch-up before we drop them and refetch
    recent_size = 4096  # cursors remembered as sent, so a late refill never repeats one

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity: Identity | None = None
        self.joined: list[str] = []
        self.closing = False
        self.presence_counted = False
        self.metered = False  # counted in stint_websocket_connections
        # Every change the user may see with a cursor <= floor was sent, or was published
        # before the socket joined its groups (history: what "resume" is for).
        self.floor = 0
        self.sent_upto = 0  # highest cursor sent: live events at or below it are duplicates
        self.last_seen: dict[str, int] = {}  # per group: the last cursor that arrived on it
        self.recent: collections.deque[int] = collections.deque()
        self.recent_set: set[int] = set()
        self.jobs: collections.deque[dict] = collections.deque()
        self.held: collections.deque[dict] = collections.deque()
        self.worker: asyncio.Future | None = None
        self.joined_at = 0.0
        self.arrivals: collections.deque[float] = collections.deque(maxlen=self.max_messages_per_second + 1)

    # ----------------------------------------------------------------------- connect

    async def connect(self):
        origin = _header(self.scope, b"origin")
        if origin is not None and not self._origin_allowed(origin):
            # A page on a foreign site (cross-site WebSocket hijacking): refuse the handshake
            # (HTTP 403), whatever credentials it carries.
            logger.info("realtime_origin_refused", origin=origin[:200])
            await self.close()
            return
        protocols = list(self.scope.get("subprotocols") or [])
        bearer = protocols[:1] == ["bearer"]
        try:
            identity = await self._authenticate(origin=origin, protocols=protocols, bearer=bearer)
        except Exception:
            logger.exception("realtime_auth_error")
            await self.accept("bearer" if bearer else None)
            await self._close(CLOSE_SERVER_ERROR)
            return
        # Accept before closing with 4401: a close code before the handshake completes never
        # reaches a browser (it only sees 1006), and the client must know to sign in again.
        await self.accept("bearer" if bearer else None)
        if identity is None:
            await self._close(CLOSE_UNAUTHENTICATED)
            return
        self.identity = identity
        WEBSOCKET_CONNECTIONS.inc()
        self.metered = True
        try:
            for group in identity.groups:
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
            # Read the watermarks only after joining: whatever is published later reaches a
            # group we are already in, so "live from here" has no hole.
            published, head = await _off_loop(_stream_position)()
        except Exception:
            logger.exception("realtime_join_failed")
            await self._close(CLOSE_SERVER_ERROR)
            return
        self.floor = self.sent_upto = published
        if head > published:
            # Numbered but not yet (or being) published, possibly before we joined: from the log.
            self._queue({"kind": "fill", "after": published, "upto": head})
        logger.info("realtime_connected", user_id=str(identity.user.pk), groups=len(identity.groups))
        self.joined_at = time.monotonic()
        _Watchdog.for_loop().add(self)
        await self._presence(opening=True)

    @staticmethod
    def _origin_allowed(origin: str) -> bool:
        return origin.strip().lower().rstrip("/") in settings.REALTIME_ALLOWED_ORIGINS

    async def _authenticate(self, *, origin: str | None, protocols: list[str], bearer: bool) -> Identity | None:
        """The first credential present decides (a bad one is not retried with the next):
        bearer subprotocol, then ?ticket=, then the Django session, for browsers only."""
        if bearer:
            return await _off_loop(_identity_from_token)(protocols[1] if len(protocols) > 1 else "")
        tickets = parse_qs(self.scope.get("query_string", b"").decode("latin-1")).get("ticket")
        if tickets:
            return await _off_loop(_identity_from_ticket)(tickets[0])
        if origin is not None and "session" in self.scope:
            # Only with an allowed Origin (checked above): a client without one (a desktop app,
            # a script holding a stolen cookie jar) must bring a token or a ticket.
            return await _off_loop(_identity_from_session)(self.scope["session"])
        return None

    async def _close(self, code: int) -> None:
        if self.closing:
            return
        self.closing = True
        await self.close(code=code)

    # The client may close at any moment, and a send racing its close frame raises. Left alone
    # that would end the consumer before disconnect() runs: no group_discard, no "offline".

    async def send_json(self, content, close=False):
        if self.closing:
            return
        try:
            await super().send_json(content, close=close)
        except _ClientGone:
            self.closing = True

    async def close(self, code=None, reason=None):
        with contextlib.suppress(_ClientGone):
            await super().close(code=code, reason=reason)

    async def disconnect(self, code):
        self.closing = True
        if self.metered:
            self.metered = False
            WEBSOCKET_CONNECTIONS.dec()
        _Watchdog.for_loop().discard(self)
        tasks = [t for t in (self.worker,) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            for group in self.joined:
                await self.channel_layer.group_discard(group, self.channel_name)
            if self.presence_counted:
                await self._presence(opening=False)
        except Exception:  # the channel expires from its groups by itself; presence too
            logger.warning("realtime_disconnect_cleanup_failed", exc_info=True)
        if self.identity is not None:
            logger.info("realtime_disconnected", user_id=str(self.identity.user.pk), code=code)

    # ----------------------------------------------------------------------- client frames

    async def websocket_receive(self, message):
        if self.closing:
            return
        text = message.get("text")
        raw = text if text is not None else (message.get("bytes") or b"")
        size = len(raw.encode()) if isinstance(raw, str) else len(raw)
        now = time.monotonic()
        self.arrivals.append(now)
        flood = len(self.arrivals) > self.max_messages_per_second and now - self.arrivals[0] < 1.0
        if size > self.max_frame_bytes or flood:
            logger.info("realtime_limit_exceeded", size=size, flood=flood)
            await self._close(CLOSE_TOO_MUCH)
            return
        if self.identity is None:
            return
        if text is None:
            await self._error("invalid", "Send JSON text frames.")
            return
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):
            await self._error("invalid", "Frames must be JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "resume":
            cursor = content.get("cursor")
            if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
                await self._error("invalid", "resume needs a cursor: a non-negative integer.")
            else:
                self._queue({"kind": "resume", "after": cursor})
        else:
            await self._error("unknown_type", 'Send {"type": "ping"} or {"type": "resume", "cursor": N}.')

    async def _error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    # ----------------------------------------------------------------------- channel layer

    async def realtime_control(self, message):
        if message.get("action") == "refresh":
            await self._close(CLOSE_RECONNECT)
        elif message.get("action") == "close":
            await self._close(int(message.get("code") or CLOSE_UNAUTHENTICATED))

    async def realtime_events(self, message):
        """Several events of one group in cursor order (the publisher's chunk): each is handled
        as a single event whose ``prev`` is the cursor before it in the chunk."""
        prev = message.get("prev")
        for event in message.get("events", []):
            await self.realtime_event({"event": event, "group": message.get("group"), "prev": prev})
            prev = event.get("cursor")

    async def realtime_event(self, message):
        if self.identity is None or self.closing:
            return
        if self.worker is not None:  # a catch-up is sending: keep live events for after it
            if len(self.held) >= self.held_limit:
                # Too many to hold: drop them and fetch what they carried from the log instead.
                self.held.clear()
                if {"kind": "refill"} not in self.jobs:
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
            await self.send_json(event)
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
        if self.closing:
            return
        cursor = event["cursor"]
        await self.send_json(event)
        self.sent_upto = max(self.sent_upto, cursor)
        self.recent.append(cursor)
        self.recent_set.add(cursor)
        if len(self.recent) > self.recent_size:
            self.recent_set.discard(self.recent.popleft())

    # ----------------------------------------------------------------------- catching up

    def _queue(self, job: dict) -> None:
        self.jobs.append(job)
        if self.worker is None:
            self.worker = asyncio.ensure_future(self._work())

    async def _work(self) -> None:
        try:
            while self.jobs and not self.closing:
                await self._catch_up(self.jobs.popleft())
                while self.held and not self.jobs and not self.closing:
                    await self._live(self.held.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("realtime_catch_up_failed")
            await self._close(CLOSE_SERVER_ERROR)  # the client reconnects and resumes
        finally:
            self.worker = None

    async def _catch_up(self, job: dict) -> None:
        """Send every change the user may see in (after, upto] that this socket has not sent,
        in cursor order, a page at a time. ``upto`` defaults to the head."""
        if job["kind"] == "resume":
            gone = await _off_loop(self._resume_gone)(job["after"])
            if gone:
                await self._error("cursor_gone", "This cursor is no longer available: do a full resync.")
                return
        after = job.get("after", self.sent_upto)
        upto = job.get("upto")
        if upto is None:
            upto = await _off_loop(changelog_selectors.head_cursor)()
        position = after
        while True:
            page = await _off_loop(_changes_page)(self.identity, position, upto, self.page_size)
            if page is None:
                await self._close(CLOSE_RECONNECT)
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

    @staticmethod
    def _resume_gone(cursor: int) -> bool:
        """Same rule as GET /sync/changes (410): pruned, or from a future this server never had."""
        return cursor < changelog_selectors.pruned_below() or cursor > changelog_selectors.head_cursor()

    # ----------------------------------------------------------------------- background

    async def _group_refresh(self) -> None:
        """Re-join our groups before channels-redis's group_expiry drops the channel."""
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        self.joined_at = time.monotonic()

    async def _presence(self, *, opening: bool) -> None:
        """presence.changed to the user's companies' managers (and their own devices) when
        their first socket opens or their last one closes."""
        identity = self.identity
        ttl = self.presence_ttl_seconds
        try:
            if opening:
                changed = await _off_loop(_presence_open)(identity.user.pk, self.channel_name, ttl)
                self.presence_counted = True
            else:
                changed = await _off_loop(_presence_close)(identity.user.pk, self.channel_name, ttl)
                self.presence_counted = False
        except Exception:
            logger.warning("realtime_presence_failed", exc_info=True)
            return
        if not changed:
            return
        now = timezone.now()
        data = {"user_id": str(identity.user.pk), "online": opening}
        targets = [(audience.company_managers_group(m.company_id), m.company_id) for m in identity.memberships]
        targets.append((audience.user_group(identity.user.pk), None))
        for group, company_id in targets:
            event = publishing.envelope(event="presence.changed", cursor=None, company_id=company_id, data=data, at=now)
            await self.channel_layer.group_send(
                group, {"type": publishing.EVENT_MESSAGE, "event": event, "group": group, "prev": None}
            )


class _Watchdog:
    """The safety net, one per process (per event loop), for all of its sockets: every
    ``liveness_seconds`` one Redis round trip checks every socket's session (a revoked one
    closes within 5 s even if its control message was lost), one pipeline keeps presence fresh,
    and sockets re-join their groups before they would expire. One socket's own timer doing
    the same cost a thread hop per socket every few seconds: with 500 sockets on a process,
    events arriving during those bursts waited 150-250 ms longer (bench/realtime_bench.py)."""

    _by_loop: dict[asyncio.AbstractEventLoop, _Watchdog] = {}

    def __init__(self) -> None:
        self.sockets: set[RealtimeConsumer] = set()
        self.task: asyncio.Task | None = None

    @classmethod
    def for_loop(cls) -> _Watchdog:
        loop = asyncio.get_running_loop()
        if loop not in cls._by_loop:
            cls._by_loop[loop] = cls()
        return cls._by_loop[loop]

    def add(self, consumer: RealtimeConsumer) -> None:
        self.sockets.add(consumer)
        if self.task is None or self.task.done():
            self.task = asyncio.ensure_future(self._run())

    def discard(self, consumer: RealtimeConsumer) -> None:
        self.sockets.discard(consumer)
        if not self.sockets:  # the last socket of this loop: no timer left behind
            if self.task is not None:
                self.task.cancel()
            self._by_loop.pop(asyncio.get_running_loop(), None)

    async def _run(self) -> None:
        while self.sockets:
            await asyncio.sleep(RealtimeConsumer.liveness_seconds)
            try:
                await self._check(list(self.sockets))
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis or the database hiccuped: keep the sockets, try again
                logger.warning("realtime_watch_failed", exc_info=True)

    @staticmethod
    async def _check(sockets: list[RealtimeConsumer]) -> None:
        sockets = [c for c in sockets if not c.closing and c.identity is not None]
        sessions = {(c.identity.session_id, str(c.identity.user.pk)) for c in sockets if c.identity.session_id}
        live = await _off_loop(live_sessions)(sessions)
        for consumer in sockets:
            if consumer.identity.session_id and consumer.identity.session_id not in live:
                await consumer._close(CLOSE_UNAUTHENTICATED)
        counted = [(c.identity.user.pk, c.channel_name) for c in sockets if c.presence_counted and not c.closing]
        await _off_loop(_presence_refresh_many)(counted, RealtimeConsumer.presence_ttl_seconds)
        now = time.monotonic()
        for consumer in sockets:
            if not consumer.closing and now - consumer.joined_at > consumer.group_refresh_seconds:
                await consumer._group_refresh()
