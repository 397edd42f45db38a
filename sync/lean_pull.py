"""The lean path for ``GET /api/v1/sync/changes`` (docs/sync.md, "Serving the pull").

Every tracker polls the change log all day, and most polls find nothing new. Through Django's
stack a pull cost about 1.6 ms of CPU beyond its SQL (middleware, DRF, a2wsgi's thread hop, two
Redis round trips for the session and the rate limit, two PostgreSQL round trips), which put
the pull of 100 changes at 2-2.5x TimeTagger's (docs/benchmarks.md). This ASGI app answers the
ordinary pull on daphne's event loop, in one PostgreSQL round trip.

What it shares with the view, and what is its own. The one statement is the view's own
statements put together: the session check (``accounts.tokens.LIVE_SESSION_SQL``, what the
cached ``session_is_live`` answers), the log's state with the caller's memberships
(``sync.selectors.pull_start_statement``) and the page (``change_rows_statement``: the role
rules, compiled by the ORM). The page's rows are read with the memberships this user had on
their last pull; when the statement finds they changed, the page is read again with the
current ones. The JSON is the view's (``changes_page_json``), the rate limit the view's
``SyncThrottle`` scopes counted per process (``common.throttling.LocalCounts``, as the
heartbeat intake does), the headers, log line and metrics are the ones Django's stack writes.

It only takes the happy path: a session token, no Origin or cookie, a query of ``cursor`` and
``limit`` the serializer would take as they are, a cursor the log still holds, nothing waiting
to be numbered. Everything else (401, 410, 400, 429, a personal token, a browser, an error) is
Django's to answer, and the tests hold the two paths' answers equal."""

from __future__ import annotations

import json
import time
from typing import cast

import structlog
from django.conf import settings
from django.urls import reverse
from psycopg_pool import AsyncConnectionPool
from redis.asyncio import Redis
from rest_framework.fields import IntegerField

from accounts.authentication import touch_last_seen_soon
from accounts.tokens import LIVE_SESSION_SQL, access_claims
from changelog.selectors import cursor_gone
from common import lean, throttling
from common.csp import security_headers
from common.metrics import observe_request
from common.middleware import log_request, request_id_for
from sync import selectors
from sync.api.serializers import ChangesQuerySerializer, changes_page, changes_page_json
from sync.api.views import ChangesView

logger = structlog.get_logger("stint.request")

_NO_UPPER_BOUND = 2**62  # the page is cut at the head in Python: the head is read in the same statement
_MAX_REMEMBERED = 100_000
_POOL_WAIT_SECONDS = 1.0  # the lean pool busy (a heartbeat burst) that long: Django's pool answers
_FIELDS = ChangesQuerySerializer().fields


class _Fallback(Exception):
    """Not the ordinary pull: let Django answer it."""


class LeanPull:
    """ASGI middleware: serves the ordinary changes pull itself, passes everything else to
    ``fallback``."""

    def __init__(self, fallback, limits: throttling.LocalCounts | None = None):
        self.fallback = fallback
        self.view_name = "sync-changes"
        self.path = reverse(self.view_name)
        limit = cast(IntegerField, _FIELDS["limit"])
        self.limits_range = (limit.min_value or 1, limit.max_value or 1, cast(int, limit.default))
        self.shapes: dict[str, tuple] = {}  # user id -> the memberships of their last pull
        self._redis = Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        # The process's counts of the sync scopes: config.asgi gives both lean paths one.
        self.limits = limits or throttling.LocalCounts()
        self.scopes = throttling.SyncThrottle.scopes  # the view's throttle, counted here
        # What DRF (Allow, Vary) and our middleware add to the view's 200 (a test holds them equal).
        view = ChangesView()
        view.head = view.get  # type: ignore[attr-defined]  # as View.setup() does: Allow names HEAD
        drf = list(view.default_response_headers.items())
        self._static_headers = {
            secure: _merged_vary(drf + security_headers(path=self.path, secure=secure)) for secure in (False, True)
        }
        self.answered = 0  # pulls this path answered itself (the rest went to Django)

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != self.path or scope["method"] != "GET" or not settings.LEAN_PULL:
            return await self.fallback(scope, receive, send)
        headers = dict(scope["headers"])
        if len(headers) != len(scope["headers"]):  # a repeated header: Django's to join or refuse
            return await self.fallback(scope, receive, send)
        secure = lean.is_secure(scope, headers)
        ordinary = lean.plain_tracker_request(headers, secure=secure) and b"cookie" not in headers
        if not ordinary or not _json_accepted(headers):
            return await self.fallback(scope, receive, send)
        started = time.perf_counter()
        try:
            cursor, limit = self._query(scope.get("query_string", b""))
            user_id, body = await self._page(headers[b"authorization"][7:].strip(), cursor, limit)
        except _Fallback:
            return await self.fallback(scope, receive, send)
        except Exception:  # a hiccup before anything was sent: Django's view answers as ever
            logger.warning("lean_pull_failed", exc_info=True)
            return await self.fallback(scope, receive, send)
        self.answered += 1
        request_id = request_id_for(headers.get(b"x-request-id", b"").decode("latin-1"))
        response_headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            (b"x-request-id", request_id.encode()),
            *self._static_headers[secure],
        ]
        await send({"type": "http.response.start", "status": 200, "headers": response_headers})
        await send({"type": "http.response.body", "body": body})
        seconds = time.perf_counter() - started
        observe_request(view=self.view_name, method="GET", status=200, seconds=seconds)
        log_request(method="GET", path=self.path, status=200, seconds=seconds, request_id=request_id, user_id=user_id)

    def _query(self, query_string: bytes) -> tuple[int | None, int]:
        """``cursor`` and ``limit`` as ``ChangesQuerySerializer`` takes them, written as plain
        digits; any other query is the view's."""
        lowest, highest, default = self.limits_range
        values: dict[str, int] = {}
        for part in query_string.split(b"&") if query_string else ():
            name, _, raw = part.partition(b"=")
            key = name.decode("latin-1")
            if key not in _FIELDS or key in values or not raw.isdigit() or len(raw) > 18:
                raise _Fallback
            values[key] = int(raw)
        limit = values.get("limit", default)
        if not lowest <= limit <= highest:
            raise _Fallback
        return values.get("cursor"), limit

    async def _page(self, token: bytes, cursor: int | None, limit: int) -> tuple[str, bytes]:
        claims = access_claims(token)  # accounts' one token check
        if claims is None:
            raise _Fallback
        user_id = claims.user_id
        pool = await self._pool()
        guess = self.shapes.get(user_id)
        state_sql, state_params = selectors.pull_start_statement(user_id)  # a session token acts in every company
        # The memberships as text: the page's rows repeat the state's columns, parsed once below.
        sql = (
            f"SELECT {LIVE_SESSION_SQL} AS live, ps0.head, ps0.pruned_below, ps0.unnumbered, "
            f"ps0.memberships::text AS memberships FROM ({state_sql}) ps0"
        )
        params = [claims.session_id, user_id, *state_params]
        if guess and cursor is not None:  # (no memberships, no page to read)
            rows_sql, rows_params = self._rows_statement(guess, cursor, limit)
            sql = (
                f"WITH st AS ({sql}) SELECT st.*, c.* FROM st LEFT JOIN LATERAL ({rows_sql}) c ON st.live "
                "ORDER BY c.cursor"
            )
            params += rows_params
        async with pool.connection(timeout=_POOL_WAIT_SECONDS) as conn:
            found = await (await conn.execute(sql, params)).fetchall()
            live, head, pruned_below, unnumbered, memberships = found[0][:5]
            if not live or unnumbered:
                raise _Fallback  # 401, or changes to number first: the view's
            touch_last_seen_soon(claims.session_id)  # a live session's, as the view's
            head, pruned_below = head or 0, pruned_below or 0  # as selectors.pull_start reads them
            if cursor is None:
                return self._counted(user_id, changes_page_json([], head, False))
            if cursor_gone(cursor, head=head, pruned_below=pruned_below):
                raise _Fallback  # the view's 410
            shape = selectors.shape_of(json.loads(memberships))
            self._remember(user_id, shape)
            if cursor == head or not shape:
                return self._counted(user_id, changes_page_json([], head, False))
            if shape == guess:
                rows = [row[5:] for row in found if row[5] is not None]
            else:  # first pull of this process, or the memberships changed: read with the current ones
                rows_sql, rows_params = self._rows_statement(shape, cursor, limit)
                rows = await (await conn.execute(rows_sql, rows_params)).fetchall()
        # Read with no upper bound (the head comes from the same statement): cut at the head.
        return self._counted(user_id, changes_page([row for row in rows if row[0] <= head], limit=limit, head=head))

    def _counted(self, user_id: str, body: bytes) -> tuple[str, bytes]:
        """Count the pull against the view's sync limits now that this path answers it (a live
        session's, as the view counts: a signed-out device never uses up its user's limits;
        one handed to the view is counted there alone), or hand it on to answer 429."""
        self.limits.start(self._redis)
        if self.limits.check([(scope, user_id) for scope in self.scopes]) is not None:
            raise _Fallback  # the view counts it too (the window is full anyway) and answers 429
        return user_id, body

    @staticmethod
    def _rows_statement(shape: tuple, cursor: int, limit: int) -> tuple[str, list]:
        return selectors.change_rows_statement(shape=shape, after=cursor, upto=_NO_UPPER_BOUND, limit=limit + 1)

    def _remember(self, user_id: str, shape: tuple) -> None:
        if self.shapes.get(user_id) != shape:
            if len(self.shapes) >= _MAX_REMEMBERED:
                self.shapes.clear()  # bounded memory; at worst one more round trip per user
            self.shapes[user_id] = shape

    async def _pool(self) -> AsyncConnectionPool:
        return await lean.loop_pool()  # the heartbeat intake's too

    async def flush_limits(self) -> None:
        await self.limits.flush(self._redis)

    async def aclose(self) -> None:
        """Close this loop's connections (tests, before the test database is dropped)."""
        await lean.close_loop_pool()
        await self.limits.stop()
        await self._redis.aclose()


def _json_accepted(headers: dict) -> bool:
    """DRF's content negotiation would pick the JSON renderer, as it is (no ``indent``)."""
    accept = headers.get(b"accept", b"*/*").replace(b" ", b"")
    return all(media in (b"*/*", b"application/json", b"application/*") for media in accept.split(b","))


def _merged_vary(headers: list[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """As ASGI headers, the ``Vary`` values joined into one header, as Django's
    ``patch_vary_headers`` writes them (DRF's ``Accept``, then CORS's ``origin``)."""
    vary = [value for name, value in headers if name.lower() == "vary"]
    others = [(name.lower().encode(), value.encode()) for name, value in headers if name.lower() != "vary"]
    return others + ([(b"vary", ", ".join(vary).encode())] if vary else [])
