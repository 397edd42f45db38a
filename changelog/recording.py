"""The one function domain apps call to record a change (ARCHITECTURE 7): a row in the
change log, inside the caller's transaction, numbered and published after commit."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from changelog import sequencer
from changelog.catalogue import Event, P
from changelog.models import Change
from common.bulk import allocate_ids, copy_rows

# Ids of the changes recorded while a collector is active (the sync batch wants its own).
_collector: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("change_collector", default=None)


@dataclass(frozen=True)
class ChangeSpec:
    """One change to record in bulk; build it with ``spec``."""

    company_id: object
    entity: str
    entity_id: object
    action: str
    event: str
    payload: Mapping[str, Any]
    user_id: object = None
    project_id: object = None


def spec(event: Event[P], *, company_id, entity_id, payload: P, user_id=None, project_id=None) -> ChangeSpec:
    """A change of ``event`` (its name, entity and action are the catalogue's)."""
    if event.entity is None or event.action is None:
        raise ValueError(f"{event.name} is not recorded in the change log")
    return ChangeSpec(
        company_id=company_id,
        entity=event.entity,
        entity_id=entity_id,
        action=event.action,
        event=event.name,
        payload=payload,
        user_id=user_id,
        project_id=project_id,
    )


# The columns record_changes fills; cursor stays NULL (the sequencer's) and quiet false (its db_default).
_BULK_COLUMNS = ["id", "company_id", "entity", "entity_id", "action", "event", "payload", "user_id", "project_id", "at"]


def record_changes(specs: list[ChangeSpec]) -> list[int]:
    """Many changes in one COPY (the sync batch's bulk path); same rules as ``record``. Plain
    rows rather than 1,000 ``Change`` instances (whose construction cost more than the COPY);
    the payload is prepared by the model's own field, as ``create`` would. Returns their ids."""
    now = timezone.now()
    ids = allocate_ids(Change, len(specs))
    db = transaction.get_connection()
    payload = Change._meta.get_field("payload")
    rows = [
        (pk, s.company_id, s.entity, s.entity_id, s.action, s.event, payload.get_db_prep_save(s.payload, db))
        + (s.user_id, s.project_id, now)
        for pk, s in zip(ids, specs, strict=True)
    ]
    copy_rows(Change, _BULK_COLUMNS, rows)
    _recorded(ids)
    return ids


def record_quietly(event: Event[P], *, rows_sql: str, params: list) -> int:
    """Changes of ``event`` in one ``INSERT ... SELECT`` (a bulk import: no row leaves the
    database), recorded quiet: numbered and pulled like any other, never published to
    sockets (a million events for one import). ``rows_sql`` yields ``company_id, user_id,
    project_id, entity_id, payload`` (the payload as ``event`` defines it, built in SQL by the
    entity's own builder), in the order to number them; returns how many it recorded."""
    if event.entity is None or event.action is None:
        raise ValueError(f"{event.name} is not recorded in the change log")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sync_change (company_id, user_id, project_id, entity_id, payload, entity, action, event, at,"
            f" quiet) SELECT q.*, %s, %s, %s, %s, true FROM ({rows_sql}) q RETURNING id",
            [event.entity, event.action, event.name, timezone.now(), *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    _recorded(ids)
    return len(ids)


def _recorded(ids: list[int]) -> None:
    """What follows every insert into the log: the collector learns the ids, and the
    transaction's commit will number and publish them."""
    collected = _collector.get()
    if collected is not None:
        collected.extend(ids)
    _flush_after_commit()


def record(event: Event[P], *, company_id, entity_id, payload: P, user_id=None, project_id=None) -> Change:
    """Append a change of ``event`` to the change log inside the caller's transaction; it is
    numbered and published to sockets after commit (a rollback leaves no trace, a crash after
    commit leaves an unsequenced row that the next sequencer or the beat safety net picks up).
    ``user_id``: whose data it is (user-data and private events); ``project_id``: the project
    whose audience receives it (project-structure events)."""
    row = spec(
        event, company_id=company_id, entity_id=entity_id, payload=payload, user_id=user_id, project_id=project_id
    )
    change = Change.objects.create(**vars(row), at=timezone.now())
    _recorded([change.id])
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
    sequencer.sequence_and_publish()
