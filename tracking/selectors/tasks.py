"""Reads of the task tree: the tasks the caller sees, a task's subtree, a project's tree with
its seconds and estimates rolled up."""

from __future__ import annotations

from typing import TypedDict
from uuid import UUID

from django.db import connection
from django.db.models import QuerySet, Sum

from organizations import permissions
from organizations.models import Membership, Project
from tracking.models import Task
from tracking.selectors.tracked import entry_seconds, live_entries


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
