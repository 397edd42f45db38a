"""Number committed changes in commit order, then publish them to their sockets.

One sequencer at a time, under a session-level advisory lock held across numbering, commit
and publishing, so cursors follow commit order and every group sees its events in cursor
order. Callers that find the lock taken return at once: the holder re-checks for pending rows
after releasing it, so a row committed while it worked is never stranded. Anything left over
by a crash is picked up by the next call (beat calls it every few seconds)."""

from __future__ import annotations

import structlog
from django.db import connection, transaction

from common.redis import get_client, key
from sync import audience, realtime
from sync.models import Change, SyncState

logger = structlog.get_logger(__name__)
LOCK_ID = 0x5354494E54  # "STINT": the sequencer's advisory lock
BATCH = 2000


def _try_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_ID])
        return cursor.fetchone()[0]


def _unlock() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_ID])


def _pending() -> bool:
    return Change.objects.filter(cursor__isnull=True).exists()


@transaction.atomic
def _number_batch() -> list[Change]:
    ids = list(Change.objects.filter(cursor__isnull=True).order_by("id").values_list("id", flat=True)[:BATCH])
    if not ids:
        return []
    state, _ = SyncState.objects.select_for_update().get_or_create(pk=1)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE sync_change c SET cursor = %s + t.n FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(id, n) "
            "WHERE c.id = t.id",
            [state.head, ids],
        )
    state.head += len(ids)
    state.save(update_fields=["head"])
    return list(Change.objects.filter(id__in=ids).order_by("cursor"))


def sequence_and_publish() -> int:
    """Number and publish every committed, unnumbered change; returns how many."""
    if connection.in_atomic_block:
        # Numbering inside a transaction could give this transaction's rows cursors that
        # become visible after a reader passed them. Its on-commit flush will do it.
        return 0
    done = 0
    while _pending():
        if not _try_lock():
            return done  # the holder will pick our rows up after it releases
        try:
            while batch := _number_batch():
                done += len(batch)
                publish(batch)
        finally:
            _unlock()
    return done


def publish(changes: list[Change]) -> None:
    """Send each change to its audience's groups, in cursor order. Each message carries the
    previous cursor sent to that group, so a socket that lost messages (channels-redis drops
    past a channel's capacity) sees the gap and fills it from the change log."""
    if not changes:
        return
    routes = audience.groups_for(changes)
    last_key = key("realtime", "group-last")
    groups = sorted({g for gs in routes.values() for g in gs})
    redis = get_client()
    last = dict(zip(groups, redis.hmget(last_key, groups), strict=True)) if groups else {}
    messages: list[tuple[str, dict]] = []
    for change in changes:
        event = realtime.envelope(
            event=change.event, cursor=change.cursor, company_id=change.company_id, data=change.payload, at=change.at
        )
        for group in routes[change.id]:
            prev = last.get(group)
            messages.append(
                (
                    group,
                    {
                        "type": realtime.EVENT_MESSAGE,
                        "event": event,
                        "group": group,
                        "prev": int(prev) if prev is not None else None,
                    },
                )
            )
            last[group] = change.cursor
    try:
        _send_all(messages)
    except Exception:  # sockets can catch up from the log; the change itself is durable
        logger.exception("realtime_publish_failed", changes=len(changes))
    if last:
        redis.hset(last_key, mapping={g: c for g, c in last.items() if c is not None})


def _send_all(messages: list[tuple[str, dict]]) -> None:
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def _send():
        for group, message in messages:
            await layer.group_send(group, message)

    async_to_sync(_send)()
