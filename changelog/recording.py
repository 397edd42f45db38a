"""The one function domain apps call to record a change (ARCHITECTURE 7): a row in the
change log, inside the caller's transaction, numbered and published after commit."""

from __future__ import annotations

import contextlib
import contextvars

from django.db import connection, transaction
from django.utils import timezone

from changelog import sequencer
from changelog.catalogue import Event, P
from changelog.models import Change

# Ids of the changes recorded while a collector is active (the sync batch wants its own).
_collector: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("change_collector", default=None)


def record_selected(event: Event[P], *, rows_sql: str, params: list, quiet: bool = False) -> list[int]:
    """Changes of ``event`` in one ``INSERT ... SELECT``, built where the rows are (no row
    leaves the database: a sync batch's new entries, an import's): ``rows_sql`` yields
    ``company_id, user_id, project_id, entity_id, payload`` (the payload as ``event`` defines
    it, built in SQL by the entity's own builder), in the order to number them. ``quiet``: numbered
    and pulled like any other, never published to sockets (a million events for one import).
    Same rules as ``record``; returns the changes' ids."""
    entity, action = _logged(event)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO sync_change (company_id, user_id, project_id, entity_id, payload, entity, action, event, at,"
            f" quiet) SELECT q.*, %s, %s, %s, %s, %s FROM ({rows_sql}) q RETURNING id",
            [entity, action, event.name, timezone.now(), quiet, *params],
        )
        ids = [row[0] for row in cursor.fetchall()]
    _recorded(ids)
    return ids


def record_quietly(event: Event[P], *, rows_sql: str, params: list) -> int:
    """``record_selected``, quiet (a bulk import); returns how many it recorded."""
    return len(record_selected(event, rows_sql=rows_sql, params=params, quiet=True))


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
    entity, action = _logged(event)
    change = Change.objects.create(
        company_id=company_id,
        entity=entity,
        entity_id=entity_id,
        action=action,
        event=event.name,
        payload=payload,
        user_id=user_id,
        project_id=project_id,
        at=timezone.now(),
    )
    _recorded([change.id])
    return change


def _logged(event: Event[P]) -> tuple[str, str]:
    """The entity and action ``event`` is logged under (the catalogue's); not every event is."""
    if event.entity is None or event.action is None:
        raise ValueError(f"{event.name} is not recorded in the change log")
    return event.entity, event.action


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
