"""Reads of time entries: the entry list, the running and paused timers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.db.models import Q, QuerySet

from accounts.models import User
from organizations import permissions
from organizations.models import Membership
from tracking.models import PausedTimer, TimeEntry
from tracking.selectors.tasks import subtree_ids
from tracking.selectors.tracked import live_entries


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


def paused_entries(*, company_id: UUID, user_ids: list[UUID]) -> dict[UUID, TimeEntry]:
    """The paused timers (``POST /time-entries/pause``) of these users in this company, by
    user: the entry ``/resume`` would copy. A pause whose entry was deleted is left out."""
    paused = PausedTimer.objects.filter(
        company_id=company_id, user_id__in=user_ids, entry__deleted_at__isnull=True
    ).select_related("entry__project", "entry__task")
    return {p.user_id: p.entry for p in paused}
