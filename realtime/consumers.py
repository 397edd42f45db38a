"""``/ws/realtime/`` (SPEC: Realtime; ARCHITECTURE 7-9): authenticate, join the caller's
groups, forward committed changes in cursor order. Consumers never write to the database; the
only writes here are to Redis (presence, spending a ticket).

The consumer is the socket's lifecycle and its frames; each concern lives beside it:
``identity`` (the three ways in, the groups), ``fanout`` (the process's one channel-layer
subscription, which hands each group message to its sockets), ``delivery`` (live events,
catch-up, gap filling), ``presence``, ``liveness`` (the per-process watchdog). Close codes:
``close_codes``. See docs/realtime.md."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import time
import uuid

import structlog
from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from common.metrics import WEBSOCKET_CONNECTIONS
from realtime import presence
from realtime.close_codes import CLOSE_RECONNECT, CLOSE_SERVER_ERROR, CLOSE_TOO_MUCH, CLOSE_UNAUTHENTICATED
from realtime.delivery import Delivery
from realtime.fanout import Hub
from realtime.identity import Identity, authenticate, header, origin_allowed
from realtime.liveness import Watchdog
from realtime.offloop import off_loop

logger = structlog.get_logger(__name__)


_ClientGone: tuple[type[BaseException], ...]
try:  # daphne (autobahn) raises this on a send after the client's close frame arrived
    from autobahn.exception import Disconnected

    _ClientGone = (Disconnected,)
except ImportError:  # pragma: no cover - another server
    _ClientGone = ()


# The frames of the last few events, by the event dict's identity: the hub hands one message
# to every socket of the process, so its events are encoded once, not once per socket (12 % of
# a web process fanning out to 1,250 sockets). The entry keeps its event alive, so an id is
# never reused while it is cached; the identity check makes a stale hit impossible.
_FRAMES: dict[int, tuple[dict, str]] = {}
_FRAMES_KEPT = 256


def frame_text(event: dict) -> str:
    cached = _FRAMES.get(id(event))
    if cached is not None and cached[0] is event:
        return cached[1]
    text = json.dumps(event)  # what AsyncJsonWebsocketConsumer.encode_json sends
    _FRAMES[id(event)] = (event, text)
    if len(_FRAMES) > _FRAMES_KEPT:
        with contextlib.suppress(StopIteration, KeyError, RuntimeError):
            del _FRAMES[next(iter(_FRAMES))]  # the oldest
    return text


class CloseRefused(Exception):
    """The server refused to send this close code (daphne: 1011); the consumer ends with this
    error instead, which daphne answers with a 1011 close frame."""

    def __init__(self, code: int) -> None:
        super().__init__(f"the server cannot send close code {code}: ending the socket's application instead")
        self.code = code


class RealtimeConsumer(AsyncJsonWebsocketConsumer):
    max_frame_bytes = 64 * 1024
    max_messages_per_second = 20
    liveness_seconds = 3.0  # revocation closes within 5 s even if the control message is lost
    page_size = 500
    held_limit = 5000  # live events held during a catch-up before we drop them and refetch
    recent_size = 4096  # cursors remembered as sent, so a late refill never repeats one
    # Group messages a socket holds before it drops the oldest (CHANNEL_LAYERS "capacity" did
    # this when each socket had its own channel); the gap check refills them from the log.
    inbox_limit = 1500

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.identity: Identity | None = None
        self.delivery: Delivery | None = None  # set with identity
        self.hub: Hub | None = None
        self.joined: list[str] = []
        self.closing = False
        self.task: asyncio.Task | None = None  # the socket's own task (__call__), which sends every close
        self.close_code: int | None = None  # a close another task asked for
        self.receiving = False  # the socket's task waits for the next ASGI message
        self.interrupted = False  # close_once cancelled that wait
        self.presence_counted = False
        self.metered = False  # counted in stint_websocket_connections
        # Made on first use: an idle socket holds none of them (memory per idle socket).
        self.arrivals: collections.deque[float] | None = None
        self.inbox: collections.deque[dict] | None = None  # group messages not yet handled
        self.drainer: asyncio.Future | None = None  # the task handling the inbox, while it has some
        self.live = False  # connect() finished: group messages may be handled

    async def __call__(self, scope, receive, send):
        """channels' AsyncConsumer.__call__ without its channel: group messages come from the
        process's hub (realtime/fanout.py) through ``deliver``, so an idle socket waits on one
        receive, not two tasks. ``channel_name`` only names the socket (presence counts it).

        Every close is sent from this task, between two messages (see ``close_once``)."""
        self.scope = scope
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        self.channel_name = f"socket.{uuid.uuid4().hex}"
        self.base_send = send
        self.task = task = asyncio.current_task()
        assert task is not None
        try:
            while True:
                if self.close_code is not None:
                    code, self.close_code = self.close_code, None
                    await self._close(code)
                self.receiving = True
                try:
                    message = await receive()
                except asyncio.CancelledError:
                    # Ours only if close_once interrupted the wait and nobody else (daphne
                    # stopping the application) cancels too. The queue keeps its message.
                    if not self.interrupted or task.uncancel() > 0:
                        raise
                    self.interrupted = False
                    continue
                finally:
                    self.receiving = False
                await self.dispatch(message)
        except StopConsumer:
            pass
        except CloseRefused as refused:
            # The socket's cleanup, then end with an error: daphne answers an application
            # that failed with a 1011 close frame (WebSocketProtocol.handle_exception).
            await self.disconnect(refused.code)
            raise
        finally:
            self._stop_drainer()

    # ----------------------------------------------------------------------- connect

    async def connect(self):
        origin = header(self.scope, b"origin")
        if origin is not None and not origin_allowed(origin):
            # A page on a foreign site (cross-site WebSocket hijacking): refuse the handshake
            # (HTTP 403), whatever credentials it carries.
            logger.info("realtime_origin_refused", origin=origin[:200])
            await self.close()
            return
        protocols = list(self.scope.get("subprotocols") or [])
        bearer = protocols[:1] == ["bearer"]
        try:
            identity = await authenticate(self.scope, origin=origin, protocols=protocols, bearer=bearer)
        except Exception:
            logger.exception("realtime_auth_error")
            await self.accept("bearer" if bearer else None)
            await self.close_once(CLOSE_SERVER_ERROR)
            return
        # Accept before closing with 4401: a close code before the handshake completes never
        # reaches a browser (it only sees 1006), and the client must know to sign in again.
        await self.accept("bearer" if bearer else None)
        if identity is None:
            await self.close_once(CLOSE_UNAUTHENTICATED)
            return
        self.identity = identity
        self.delivery = Delivery(
            self, identity, page_size=self.page_size, held_limit=self.held_limit, recent_size=self.recent_size
        )
        WEBSOCKET_CONNECTIONS.inc()
        self.metered = True
        self.hub = Hub.for_layer(self.channel_layer)
        try:
            for group in identity.groups:
                self.joined.append(group)
                await self.hub.join(group, self)
            await self.delivery.start()  # after joining: see Delivery.start
        except Exception:
            logger.exception("realtime_join_failed")
            await self.close_once(CLOSE_SERVER_ERROR)
            return
        logger.info("realtime_connected", user_id=str(identity.user.pk), groups=len(identity.groups))
        Watchdog.for_loop().add(self)
        await self._presence(opening=True)
        # Group messages that arrived while connecting waited in the inbox: Delivery.start has
        # set where the socket stands in the stream, as the single dispatch loop ensured before.
        self.live = True
        self._drain_soon()

    async def close_once(self, code: int) -> None:
        """Close the socket with ``code``, once. Called from another task (the hub, the
        watchdog, the drainer, a catch-up) it only asks, and never waits on the socket: the
        socket's own task sends the close as soon as it is between two messages, interrupting
        its wait for the next one. A close sent from another task raced the consumer's own
        sends and its disconnect, and one that failed there (daphne refusing 1011) was lost."""
        if self.closing:
            return
        self.closing = True
        if self.task is None or self.task is asyncio.current_task():
            await self._close(code)
            return
        self.close_code = code
        if self.receiving and not self.interrupted:
            self.interrupted = True
            self.task.cancel()

    async def _close(self, code: int) -> None:
        try:
            await super().close(code=code)
        except _ClientGone:
            pass
        except Exception:
            # daphne's autobahn sends only 1000 and 3000-4999 from an application (its
            # sendClose raises on 1011, and the client would never hear of the close).
            if code >= 3000 or code == 1000:
                raise
            raise CloseRefused(code) from None  # the message says why; autobahn's frames add nothing

    # The client may close at any moment, and a send racing its close frame raises. Left alone
    # that would end the consumer before disconnect() runs: no group_discard, no "offline".

    async def send_json(self, content, close=False):
        if self.closing:
            return
        try:
            await super().send_json(content, close=close)
        except _ClientGone:
            self.closing = True

    async def send_event(self, event: dict) -> None:
        """An event from the change stream, encoded once per process (``frame_text``)."""
        if self.closing:
            return
        try:
            await self.send(text_data=frame_text(event))
        except _ClientGone:
            self.closing = True

    async def disconnect(self, code):
        self.closing = True
        if self.metered:
            self.metered = False
            WEBSOCKET_CONNECTIONS.dec()
        Watchdog.for_loop().discard(self)
        self._stop_drainer()
        if self.delivery is not None:
            await self.delivery.stop()
        try:
            if self.hub is not None:
                for group in self.joined:
                    await self.hub.leave(group, self)
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
        if self.arrivals is None:
            self.arrivals = collections.deque(maxlen=self.max_messages_per_second + 1)
        self.arrivals.append(now)
        flood = len(self.arrivals) > self.max_messages_per_second and now - self.arrivals[0] < 1.0
        if size > self.max_frame_bytes or flood:
            logger.info("realtime_limit_exceeded", size=size, flood=flood)
            await self.close_once(CLOSE_TOO_MUCH)
            return
        if self.identity is None:
            return
        if text is None:
            await self.send_error("invalid", "Send JSON text frames.")
            return
        try:
            content = json.loads(text)
        except (ValueError, RecursionError):
            await self.send_error("invalid", "Frames must be JSON.")
            return
        await self.receive_json(content)

    async def receive_json(self, content, **kwargs):
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "resume":
            cursor = content.get("cursor")
            if not isinstance(cursor, int) or isinstance(cursor, bool) or cursor < 0:
                await self.send_error("invalid", "resume needs a cursor: a non-negative integer.")
            elif self.delivery is not None:
                self.delivery.resume(cursor)
        else:
            await self.send_error("unknown_type", 'Send {"type": "ping"} or {"type": "resume", "cursor": N}.')

    async def send_error(self, code: str, detail: str) -> None:
        await self.send_json({"type": "error", "code": code, "detail": detail})

    async def dispatch(self, message):
        """channels' own dispatch, without its hop to the database thread before every message
        (``aclose_old_connections``, channels >= 4.2). This consumer reaches the database only
        through ``off_loop`` (``database_sync_to_async`` closes stale connections around each
        call), so the hop bought nothing, and it is serialized on the one database thread: a
        5,000-socket fan-out spent ~30 % of each web process in it (py-spy, docs/benchmarks.md
        "Issue 21")."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # ----------------------------------------------------------------------- group messages

    def deliver(self, message: dict) -> None:
        """A message to one of our groups, from the hub. Never waits: a slow socket only fills
        its own inbox, which drops its oldest message when full (the gap check refills)."""
        if self.closing:
            return
        if self.inbox is None:
            self.inbox = collections.deque(maxlen=self.inbox_limit)
        self.inbox.append(message)
        self._drain_soon()

    def _drain_soon(self) -> None:
        if self.live and self.drainer is None and self.inbox:
            self.drainer = asyncio.ensure_future(self._drain())

    async def _drain(self) -> None:
        try:
            while self.inbox and not self.closing:
                await self.dispatch(self.inbox.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:  # as an exception in channels' dispatch loop would: close the socket
            logger.exception("realtime_delivery_failed")
            await self.close_once(CLOSE_SERVER_ERROR)
        finally:
            self.drainer = None
            if not self.inbox:
                self.inbox = None  # an idle socket holds no inbox

    def _stop_drainer(self) -> None:
        self.inbox = None
        if self.drainer is not None:
            self.drainer.cancel()
            self.drainer = None

    async def realtime_control(self, message):
        if message.get("action") == "refresh":
            await self.close_once(CLOSE_RECONNECT)
        elif message.get("action") == "close":
            await self.close_once(int(message.get("code") or CLOSE_UNAUTHENTICATED))

    async def realtime_events(self, message):
        if self.identity is not None and self.delivery is not None:
            await self.delivery.receive_chunk(message)

    async def realtime_event(self, message):
        if self.identity is not None and self.delivery is not None:
            await self.delivery.receive(message)

    # ----------------------------------------------------------------------- background

    async def _presence(self, *, opening: bool) -> None:
        """Count this socket in or out; announce the user's first socket opening or their
        last one closing."""
        identity = self.identity
        if identity is None:  # never authenticated: never counted
            return
        try:
            if opening:
                changed = await off_loop(presence.presence_open)(identity.user.pk, self.channel_name)
                self.presence_counted = True
            else:
                changed = await off_loop(presence.presence_close)(identity.user.pk, self.channel_name)
                self.presence_counted = False
        except Exception:
            logger.warning("realtime_presence_failed", exc_info=True)
            return
        if changed:
            await presence.presence_announce(self.channel_layer, identity=identity, online=opening)
