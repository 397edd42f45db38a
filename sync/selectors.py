"""Reads of the change log, filtered by the same role rules as the REST reads."""

from __future__ import annotations

from functools import reduce
from operator import or_

from django.db import connection
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast

from organizations import permissions
from organizations.models import Membership
from sync.models import Change, SyncState


def visible_changes_q(m: Membership) -> Q:
    """Entries by whose they are (readable_users_q), tasks and projects by project visibility."""
    entries = Q(entity="time_entry") & permissions.readable_users_q(m)
    structure = (
        Q(company_id=m.company_id)
        & ~Q(entity="time_entry")
        & Q(project_id__in=permissions.visible_projects(m).values("pk"))
    )
    return entries | structure


def change_list(*, memberships: list[Membership], after: int, upto: int | None = None) -> QuerySet[Change]:
    """Numbered changes after ``after`` (and up to ``upto``) the caller may see, in order."""
    if not memberships:
        return Change.objects.none()
    qs = Change.objects.filter(reduce(or_, [visible_changes_q(m) for m in memberships]), cursor__gt=after)
    if upto is not None:
        qs = qs.filter(cursor__lte=upto)
    return qs.order_by("cursor")


def change_rows(*, memberships: list[Membership], after: int, upto: int, limit: int) -> list[tuple]:
    """``change_list`` as plain rows ``(cursor, entity, entity_id, action, payload_json, at)``,
    the payload as the JSON text PostgreSQL holds: a pull hands it on without decoding and
    re-encoding every change (most of a pull's cost otherwise)."""
    return list(
        change_list(memberships=memberships, after=after, upto=upto)
        .annotate(payload_json=Cast("payload", TextField()))
        .values_list("cursor", "entity", "entity_id", "action", "payload_json", "at")[:limit]
    )


def pull_state() -> tuple[int, int, bool]:
    """``(head, pruned_below, has_unnumbered)`` in one round trip: what a pull checks first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.head, s.pruned_below, EXISTS (SELECT 1 FROM sync_change WHERE cursor IS NULL) "
            "FROM (SELECT 1) one LEFT JOIN sync_syncstate s ON s.id = 1"
        )
        head, pruned_below, unnumbered = cursor.fetchone()
    return head or 0, pruned_below or 0, unnumbered


def sync_state() -> SyncState:
    """``head``: the last cursor handed out (everything up to it is numbered and committed);
    ``pruned_below``: older cursors are gone (410). One row, one query."""
    return SyncState.objects.filter(pk=1).first() or SyncState()


def head_cursor() -> int:
    return sync_state().head


def pruned_below() -> int:
    return sync_state().pruned_below
