"""The one module that names realtime groups and shapes events (ARCHITECTURE: 7-8), and the
one function domain apps call to record a change. It imports no domain app.

Groups (channels group names):
    u.<user>               the user's own devices
    c.<company>.managers   OWNER, ADMIN and MANAGER dashboards of a company
    c.<company>.all        every active member (projects without teams, their tasks)
    t.<team>.leads         the team's LEADs (their members' entries)
    t.<team>.all           the team's members (projects of that team, their tasks)
    s.<session>            one device session's sockets (closed when it is revoked)

Server -> client envelope: {"type": EVENT, "cursor": N, "company_id": ..., "data": {...}, "at": ...}
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
import threading
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from common.bulk import allocate_ids, copy_insert
from sync.models import Change

# Ids of the changes recorded while a collector is active (the sync batch wants its own).
_collector: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("change_collector", default=None)

# Entities only their user sees in the change log and on sockets (an export's report.ready:
# other people's exports are not a manager's business, whatever their role).
PRIVATE_ENTITIES = frozenset({"report_export"})
# A member's own data (their entries, their screenshots): read by whoever may read that member's
# data (SPEC roles: managers, their team's LEADs, themselves).
USER_DATA_ENTITIES = frozenset({"time_entry", "screenshot"})

EVENT_MESSAGE = "realtime.event"  # the consumer method that forwards an event to the socket
EVENTS_MESSAGE = "realtime.events"  # several events of one group, in cursor order
CONTROL_MESSAGE = "realtime.control"  # close a socket (session revoked, membership changed)


def user_group(user_id) -> str:
    return f"u.{user_id}"


def company_managers_group(company_id) -> str:
    return f"c.{company_id}.managers"


def company_all_group(company_id) -> str:
    return f"c.{company_id}.all"


def team_leads_group(team_id) -> str:
    return f"t.{team_id}.leads"


def team_all_group(team_id) -> str:
    return f"t.{team_id}.all"


def session_group(session_id) -> str:
    return f"s.{session_id}"


def envelope(*, event: str, cursor: int | None, company_id, data: dict, at: datetime) -> dict:
    return {
        "type": event,
        "cursor": cursor,
        "company_id": str(company_id) if company_id else None,
        "data": data,
        "at": at.isoformat().replace("+00:00", "Z"),
    }


@dataclass(frozen=True)
class ChangeSpec:
    company_id: object
    entity: str
    entity_id: object
    action: str
    event: str
    payload: dict
    user_id: object = None
    project_id: object = None


def record_changes(specs: list[ChangeSpec]) -> list[Change]:
    """Many changes in one INSERT (the sync batch's bulk path); same rules as record_change."""
    now = timezone.now()
    ids = allocate_ids(Change, len(specs))
    changes = [Change(id=pk, at=now, **vars(spec)) for pk, spec in zip(ids, specs, strict=True)]
    copy_insert(changes)
    collected = _collector.get()
    if collected is not None:
        collected.extend(c.id for c in changes)
    _flush_after_commit()
    return changes


def record_change(
    *,
    company_id,
    entity: str,
    entity_id,
    action: str,
    event: str,
    payload: dict,
    user_id=None,
    project_id=None,
) -> Change:
    """Append to the change log inside the caller's transaction; it is numbered and published
    to sockets after commit (a rollback leaves no trace, a crash after commit leaves an
    unsequenced row that the next sequencer or the beat safety net picks up)."""
    change = Change.objects.create(
        company_id=company_id,
        user_id=user_id,
        project_id=project_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        event=event,
        payload=payload,
        at=timezone.now(),
    )
    collected = _collector.get()
    if collected is not None:
        collected.append(change.id)
    _flush_after_commit()
    return change


@contextlib.contextmanager
def collect_changes():
    """Collect the ids of the changes recorded inside the block (rolled-back ones included:
    look them up again to keep the survivors)."""
    ids: list[int] = []
    token = _collector.set(ids)
    try:
        yield ids
    finally:
        _collector.reset(token)


def _flush_after_commit() -> None:
    """Register one flush per transaction. A callback registered inside a savepoint that rolls
    back is dropped by Django together with the savepoint, so checking for a live registration
    is safe; robust: a channel-layer outage after commit must not fail the request. Not while
    a sync batch runs: it finishes its changes itself, also when an Idempotency-Key makes the
    whole request one transaction (its commit would otherwise publish the batch inline)."""
    if _deferred.get():
        return
    connection = transaction.get_connection()
    if not any(callback is _flush for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(_flush, robust=True)


# The sync batch numbers and publishes its own changes (publishing on a worker); while one
# runs, the per-transaction flush stands aside.
_deferred: contextvars.ContextVar[bool] = contextvars.ContextVar("flush_deferred", default=False)


@contextlib.contextmanager
def flush_deferred():
    token = _deferred.set(True)
    try:
        yield
    finally:
        _deferred.reset(token)


def _flush() -> None:
    if _deferred.get():
        return
    from sync.sequencer import sequence_and_publish  # sync's upper layer: imported late, no cycle

    sequence_and_publish()


def send_to_groups(groups: list[str], message: dict) -> None:
    """Low-level: one message to several groups, from sync code (workers and web alike)."""
    send_messages([(group, message) for group in groups])


def send_messages(messages: list[tuple[str, dict]]) -> None:
    """Send ``(group, message)`` pairs in order, from sync code, on this process's layer loop."""
    if not messages:
        return
    from channels.layers import get_channel_layer

    layer = get_channel_layer()

    async def _send():
        for group, message in messages:
            await layer.group_send(group, message)

    asyncio.run_coroutine_threadsafe(_send(), _layer_loop()).result(timeout=LAYER_SEND_TIMEOUT)


# Sync code (WSGI threads, Celery tasks) sends through one event loop per process, kept on a
# daemon thread. ``async_to_sync`` from a thread without a loop would start a loop per call,
# and channels-redis keeps its connection pools per loop: every publish would open new Redis
# connections and close them again.
LAYER_SEND_TIMEOUT = 10.0
_loop_lock = threading.Lock()
_loop_state: dict[str, object] = {"loop": None, "pid": None}


def _layer_loop() -> asyncio.AbstractEventLoop:
    with _loop_lock:
        loop, pid = _loop_state["loop"], _loop_state["pid"]
        if loop is None or pid != os.getpid():  # none yet, or inherited across a fork
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="channel-layer-loop", daemon=True).start()
            _loop_state.update(loop=loop, pid=os.getpid())
        return loop
