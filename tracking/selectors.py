"""Reads of tasks and time entries, always scoped by the caller's memberships.

Tracked time counts a running entry up to now (``now() - started_at``), computed in SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TypedDict
from uuid import UUID

from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Cast, Coalesce, Extract, Greatest, Now

from accounts.models import User
from organizations import permissions
from organizations.models import Membership, Project
from tracking.models import Task, TaskStatus, TimeEntry, Timesheet, TimesheetStatus


def live_entries() -> QuerySet[TimeEntry]:
    return TimeEntry.objects.filter(deleted_at__isnull=True)


def entry_seconds() -> Coalesce:
    """An entry's seconds: its duration, or for a running entry the time since it started
    (none yet for one started a little ahead, as a timer may be). 64-bit: a running entry
    written before starts were bounded (docs/tracking.md) may be a century old, more seconds
    than a 32-bit integer holds, and one such row made every project list of its company fail."""
    since = Extract(ExpressionWrapper(Now() - F("started_at"), output_field=DurationField()), "epoch")
    running = Greatest(Cast(since, BigIntegerField()), 0)
    return Coalesce(F("duration_seconds"), running, output_field=BigIntegerField())


# --------------------------------------------------------------------------- projects


def project_stats_annotations() -> dict[str, Coalesce]:
    """``tracked_seconds`` and ``open_task_count`` for the organizations project list, each a
    correlated subquery (no row multiplication, no per-row query)."""
    tracked = (
        live_entries()
        .filter(project=OuterRef("pk"))
        .order_by()
        .values("project")
        .annotate(total=Sum(entry_seconds()))
        .values("total")
    )
    open_tasks = (
        Task.objects.filter(project=OuterRef("pk"))
        .exclude(status=TaskStatus.DONE)
        .order_by()
        .values("project")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return {
        "tracked_seconds": Coalesce(Subquery(tracked, output_field=BigIntegerField()), 0),
        "open_task_count": Coalesce(Subquery(open_tasks, output_field=IntegerField()), 0),
    }


# --------------------------------------------------------------------------- tasks


class TaskNode(TypedDict, total=False):
    """A node of ``task_tree``: the task, its own and rolled-up seconds and estimates."""

    task: Task
    own_seconds: int
    total_seconds: int
    total_estimate_seconds: int
    children: list[TaskNode]


def task_list(*, memberships: list[Membership]) -> QuerySet[Task]:
    """Tasks in the projects the caller sees."""
    if not memberships:
        return Task.objects.none()
    visible = permissions.visible_projects_in_any_q(memberships)
    return Task.objects.filter(project__in=Project.objects.filter(visible).values("pk"))


def subtree_ids(task_id: UUID) -> list[UUID]:
    """The task and all its descendants, whatever the depth, in one recursive query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            WITH RECURSIVE subtree(id) AS (
                SELECT id FROM tracking_task WHERE id = %s
                UNION
                SELECT t.id FROM tracking_task t JOIN subtree s ON t.parent_id = s.id
            )
            SELECT id FROM subtree
            """,
            [task_id],
        )
        return [row[0] for row in cursor.fetchall()]


def task_tree(*, project: Project) -> list[TaskNode]:
    """Every task of the project as a nested tree with ``own_seconds``, ``total_seconds`` and
    ``total_estimate_seconds``: two queries whatever the depth (the tasks, and the seconds per
    task grouped in SQL); the roll-up is one pass over the rows."""
    tasks = list(Task.objects.filter(project=project).order_by("position", "created_at", "id"))
    own = dict(
        live_entries()
        .filter(project=project, task__isnull=False)
        .order_by()
        .values("task")
        .annotate(seconds=Sum(entry_seconds()))
        .values_list("task", "seconds")
    )
    nodes: dict[UUID, TaskNode] = {
        t.pk: {"task": t, "own_seconds": int(own.get(t.pk) or 0), "children": []} for t in tasks
    }
    roots: list[TaskNode] = []
    for t in tasks:
        (nodes[t.parent_id]["children"] if t.parent_id in nodes else roots).append(nodes[t.pk])

    # Iterative depth: a deep tree must not hit Python's recursion limit.
    stack = [(node, False) for node in roots]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            node["total_seconds"] = node["own_seconds"] + sum(c["total_seconds"] for c in node["children"])
            node["total_estimate_seconds"] = (node["task"].estimate_seconds or 0) + sum(
                c["total_estimate_seconds"] for c in node["children"]
            )
        else:
            stack.append((node, True))
            stack.extend((child, False) for child in node["children"])
    return roots


# --------------------------------------------------------------------------- time entries


@dataclass(frozen=True, kw_only=True)
class EntryFilters:
    """The SPEC filters of an entry list (None: not narrowed). ``since``/``until`` are the
    query's ``from``/``to``: entries overlapping [since, until). ``descendants`` widens
    ``task`` to its subtree."""

    since: datetime | None = None
    until: datetime | None = None
    user: UUID | None = None
    project: UUID | None = None
    task: UUID | None = None
    descendants: bool = False


def time_entry_list(*, memberships: list[Membership], filters: EntryFilters | None = None) -> QuerySet[TimeEntry]:
    """Live entries the caller may read (own for a MEMBER, their teams' for a LEAD, the
    company's for OWNER, ADMIN and MANAGER), newest first, narrowed by ``filters``; the
    company is narrowed by passing only its membership."""
    if not memberships:
        return TimeEntry.objects.none()
    filters = filters or EntryFilters()
    readable = permissions.readable_users_in_any_q(memberships)
    qs = live_entries().filter(readable).select_related("project", "task")
    if filters.since:
        qs = qs.filter(Q(ended_at__isnull=True) | Q(ended_at__gt=filters.since))
    if filters.until:
        qs = qs.filter(started_at__lt=filters.until)
    if filters.user:
        qs = qs.filter(user_id=filters.user)
    if filters.project:
        qs = qs.filter(project_id=filters.project)
    if filters.task:
        task_ids = subtree_ids(filters.task) if filters.descendants else [filters.task]
        qs = qs.filter(task_id__in=task_ids)
    return qs.order_by("-started_at", "-id")


def current_entry(*, user: User) -> TimeEntry | None:
    return live_entries().filter(user=user, ended_at__isnull=True).select_related("project", "task").first()


# --------------------------------------------------------------------------- timesheets


def approval_statuses(
    *, company_id: UUID, user_ids: list[UUID], first: date, last: date
) -> dict[tuple[UUID, date], str]:
    """``{(user_id, period_start): status}`` of the timesheets whose weeks overlap the local
    days ``first``..``last`` (reports and exports carry each row's status; a week with no row
    is OPEN). One query."""
    rows = Timesheet.objects.filter(
        company_id=company_id, user_id__in=user_ids, period_start__lte=last, period_end__gte=first
    ).values_list("user_id", "period_start", "status")
    return {(user_id, start): status for user_id, start, status in rows}


def approval_status_of(statuses: dict[tuple[UUID, date], str], *, user_id: UUID, period_start: date) -> str:
    return statuses.get((user_id, period_start), TimesheetStatus.OPEN)
