"""The feeder's *make* step (``feeder``'s docstring): the next subscribed changes of the log
become PENDING delivery rows in one ``INSERT ... SELECT``, committed before anything is sent."""

from __future__ import annotations

from datetime import datetime

import psycopg
from django.db import connection

from changelog import catalogue
from changelog.models import Change, SyncState
from common.models import uuid7
from integrations.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, webhook_message_id
from integrations.webhooks.upkeep import set_endpoint

BATCH = 500  # changes made into deliveries, or deliveries sent, per step


def deliverable_events() -> tuple[str, ...]:
    """The change log's company events: everything logged and not private to one user
    (``report.ready``, ``sync.applied``); presence is never logged."""
    return tuple(e.name for e in catalogue.EVENTS if e.logged and e.audience is not catalogue.Audience.PRIVATE)


def subscribed(endpoint: WebhookEndpoint) -> list[str]:
    deliverable = deliverable_events()
    if "*" in endpoint.events:
        return list(deliverable)
    return [e for e in endpoint.events if e in deliverable]


def log_head() -> int:
    state = SyncState.objects.filter(pk=1).first()
    return state.head if state else 0


def start_cursor() -> int:
    """Where a new endpoint starts: the log's head (it hears of changes from its creation on)."""
    return log_head()


# The body of every delivery of a change, built once by PostgreSQL from the change log row:
# {type, timestamp, data}, ``timestamp`` as common.representation.utc_iso writes ``Change.at``
# (UTC, "Z", six fraction digits unless whole seconds). ON CONFLICT: the unique (endpoint,
# event_id): an existing row (a step rerun after a crash) keeps its webhook-id.
_MAKE_SQL = f"""
WITH todo AS (
    SELECT c.id, c.cursor, c.event, c.payload, c.at AT TIME ZONE 'UTC' AS utc,
           row_number() OVER (ORDER BY c.cursor) AS n
    FROM {Change._meta.db_table} c
    WHERE c.company_id = %(company)s AND c.cursor > %(after)s AND c.cursor <= %(head)s
      AND c.event = ANY(%(events)s)
    ORDER BY c.cursor LIMIT %(limit)s
), made AS (
    INSERT INTO {WebhookDelivery._meta.db_table} AS d
        (id, endpoint_id, event_id, cursor, webhook_id, type, payload, status, attempts,
         response_body, error, next_attempt_at, created_at, updated_at)
    SELECT (%(ids)s::uuid[])[n], %(endpoint)s, id, cursor, (%(webhook_ids)s::text[])[n], event,
           jsonb_build_object(
               'type', event,
               'timestamp', to_char(utc, 'YYYY-MM-DD"T"HH24:MI:SS')
                   || CASE WHEN date_trunc('second', utc) = utc THEN '' ELSE to_char(utc, '.US') END || 'Z',
               'data', payload),
           %(pending)s, 0, '', '', %(now)s, %(now)s, %(now)s
    FROM todo
    ON CONFLICT (endpoint_id, event_id) WHERE event_id IS NOT NULL DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM todo), (SELECT count(*) FROM made)
"""


def binding_cursor() -> psycopg.Cursor:
    """A psycopg cursor binding parameters server-side, on Django's connection (so inside its
    transaction): hundreds of array elements go as binary, not quoted one by one into the SQL
    text as Django's client-side cursor does (a third of the statement's cost). With
    ``prepare=False``: nothing prepared, so PgBouncer's transaction pooling is fine."""
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, psycopg.Connection)
    return psycopg.Cursor(raw)


def make_deliveries(endpoint: WebhookEndpoint, now: datetime) -> bool:
    """The next subscribed changes after the cursor become PENDING deliveries (committed with
    this step); with none, the cursor moves to the head (nothing in between concerns it).
    True when it found some (there may be more)."""
    head = log_head()
    after = endpoint.cursor or 0
    limit = max(0, min(BATCH, head - after))  # cursors are dense: no more rows than this
    found = 0
    if limit:
        ids = [uuid7() for _ in range(limit)]
        with binding_cursor() as cursor:
            cursor.execute(
                _MAKE_SQL,
                {
                    "company": endpoint.company_id,
                    "after": after,
                    "head": head,  # numbered in one statement with the head: all committed
                    "events": subscribed(endpoint),
                    "limit": limit,
                    "ids": ids,
                    "webhook_ids": [webhook_message_id(i) for i in ids],
                    "endpoint": endpoint.pk,
                    "pending": DeliveryStatus.PENDING.value,
                    "now": now,
                },
                prepare=False,
            )
            row = cursor.fetchone()
            assert row is not None
            found = row[0]
    if not found:
        if head > after:
            set_endpoint(endpoint, cursor=head)
        return False
    return True
