"""Reads of the change log's state: its head, how far it was pruned, whether anything waits
to be numbered. (Which changes a member may read is a rule of roles: sync.selectors.)"""

from __future__ import annotations

from django.db import connection

from changelog.models import SyncState

# One row: head, pruned_below (NULL before the state row exists) and whether anything waits to
# be numbered: what a pull checks first. sync.selectors.pull_start reads it in the same
# statement as the caller's memberships.
PULL_STATE_SQL = (
    "SELECT s.head, s.pruned_below, EXISTS (SELECT 1 FROM sync_change WHERE cursor IS NULL) AS unnumbered "
    "FROM (SELECT 1) one LEFT JOIN sync_syncstate s ON s.id = 1"
)


def sync_state() -> SyncState:
    """``head``: the last cursor handed out (everything up to it is numbered and committed);
    ``pruned_below``: older cursors are gone (410). One row, one query."""
    return SyncState.objects.filter(pk=1).first() or SyncState()


def head_cursor() -> int:
    return sync_state().head


def pruned_below() -> int:
    return sync_state().pruned_below


def last_cursor(change_ids: list[int]) -> int | None:
    """The highest cursor of these changes, None while any of them is unnumbered (or none
    exists): a batch answers with it. Plain SQL, one index probe per id; no query to compile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN count(*) = count(cursor) THEN max(cursor) END FROM sync_change WHERE id = ANY(%s)",
            [change_ids],
        )
        return cursor.fetchone()[0]
