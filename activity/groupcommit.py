"""The lean heartbeat path's store (``activity.intake``): group commit over psycopg's async pool.

One statement at a time per process stores every request that queued while the previous one
ran, and per request inserts the rows only while the token's device session is live, the user
active and an active member of the company (and of no other, when the request names none),
and the privacy rules applied are the company's current ones. It is the one place the lean
path checks in SQL what Django's view checks through the ORM (accounts.authentication,
organizations' scoping, activity.privacy): on the event loop, those checks and the insert are
one round trip, or the path would be no faster than the view (docs/benchmarks.md)."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime

from django.utils import timezone
from psycopg_pool import AsyncConnectionPool

from accounts.models import DeviceSession, User
from activity.heartbeats import INBOX_COLUMNS
from activity.models import HeartbeatInbox
from organizations.models import Company, Membership

_M, _U = Membership._meta.db_table, User._meta.db_table
_C, _S = Company._meta.db_table, DeviceSession._meta.db_table
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


class StoreFailed(Exception):
    """The insert itself failed: not handed on, since it may have committed (503, retry)."""


class Writer:
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
        """Whether the request's rows went in (all of them, committed); ``StoreFailed`` if
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
                            failure = StoreFailed()
                            failure.__cause__ = exc
                            done.set_exception(failure)
                    continue
                for n, (_request, _rows, done) in enumerate(batch):
                    if not done.done():  # the client may have gone: its task was cancelled
                        done.set_result(n in stored)
        finally:
            self.running = False

    async def _insert(self, batch) -> set[int]:
        requests: list[dict] = []
        rows: list[dict] = []
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


def _plain(value):
    return value.isoformat() if isinstance(value, datetime) else value


_JSON_FIELDS = [
    (name, INBOX_COLUMNS.index(column))
    for name, column in (
        ("ts", "timestamp"),
        ("dur", "duration"),
        ("app", "app"),
        ("title", "title"),
        ("url", "url"),
        ("domain", "domain"),
    )
]
