"""The lean path for ``POST /api/v1/sync/heartbeats`` (docs/activity.md, "Serving the intake").

Trackers send a heartbeat every few seconds, all day, from every member: the hottest request
of the product. Through Django's request stack one cost about 3 ms of CPU (middleware, DRF,
a2wsgi's thread hop, three PostgreSQL round trips and two Redis ones), which held
one-heartbeat-per-request intake to aw-server's pace (docs/benchmarks.md). This ASGI app
answers the ordinary request on daphne's event loop instead.

Why it is a second way in, and what it shares. On the event loop it cannot call the ORM or
block on Redis, so three things are its own, the hot loop: the store (``activity.groupcommit``:
one statement that checks session, user, membership and rules version and inserts, shared by
the requests that queued while the previous one ran), the rate-limit counting (per process,
added to Redis ten times a second: ``common.throttling.LocalCounts``, the same keys, windows
and scopes as the view's ``SyncThrottle``), and reading the body off the socket. Everything
else is the Django side's own code: the body schema and validation (``activity.schema`` through
``heartbeats.batch_parse``), the token check (``accounts.tokens.access_claims``), privacy
rules (``activity.privacy``), the inbox rows (``heartbeats.inbox_rows``), the merge trigger, the
headers (``common.csp.security_headers`` and the view's ``Allow``), the error bodies
(``common.exceptions.error_body``, ``throttling.throttled_body``), the request log line
(``common.middleware.log_request``) and the route metrics (``common.metrics.observe_request``).

It only ever takes the happy path. Anything else (another way to authenticate, an
Idempotency-Key, a browser's Origin, a body that fails validation, a project id, a session
not cached yet, a membership that does not check out, a database or Redis error) is handed,
body and all, to the Django view, which answers as the API always has: the errors are
Django's by construction, and the intake tests run through both paths."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
import weakref
from urllib.parse import parse_qs

import structlog
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from accounts.authentication import touch_last_seen_soon
from accounts.tokens import access_claims
from activity import groupcommit, heartbeats
from activity.api.views import HeartbeatsView
from activity.models import PrivacyRule
from activity.privacy import RULES_ORDER, cached_rules, remember_rules
from activity.schema import HEARTBEAT_BATCH
from common import lean, parsers, throttling
from common.csp import security_headers
from common.exceptions import InvalidInput, ServiceUnavailable, TooLargeError, error_body
from common.metrics import observe_request
from common.middleware import log_request, request_id_for
from organizations.models import Company

logger = structlog.get_logger("stint.request")

RULES_SQL = f"""
SELECT c.privacy_rules_version, r.field, r.pattern, r.action
FROM {Company._meta.db_table} c LEFT JOIN {PrivacyRule._meta.db_table} r ON r.company_id = c.id
WHERE c.id = %s ORDER BY {", ".join(f"r.{column}" for column in RULES_ORDER)}
"""
APPLICATION_NAME = lean.APPLICATION_NAME  # its pool's connections, shared with the lean pull
_MAX_HINTS = 100_000
# The body Django's handler gives a dependency failure (common.exceptions.ServiceUnavailable).
UNAVAILABLE = error_body(
    type_="server_error", code=ServiceUnavailable.default_code, detail=str(ServiceUnavailable.default_detail)
)


class _Fallback(Exception):
    """Not the ordinary request, and nothing stored: let Django answer it."""


class _Throttled(Exception):
    def __init__(self, user_id: str, wait: int):
        self.user_id, self.wait = user_id, wait


class HeartbeatIntake:
    """ASGI middleware: serves the ordinary heartbeat POST itself, passes everything else
    (other paths, methods, protocols, and every unusual heartbeat POST) to ``fallback``."""

    def __init__(self, fallback, limits: throttling.LocalCounts | None = None):
        self.fallback = fallback
        self.view_name = "sync-heartbeats"
        self.path = reverse(self.view_name)
        # The company a user's last heartbeat went to, when they named none: a hint only, the
        # insert re-checks the membership (and that it is the user's only one) every time.
        self.company_hints: dict[str, uuid.UUID] = {}
        self._writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._redis = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        # The process's counts of the sync scopes: config.asgi gives both lean paths one.
        self.limits = limits or throttling.LocalCounts()
        self.scopes = throttling.SyncThrottle.scopes  # the view's throttle, counted here
        # What Django's middleware and DRF add to the view's 202 (a test holds them equal):
        # DRF's Allow, and the security headers, by whether the request came over HTTPS.
        allow = [(b"allow", ", ".join(HeartbeatsView().allowed_methods).encode())]
        self._static_headers = {
            secure: allow
            + [(k.lower().encode(), v.encode()) for k, v in security_headers(path=self.path, secure=secure)]
            for secure in (False, True)
        }
        self.answered = 0  # requests this path answered itself (the rest went to Django)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return await self.fallback(scope, receive, send)
        headers = dict(scope["headers"])
        secure = lean.is_secure(scope, headers)
        if not _ordinary(headers, secure=secure):
            return await self.fallback(scope, receive, send)
        body = await _read_body(receive)
        if body is None:  # the client left, or sent more than it announced
            return await self.fallback(scope, _replay(b"", receive), send)
        started = time.perf_counter()
        extra_headers = []
        try:
            user_id, accepted = await self._accept(scope, headers, body)
        except _Fallback:
            return await self.fallback(scope, _replay(body, receive), send)
        except _Throttled as exc:
            user_id, status = exc.user_id, 429
            payload = json.dumps(throttling.throttled_body(exc.wait)).encode()
            extra_headers = [(b"retry-after", str(exc.wait).encode())]
        except groupcommit.StoreFailed as exc:
            logger.error(
                "dependency_unavailable", error_type=type(exc.__cause__).__name__, error=str(exc.__cause__)[:200]
            )
            user_id, status = None, 503
            payload = json.dumps(UNAVAILABLE).encode()
        except Exception:  # a hiccup before anything was stored: Django's view answers as ever
            logger.warning("lean_intake_failed", exc_info=True)
            return await self.fallback(scope, _replay(body, receive), send)
        else:
            status, payload = 202, b'{"accepted":%d}' % accepted
        self.answered += 1
        request_id = request_id_for(headers.get(b"x-request-id", b"").decode("latin-1"))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(payload)),
                    (b"x-request-id", request_id.encode()),
                    *extra_headers,
                    *self._static_headers[secure],
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        seconds = time.perf_counter() - started
        observe_request(view=self.view_name, method="POST", status=status, seconds=seconds)
        log_request(
            method="POST", path=self.path, status=status, seconds=seconds, request_id=request_id, user_id=user_id
        )

    async def _accept(self, scope, headers: dict, body: bytes) -> tuple[str, int]:
        """Store the batch and return (user id, how many heartbeats were accepted), or raise
        ``_Fallback`` having stored nothing."""
        claims = access_claims(headers[b"authorization"][7:].strip())  # accounts' one token check
        if claims is None:
            raise _Fallback
        user_id, session_id = claims.user_id, claims.session_id
        named = _named_company(scope)
        now = timezone.now()
        try:
            data = parsers.loads(body)  # the API parser's decoding: no lone surrogate gets further
            HEARTBEAT_BATCH.check_size(data)
            batch = heartbeats.batch_parse(data, now=now)
        except (ValueError, InvalidInput, TooLargeError):
            raise _Fallback from None
        if not batch.heartbeats or heartbeats.project_ids(batch):
            raise _Fallback  # nothing to store, or projects to check: the view's business
        pool = await self._pool()
        # The view's SyncThrottle, counted here once the request is ours to answer (a request
        # handed on below is refused by the view anyway, so a second count costs nothing).
        self.limits.start(self._redis)
        wait = self.limits.check([(scope, user_id) for scope in self.scopes])
        if wait is not None:
            raise _Throttled(user_id, wait)
        company_id = named or self.company_hints.get(user_id) or await _only_company(pool, user_id)
        rules = cached_rules(company_id) or await self._load_rules(pool, company_id)
        for attempt in (1, 2):
            version, compiled = rules
            rows = heartbeats.inbox_rows(batch, company_id=company_id, user_id=user_id, rules=compiled, now=now)
            if not rows:
                raise _Fallback  # all dropped by privacy rules: rare, and the view knows the answer
            request = {
                "user_id": user_id,
                "company_id": str(company_id),
                "session_id": session_id,
                "rules_version": version,
                "named": named is not None,
                "device": batch.device_id,
                "pulsetime": batch.pulsetime,
            }
            if await self._writer(pool).store(request, rows):
                break
            # Nothing went in. Rules changed since this process compiled them? Reload, retry
            # once. Else the session, the user or the membership is not what it was: the view.
            fresh = await self._load_rules(pool, company_id)
            if attempt == 2 or fresh[0] == version:
                self.company_hints.pop(user_id, None)
                raise _Fallback
            rules = fresh
        # Stored and committed: from here on nothing may fail the request.
        self._after_store(session_id)
        if not named:
            if len(self.company_hints) >= _MAX_HINTS:
                self.company_hints.clear()
            self.company_hints[user_id] = company_id
        return user_id, len(batch.heartbeats)

    async def _load_rules(self, pool: AsyncConnectionPool, company_id) -> tuple[int, list]:
        async with pool.connection() as conn:
            found = await (await conn.execute(RULES_SQL, [company_id])).fetchall()
        if not found:
            raise _Fallback  # no such company: the view says 404
        return remember_rules(company_id, found[0][0], [row[1:] for row in found if row[1] is not None])

    def _after_store(self, session_id: str) -> None:
        """The session's last_seen_at (once a minute, as accounts.authentication does) and the
        merge trigger (twice a second at most): fire and forget, a failure is logged and costs
        nothing stored."""
        touch_last_seen_soon(session_id)
        if heartbeats.merge_due():  # blocking Redis and broker calls: on a thread
            asyncio.get_running_loop().run_in_executor(None, heartbeats.queue_merge)

    async def _pool(self) -> AsyncConnectionPool:
        return await lean.loop_pool()

    def _writer(self, pool: AsyncConnectionPool) -> groupcommit.Writer:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None or writer.pool is not pool:  # a new pool: the loop's was closed
            writer = self._writers[loop] = groupcommit.Writer(pool)
        return writer

    async def flush_limits(self) -> None:
        """Add this process's rate-limit counts to Redis now (tests; a task does it 10 times a
        second)."""
        await self.limits.flush(self._redis)

    async def aclose(self) -> None:
        """Close this loop's connections (tests, before the test database is dropped)."""
        self._writers.pop(asyncio.get_running_loop(), None)
        await lean.close_loop_pool()
        await self.limits.stop()
        await self._redis.aclose()
        fallback_close = getattr(self.fallback, "aclose", None)
        if fallback_close is not None:  # the lean pull, below this app
            await fallback_close()


def _ordinary(headers: dict, *, secure: bool) -> bool:
    """A tracker's plain JSON POST, judged by its headers alone (the body is not read yet)."""
    if not lean.plain_tracker_request(headers, secure=secure):
        return False
    if not headers.get(b"content-type", b"").startswith(b"application/json"):
        return False
    try:
        return int(headers.get(b"content-length", b"")) <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    except ValueError:
        return False


def _named_company(scope) -> uuid.UUID | None:
    """``?company=`` as a UUID, None when absent; anything else (empty, malformed) is the
    view's to refuse."""
    values = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True).get("company")
    if not values:
        return None
    try:
        return uuid.UUID(values[-1])
    except ValueError:
        raise _Fallback from None


async def _read_body(receive) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        if size > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return None
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive):
    """A ``receive`` that hands ``body`` to the next app, then listens to the client again."""
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _only_company(pool: AsyncConnectionPool, user_id: str) -> uuid.UUID:
    async with pool.connection() as conn:
        rows = await (await conn.execute(groupcommit.ONLY_COMPANY_SQL, [user_id])).fetchall()
    if len(rows) != 1:
        raise _Fallback  # none (404) or several with none named (400): the view says so
    return rows[0][0]
