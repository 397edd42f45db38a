"""The lean path for ``POST /api/v1/sync/heartbeats`` (docs/activity.md, "Serving the intake").

Trackers send a heartbeat every few seconds, all day, from every member: the hottest request
of the product. Through Django's request stack one cost about 3 ms of CPU (middleware, DRF,
a2wsgi's thread hop, three PostgreSQL round trips and two Redis ones), which held
one-heartbeat-per-request intake to aw-server's pace (docs/benchmarks.md). This ASGI app
answers the ordinary request on the event loop instead, with one PostgreSQL statement that
checks everything the view checks (the token's session is live, the user active and an
active member of the company, the cached privacy rules current) and inserts the rows in the
same breath, committed before the 202. Validated tokens and compiled rules are remembered
per process; the database decides every request.

It only ever takes the happy path. Anything else (another way to authenticate, an
Idempotency-Key, a browser's Origin, a body that fails validation, a project id, a session
not cached yet, a membership that does not check out, a database or Redis error) is handed,
body and all, to the Django view, which answers as the API always has: the errors are
Django's by construction, and the intake tests run through both paths."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
import weakref
from datetime import datetime
from urllib.parse import parse_qs

import structlog
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from django.urls import reverse
from django.utils import timezone
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis

from accounts.authentication import last_seen_due
from accounts.models import DeviceSession, User
from accounts.tokens import access_claims
from activity import heartbeats
from activity.models import HeartbeatInbox, PrivacyRule
from activity.privacy import RULES_ORDER, cached_rules, remember_rules
from common import parsers, throttling
from common.exceptions import InvalidInput, ServiceUnavailable, error_body
from common.metrics import observe_request
from common.middleware import request_id_for
from organizations.models import Company, Membership

logger = structlog.get_logger("stint.request")

_M, _U = Membership._meta.db_table, User._meta.db_table
_C, _S = Company._meta.db_table, DeviceSession._meta.db_table
# Group commit: one statement stores the requests that queued while the previous one ran.
# A request's rows go in only while its token's session is live, its user active and an
# active member of its company, the privacy rules applied are the company's current ones,
# and, when it names no company, the user is a member of no other (else the API answers 400
# "say which"). The statement returns the requests stored; for the others nothing went in,
# and the view (or a reload of the rules) answers.
INSERT_SQL = f"""
WITH r AS (
    SELECT * FROM jsonb_to_recordset(%(requests)s::jsonb) AS r(
        req int, user_id uuid, company_id uuid, session_id uuid, rules_version bigint, named bool,
        device text, pulsetime float8)
), ok AS (
    SELECT r.* FROM r
    JOIN {_M} m ON m.user_id = r.user_id AND m.company_id = r.company_id AND m.is_active
    JOIN {_U} u ON u.id = r.user_id AND u.is_active
    JOIN {_C} c ON c.id = r.company_id AND c.privacy_rules_version = r.rules_version
    JOIN {_S} s ON s.id = r.session_id AND s.user_id = r.user_id AND s.revoked_at IS NULL AND s.expires_at > %(now)s
    WHERE r.named OR NOT EXISTS (
        SELECT 1 FROM {_M} o WHERE o.user_id = r.user_id AND o.is_active AND o.company_id <> r.company_id)
), stored AS (
    INSERT INTO {HeartbeatInbox._meta.db_table}
        (company_id, user_id, device_id, "timestamp", duration, app, title, url, domain, project_id, pulsetime,
         received_at)
    SELECT ok.company_id, ok.user_id, ok.device, h.ts, h.dur, h.app, h.title, h.url, h.domain, NULL, ok.pulsetime,
           %(now)s
    FROM jsonb_to_recordset(%(rows)s::jsonb) AS h(req int, ts timestamptz, dur float8, app text, title text,
                                                  url text, domain text)
    JOIN ok ON ok.req = h.req
)
SELECT req FROM ok
"""
ONLY_COMPANY_SQL = f"""
SELECT m.company_id FROM {_M} m JOIN {_U} u ON u.id = m.user_id AND u.is_active
WHERE m.user_id = %s AND m.is_active LIMIT 2
"""
RULES_SQL = f"""
SELECT c.privacy_rules_version, r.field, r.pattern, r.action
FROM {_C} c LEFT JOIN {PrivacyRule._meta.db_table} r ON r.company_id = c.id
WHERE c.id = %s ORDER BY {", ".join(f"r.{column}" for column in RULES_ORDER)}
"""
LAST_SEEN_SQL = f"UPDATE {_S} SET last_seen_at = %s WHERE id = %s"

_MAX_HINTS = 100_000
APPLICATION_NAME = "stint-heartbeat-intake"  # in pg_stat_activity
# The body Django's handler gives a dependency failure (common.exceptions.ServiceUnavailable).
UNAVAILABLE = error_body(
    type_="server_error", code=ServiceUnavailable.default_code, detail=str(ServiceUnavailable.default_detail)
)


class _Fallback(Exception):
    """Not the ordinary request, and nothing stored: let Django answer it."""


class _Throttled(Exception):
    def __init__(self, user_id: str, wait: int):
        self.user_id, self.wait = user_id, wait


class _StoreFailed(Exception):
    """The insert itself failed: not handed on, since it may have committed (503, retry)."""


class HeartbeatIntake:
    """ASGI middleware: serves the ordinary heartbeat POST itself, passes everything else
    (other paths, methods, protocols, and every unusual heartbeat POST) to ``fallback``."""

    def __init__(self, fallback):
        self.fallback = fallback
        self.view_name = "sync-heartbeats"
        self.path = reverse(self.view_name)
        # The company a user's last heartbeat went to, when they named none: a hint only, the
        # insert re-checks the membership (and that it is the user's only one) every time.
        self.company_hints: dict[str, uuid.UUID] = {}
        self._pools: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._writers: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self._redis = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        self.limits = throttling.LocalCounts()
        self._static_headers = _static_headers(self.path)
        self._tasks: set[asyncio.Task] = set()  # fire-and-forget writes, referenced until done
        self.answered = 0  # requests this path answered itself (the rest went to Django)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "POST":
            return await self.fallback(scope, receive, send)
        headers = dict(scope["headers"])
        if not _ordinary(scope, headers):
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
        except _StoreFailed as exc:
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
                    *self._static_headers,
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})
        seconds = time.perf_counter() - started
        observe_request(view=self.view_name, method="POST", status=status, seconds=seconds)
        logger.info(
            "request",
            method="POST",
            path=self.path,
            status=status,
            duration_ms=round(seconds * 1000, 2),
            request_id=request_id,
            user_id=user_id,
        )

    async def _accept(self, scope, headers: dict, body: bytes) -> tuple[str, int]:
        """Store the batch and return (user id, how many heartbeats were accepted), or raise
        ``_Fallback`` having stored nothing."""
        user_id, session_id = _token_claims(headers[b"authorization"][7:].strip())
        named = _named_company(scope)
        try:
            data = parsers.loads(body)  # the API parser's decoding: no lone surrogate gets further
            items = data.get("heartbeats") if isinstance(data, dict) else None
            if not isinstance(items, list) or len(items) > heartbeats.MAX_HEARTBEATS:
                raise _Fallback
            now = timezone.now()
            batch = heartbeats.heartbeats_parse(data, now=now)
        except (ValueError, InvalidInput):
            raise _Fallback from None
        if not batch.heartbeats or any(h["project_id"] is not None for h in batch.heartbeats):
            raise _Fallback  # nothing to store, or projects to check: the view's business
        pool = await self._pool()
        # The view's SyncThrottle, counted here once the request is ours to answer (a request
        # handed on below is refused by the view anyway, so a second count costs nothing).
        wait = self._throttle_wait(user_id)
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
        self._after_store(session_id, now)
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

    def _after_store(self, session_id: str, now) -> None:
        """The session's last_seen_at (once a minute) and the merge trigger (twice a second at
        most): fire and forget, a failure is logged and costs nothing stored."""
        loop = asyncio.get_running_loop()
        if last_seen_due(session_id):
            task = loop.create_task(self._touch_last_seen(session_id, now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        if heartbeats.merge_due():  # blocking Redis and broker calls: on a thread
            loop.run_in_executor(None, heartbeats.queue_merge)

    async def _touch_last_seen(self, session_id: str, now) -> None:
        try:
            pool = await self._pool()
            async with pool.connection() as conn:
                await conn.execute(LAST_SEEN_SQL, [now, session_id])
        except Exception:
            logger.warning("last_seen_failed", exc_info=True)

    def _throttle_wait(self, user_id: str) -> int | None:
        """The view's SyncThrottle limits, counted per process and added to Redis in batches
        (``throttling.LocalCounts``): a Redis round trip per request was a third of it."""
        self.limits.start(self._redis)
        return self.limits.check([(scope, user_id) for scope in throttling.SYNC_SCOPES])

    async def _pool(self) -> AsyncConnectionPool:
        """This event loop's PostgreSQL pool (daphne runs one loop per process; tests their
        own)."""
        loop = asyncio.get_running_loop()
        pool = self._pools.get(loop)
        if pool is None:
            pool = self._pools[loop] = AsyncConnectionPool(
                kwargs=_connection_kwargs(),
                min_size=1,
                max_size=settings.HEARTBEAT_INTAKE_CONNECTIONS,
                timeout=settings.DATABASES["default"]["OPTIONS"]["pool"]["timeout"],
                open=False,
            )
            await pool.open()
        return pool

    def _writer(self, pool: AsyncConnectionPool) -> _Writer:
        loop = asyncio.get_running_loop()
        writer = self._writers.get(loop)
        if writer is None:
            writer = self._writers[loop] = _Writer(pool)
        return writer

    async def flush_limits(self) -> None:
        """Add this process's rate-limit counts to Redis now (tests; a task does it 10 times a
        second)."""
        await self.limits.flush(self._redis)

    async def aclose(self) -> None:
        """Close this loop's connections (tests, before the test database is dropped)."""
        self._writers.pop(asyncio.get_running_loop(), None)
        pool = self._pools.pop(asyncio.get_running_loop(), None)
        if pool is not None:
            await pool.close()
        await self.limits.stop()
        await self._redis.aclose()


def _connection_kwargs() -> dict:
    """Django's own connection settings, for psycopg's async connection, in autocommit (one
    statement, committed before the 202)."""
    db = settings.DATABASES["default"]
    kwargs = {
        key: value
        for key, value in db.get("OPTIONS", {}).items()
        if key not in {"pool", "isolation_level", "server_side_binding", "assume_role"}
    }
    # The same few statements thousands of times a second: prepared, PostgreSQL plans them
    # once per connection. Off (None) for a pooler that cannot keep prepared statements.
    kwargs["prepare_threshold"] = 0 if settings.HEARTBEAT_INTAKE_PREPARED else None
    for key, name in (
        ("dbname", "NAME"),
        ("user", "USER"),
        ("password", "PASSWORD"),
        ("host", "HOST"),
        ("port", "PORT"),
    ):
        if db.get(name):
            kwargs[key] = db[name]
    return {**kwargs, "autocommit": True, "application_name": APPLICATION_NAME}


def _static_headers(path: str) -> list[tuple[bytes, bytes]]:
    """What Django's middleware and DRF add to the view's 202 (a test holds them equal)."""
    headers = [(b"allow", b"POST, OPTIONS")]
    if "corsheaders" in settings.INSTALLED_APPS and re.match(settings.CORS_URLS_REGEX, path):
        headers.append((b"vary", b"origin"))  # django-cors-headers varies every API answer
    if "csp" in settings.INSTALLED_APPS:  # django-csp's policy rides on every response
        from csp.utils import build_policy

        headers.append((b"content-security-policy", build_policy().encode()))
    if settings.X_FRAME_OPTIONS:
        headers.append((b"x-frame-options", settings.X_FRAME_OPTIONS.encode()))
    if settings.SECURE_CONTENT_TYPE_NOSNIFF:
        headers.append((b"x-content-type-options", b"nosniff"))
    if settings.SECURE_REFERRER_POLICY:
        headers.append((b"referrer-policy", settings.SECURE_REFERRER_POLICY.encode()))
    if settings.SECURE_CROSS_ORIGIN_OPENER_POLICY:
        headers.append((b"cross-origin-opener-policy", settings.SECURE_CROSS_ORIGIN_OPENER_POLICY.encode()))
    if settings.SECURE_HSTS_SECONDS:  # only ever sent over HTTPS (``_ordinary``)
        hsts = f"max-age={settings.SECURE_HSTS_SECONDS}"
        if settings.SECURE_HSTS_INCLUDE_SUBDOMAINS:
            hsts += "; includeSubDomains"
        if settings.SECURE_HSTS_PRELOAD:
            hsts += "; preload"
        headers.append((b"strict-transport-security", hsts.encode()))
    return headers


def _ordinary(scope, headers: dict) -> bool:
    """A tracker's plain request, judged by its headers alone (the body is not read yet)."""
    if not headers.get(b"authorization", b"").startswith(b"Bearer "):
        return False
    if b"idempotency-key" in headers or b"origin" in headers:  # replays and browsers: Django
        return False
    if not headers.get(b"content-type", b"").startswith(b"application/json"):
        return False
    try:
        if int(headers.get(b"content-length", b"")) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            return False
    except ValueError:
        return False
    host, _ = split_domain_port(headers.get(b"host", b"").decode("latin-1"))
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return False
    return _secure(scope, headers) or not (settings.SECURE_SSL_REDIRECT or settings.SECURE_HSTS_SECONDS)


def _secure(scope, headers: dict) -> bool:
    if scope.get("scheme") == "https":
        return True
    proxy = settings.SECURE_PROXY_SSL_HEADER
    if not proxy:
        return False
    name = proxy[0].removeprefix("HTTP_").replace("_", "-").lower().encode()
    return headers.get(name, b"").decode("latin-1") == proxy[1]


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
        rows = await (await conn.execute(ONLY_COMPANY_SQL, [user_id])).fetchall()
    if len(rows) != 1:
        raise _Fallback  # none (404) or several with none named (400): the view says so
    return rows[0][0]


class _Writer:
    """One statement at a time per process: requests that arrive while it runs go in the next
    one together. Under load that turns a statement and a commit per request into one per
    handful; idle, a request waits for nothing."""

    def __init__(self, pool: AsyncConnectionPool):
        self.pool = pool
        self.queue: list[tuple[dict, list[tuple], asyncio.Future]] = []
        self.running = False
        self.statements = 0  # how many statements stored how many requests: tests, metrics
        self.requests = 0

    async def store(self, request: dict, rows: list[tuple]) -> bool:
        """Whether the request's rows went in (all of them, committed); ``_StoreFailed`` if
        the statement failed (it may have committed: the client is told to retry, and the
        request is not handed on)."""
        done = asyncio.get_running_loop().create_future()
        self.queue.append((request, rows, done))
        if not self.running:
            self.running = True
            asyncio.get_running_loop().create_task(self._drain())
        return await done

    async def _drain(self) -> None:
        try:
            while self.queue:
                batch, self.queue = self.queue, []
                try:
                    stored = await self._insert(batch)
                except Exception as exc:
                    for _request, _rows, done in batch:
                        if not done.done():
                            failure = _StoreFailed()
                            failure.__cause__ = exc
                            done.set_exception(failure)
                    continue
                for n, (_request, _rows, done) in enumerate(batch):
                    if not done.done():  # the client may have gone: its task was cancelled
                        done.set_result(n in stored)
        finally:
            self.running = False

    async def _insert(self, batch) -> set[int]:
        requests, rows = [], []
        for n, (request, request_rows, _done) in enumerate(batch):
            requests.append({**request, "req": n})
            rows.extend({"req": n, **{name: _plain(row[i]) for name, i in _JSON_FIELDS}} for row in request_rows)
        params = {"requests": json.dumps(requests), "rows": json.dumps(rows), "now": timezone.now()}
        try:
            async with self.pool.connection() as conn:
                stored = {req for (req,) in await (await conn.execute(INSERT_SQL, params)).fetchall()}
        except Exception:
            # A restarted server breaks every pooled connection: drop them all now, so the
            # client's retry finds a fresh one instead of the next broken one.
            await self.pool.check()
            raise
        self.statements += 1
        self.requests += len(batch)
        return stored


def _token_claims(raw: bytes) -> tuple[str, str]:
    """(user id, session id) of a valid access token (accounts' one check, remembered until it
    expires). Whether its session is still live is the insert's business."""
    claims = access_claims(raw)
    if claims is None:
        raise _Fallback
    return claims.user_id, claims.session_id


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


_JSON_FIELDS = [
    (name, heartbeats.INBOX_COLUMNS.index(column))
    for name, column in (
        ("ts", "timestamp"),
        ("dur", "duration"),
        ("app", "app"),
        ("title", "title"),
        ("url", "url"),
        ("domain", "domain"),
    )
]
