"""Reads of the change log's state: its head, how far it was pruned, whether anything waits
to be numbered. (Which changes a member may read is a rule of roles: sync.selectors.)"""

from __future__ import annotations

from django.db import connection

from changelog.models import SyncState


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
