"""Number committed changes in commit order, then publish them to their sockets.

Two steps under two advisory locks: numbering (cheap: gives committed rows their cursors, in
commit order) and publishing (sends numbered rows to the channel layer in cursor order, past
the ``published_upto`` watermark, by one process at a time). The locks are transaction-scoped
(``pg_advisory_xact_lock``), each round one short transaction that takes its lock, does one
batch and commits, which releases it: behind PgBouncer in transaction mode a session-level lock
would live on whichever server connection ran it, so another client handed that connection
could take it again, and an unlock sent through another connection would leave it held for good.

Numbering waits for its lock: every committer numbers after its own commit, in a round whose
snapshot is taken after the lock, so it sees its own rows (and every earlier commit) and numbers
them, or finds them numbered by the holder before it. No committer relies on another to come
back for its rows, so there is no pre-check and no re-check of the queue (each was a scan of its
index). Publishing does not wait: a caller that finds its lock taken returns at once, and the
holder re-checks for work after its commit, so nothing numbered meanwhile is stranded. A crash
leaves work that the next call picks up (beat calls it every few seconds); a crash mid-publish
re-sends a few events, which sockets drop by cursor."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from django.db import connection, transaction
from django.dispatch import Signal

from changelog import audience, publishing
from changelog.models import Change, SyncState
from common.redis import get_client, key

logger = structlog.get_logger(__name__)
NUMBER_LOCK = 0x5354494E54  # "STINT"
PUBLISH_LOCK = 0x5354494E55
BATCH = 2000

# Sent after each batch of changes went to the sockets, with ``changes`` (in cursor order): how
# apps above the log hear of new changes without the log importing them (webhooks kick their
# feeder here). Receivers must be cheap (this runs in the committing request) and must not
# raise: ``send_robust`` logs and drops what they raise.
changes_published = Signal()


def _try_lock(lock: int) -> bool:
    """Inside the caller's transaction: held until it commits or rolls back."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock])
        return cursor.fetchone()[0]


def _unpublished() -> bool:
    state = SyncState.objects.filter(pk=1).first()
    return state is not None and state.published_upto < state.head


# One statement, one round trip: take the oldest committed unnumbered rows, advance the head
# by their count and give them head+1.. in id order. The advisory lock makes this the only
# numberer; its READ COMMITTED snapshot is taken after the lock, so it sees the previous
# holder's commit. With nothing to number it writes nothing (no state row version, no WAL to
# flush at commit): the second value is then true, as there was no row to miss.
_NUMBER_SQL = """
WITH todo AS (
    SELECT id, row_number() OVER (ORDER BY id) AS n
    FROM sync_change WHERE cursor IS NULL ORDER BY id LIMIT %s
), state AS (
    UPDATE sync_syncstate SET head = head + (SELECT count(*) FROM todo)
    WHERE id = 1 AND EXISTS (SELECT 1 FROM todo) RETURNING head - (SELECT count(*) FROM todo) AS base
), numbered AS (
    UPDATE sync_change c SET cursor = state.base + todo.n FROM todo, state WHERE c.id = todo.id RETURNING 1
)
SELECT (SELECT count(*) FROM numbered), EXISTS (SELECT 1 FROM state) OR NOT EXISTS (SELECT 1 FROM todo)
"""


def _number_batch() -> int:
    """One numbering round, one round trip: wait for the lock, then number up to BATCH committed
    changes; returns how many. Sent as one multi-statement query, which PostgreSQL runs as one
    implicit transaction (the lock is held to its end, and a failure rolls back all of it),
    each statement with its own READ COMMITTED snapshot, so the numbering's is taken after the
    lock. Inside a caller's transaction the lock is held until that one ends."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_advisory_xact_lock(%s); {_NUMBER_SQL}", [NUMBER_LOCK, BATCH])
        cursor.nextset()
        count, has_state = cursor.fetchone()
    if not has_state:  # a fresh (or flushed) database: create the one row, then number
        SyncState.objects.get_or_create(pk=1)
        return _number_batch()
    return count


MAX_ROUNDS = 3  # per call: under steady writes there is always more, and a request must answer


def _run_exclusively(lock: int, has_work: Callable[[], bool], step: Callable[[], int]) -> int:
    """Do the work under ``lock``, one transaction per round (the commit releases the lock);
    re-check after it so a commit that raced our release is not stranded. Bounded: under
    steady load the holder would otherwise keep working for everyone (a request stalled 13 s
    in the benchmark); what it leaves is taken by the next committer's flush, or by beat
    within 5 s."""
    done = 0
    for _ in range(MAX_ROUNDS):
        if not has_work():  # outside a transaction: an idle check opens none
            return done
        with transaction.atomic():
            if not _try_lock(lock):
                return done  # the holder picks our work up after its commit
            done += step()  # one batch per round
    return done


def number_pending() -> int:
    """Give every committed, unnumbered change its cursor (this caller's own commits
    included, when it returns); returns how many it numbered."""
    if connection.in_atomic_block:
        # Numbering inside a transaction could give this transaction's rows cursors that
        # become visible after a reader passed them. Its on-commit flush will do it.
        return 0
    done = 0
    for _ in range(MAX_ROUNDS):
        numbered = _number_batch()  # waits for the holder, whose round is one short statement
        done += numbered
        if numbered < BATCH:  # everything committed before this round's snapshot has a cursor
            return done
    return done  # a backlog past MAX_ROUNDS batches: the next committer's round, or beat's


def _publish_batch() -> int:
    # No row lock while sending: the publish advisory lock already makes this the only
    # publisher, and holding SyncState FOR UPDATE here would stall every numbering (and so
    # every write's answer) for as long as thousands of events take to send. The transaction
    # stays open while sending (it holds the lock), but writes only the watermark, at its end.
    state = SyncState.objects.get(pk=1)
    # Quiet changes (a bulk import's) are passed over: the watermark moves past them unsent.
    pending = Change.objects.filter(cursor__gt=state.published_upto, cursor__lte=state.head, quiet=False)
    changes = list(pending.order_by("cursor")[:BATCH])
    # A short batch is everything numbered up to the head: the watermark may go there.
    upto = state.head if len(changes) < BATCH else changes[-1].cursor or state.head  # (numbered: never None)
    if upto <= state.published_upto:
        return 0
    publish(changes)
    SyncState.objects.filter(pk=1).update(published_upto=upto)
    if changes:  # after the watermark commits: a receiver's failure cannot undo it (nor hold the lock)
        transaction.on_commit(lambda: _tell_receivers(changes))
    return len(changes)


def _tell_receivers(changes: list[Change]) -> None:
    for receiver, result in changes_published.send_robust(sender=Change, changes=changes):
        if isinstance(result, Exception):
            logger.error("changes_published_receiver_failed", receiver=repr(receiver), error=str(result)[:200])


def publish_pending() -> int:
    """Send every numbered, unpublished change to its groups, in cursor order."""
    if connection.in_atomic_block:
        return 0
    return _run_exclusively(PUBLISH_LOCK, _unpublished, _publish_batch)


def sequence_and_publish() -> int:
    """Number, then publish: what runs after a write commits (and on the beat)."""
    number_pending()
    return publish_pending()


EVENTS_PER_MESSAGE = 200


def publish(changes: list[Change]) -> None:
    """Send changes to their audiences' groups, in cursor order: one channel message per group
    per chunk of events (a 1,000-item batch is a few messages per group, not thousands of
    Redis commands). Each message carries the cursor last sent to that group before it, so a
    socket that lost one (channels-redis drops past a channel's capacity) sees the gap and
    fills it from the change log."""
    if not changes:
        return
    routes = audience.groups_for(changes)
    per_group: dict[str, list[dict]] = {}
    for change in changes:
        event = publishing.envelope(
            event=change.event, cursor=change.cursor, company_id=change.company_id, data=change.payload, at=change.at
        )
        for group in routes[change.id]:
            per_group.setdefault(group, []).append(event)
    last_key = key("realtime", "group-last")
    groups = sorted(per_group)
    redis = get_client()
    last = {g: int(v) if v is not None else None for g, v in zip(groups, redis.hmget(last_key, groups), strict=True)}
    messages: list[tuple[str, dict]] = []
    for group in groups:
        events = per_group[group]
        for start in range(0, len(events), EVENTS_PER_MESSAGE):
            chunk = events[start : start + EVENTS_PER_MESSAGE]
            messages.append(
                (group, {"type": publishing.EVENTS_MESSAGE, "events": chunk, "group": group, "prev": last[group]})
            )
            last[group] = chunk[-1]["cursor"]
    try:
        publishing.send_messages(messages)
    except Exception:  # sockets can catch up from the log; the changes themselves are durable
        logger.exception("realtime_publish_failed", changes=len(changes))
    redis.hset(last_key, mapping={g: c for g, c in last.items() if c is not None})
