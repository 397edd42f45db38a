"""The task tree: create, update (a move is checked against cycles), set status, delete a
subtree. Moves of one project are serialised by locking the project's row."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypedDict, cast

from django.db import IntegrityError, transaction
from django.utils import timezone

from changelog.models import Tombstone
from common.exceptions import ConflictError, InvalidInput
from organizations.models import Project
from tracking import events
from tracking.models import BillingType, Task
from tracking.selectors import subtree_ids
from tracking.services.rules import PeriodLocked, period_locked


class TaskData(TypedDict, total=False):
    """A task's fields as a client gives them (REST body, sync item, admin form). A key that
    is absent was not given: an update changes only the keys present. A create needs
    ``title``."""

    id: uuid.UUID
    parent_id: uuid.UUID | None
    title: str
    status: str
    position: int
    estimate_seconds: int | None
    billing_type: str
    hourly_rate_cents: int | None
    task_price_cents: int | None


def task_data(values: Mapping[str, Any]) -> TaskData:
    """The ``TaskData`` keys of a validated body or sync item (their serializers' fields are
    these keys, as tracking/tests/test_inputs.py checks; ``project_id`` and ``company_id``
    chose the project and are left out)."""
    return cast(TaskData, {key: value for key, value in values.items() if key in TaskData.__optional_keys__})


TASK_FIELDS = (
    "title",
    "status",
    "position",
    "estimate_seconds",
    "billing_type",
    "hourly_rate_cents",
    "task_price_cents",
)


def _validate_billing(task: Task) -> None:
    if task.billing_type == BillingType.HOURLY_RATE:
        if task.hourly_rate_cents is None:
            raise InvalidInput("HOURLY_RATE needs hourly_rate_cents.", code="required", attr="hourly_rate_cents")
        if task.task_price_cents is not None:
            raise InvalidInput("HOURLY_RATE takes no task_price_cents.", code="forbidden", attr="task_price_cents")
    elif task.billing_type == BillingType.TASK_PRICE:
        if task.task_price_cents is None:
            raise InvalidInput("TASK_PRICE needs task_price_cents.", code="required", attr="task_price_cents")
        if task.hourly_rate_cents is not None:
            raise InvalidInput("TASK_PRICE takes no hourly_rate_cents.", code="forbidden", attr="hourly_rate_cents")
    elif task.hourly_rate_cents is not None or task.task_price_cents is not None:
        attr = "hourly_rate_cents" if task.hourly_rate_cents is not None else "task_price_cents"
        raise InvalidInput("Billing type NONE takes no rate or price.", code="forbidden", attr=attr)


def _lock_tree(project_id: uuid.UUID) -> None:
    # Moves are checked against the tree as it is; locking the project serialises them, so two
    # concurrent moves cannot each pass the check and close a cycle together.
    Project.objects.select_for_update().filter(pk=project_id).values_list("pk", flat=True).first()


def _resolve_parent(project: Project, parent_id: uuid.UUID | None) -> Task | None:
    if parent_id is None:
        return None
    parent = Task.objects.filter(project=project, pk=parent_id).first()
    if parent is None:
        raise InvalidInput("No such parent task in this project.", code="does_not_exist", attr="parent_id")
    return parent


def descendant_ids(task: Task) -> set[uuid.UUID]:
    """The task's subtree (itself included), in one recursive query."""
    return set(subtree_ids(task.pk))


@transaction.atomic
def task_create(*, project: Project, data: TaskData, client_updated_at: datetime | None = None) -> Task:
    _lock_tree(project.pk)
    task = Task(company_id=project.company_id, project=project, **{k: v for k, v in data.items() if k in TASK_FIELDS})
    task.parent = _resolve_parent(project, data.get("parent_id"))
    if data.get("id") is not None:
        if Task.objects.filter(pk=data["id"]).exists():
            raise ConflictError("A task with this id already exists.", code="duplicate_id", attr="id")
        if Tombstone.objects.filter(entity_id=data["id"]).exists():
            raise ConflictError("A task with this id was deleted; ids are never reused.", code="deleted", attr="id")
        task.id = data["id"]
    _validate_billing(task)
    task.client_updated_at = client_updated_at or timezone.now()
    task.save()
    events.task_changed(task)
    return task


@transaction.atomic
def task_update(*, task: Task, data: TaskData, client_updated_at: datetime | None = None) -> Task:
    _lock_tree(task.project_id)
    task = Task.objects.select_for_update().get(pk=task.pk)
    given: Mapping[str, object] = data  # the plain fields, by name
    fields = [k for k in TASK_FIELDS if k in given]
    for field in fields:
        setattr(task, field, given[field])
    if "parent_id" in data:
        parent = _resolve_parent(task.project, data["parent_id"])
        if parent is not None and parent.pk in descendant_ids(task):
            raise InvalidInput("A task cannot move under itself or its own subtask.", code="cycle", attr="parent_id")
        task.parent = parent
        fields.append("parent")
    _validate_billing(task)
    task.client_updated_at = client_updated_at or timezone.now()
    task.save(update_fields=[*fields, "client_updated_at", "updated_at"])
    events.task_changed(task)
    return task


@transaction.atomic
def task_set_status(*, task: Task, status: str) -> Task:
    task.status = status
    task.client_updated_at = timezone.now()
    task.save(update_fields=["status", "client_updated_at", "updated_at"])
    events.task_changed(task)
    return task


@transaction.atomic
def task_delete(*, task: Task) -> None:
    """Deletes the subtree; time tracked on it stays, without a task. Every deleted task gets a
    task.deleted change and a tombstone, so no replayed upsert brings it back.

    Dropping the task from its entries (``on_delete=SET_NULL``) edits them: with time in a
    locked period (a SUBMITTED or APPROVED week, or on or before ``locked_until``) the database
    refuses, and so is the delete, 409 ``period_locked`` naming the period. A signed-off week
    keeps the task it was signed off with; mark the task DONE instead."""
    subtree = list(Task.objects.filter(pk__in=subtree_ids(task.pk)))
    events.tasks_deleted(subtree)
    try:
        with transaction.atomic():
            task.delete()
    except IntegrityError as exc:
        locked = period_locked(exc)
        if locked is None:
            raise
        period = locked.extra["locked_period"]
        raise PeriodLocked(f"Time tracked on this task is in a locked period. {locked.message}", period) from exc
