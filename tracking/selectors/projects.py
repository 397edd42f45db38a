"""What the organizations project list shows of tracking: each project's tracked seconds and
open tasks (handed to ``organizations.selectors`` when the app registry is ready)."""

from __future__ import annotations

from django.db.models import BigIntegerField, Count, IntegerField, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from tracking.models import Task, TaskStatus
from tracking.selectors.tracked import entry_seconds, live_entries


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
