"""Reads of the change log's state: its head, how far it was pruned, whether anything waits
to be numbered. (Which changes a member may read is a rule of roles: sync.selectors.)"""

from __future__ import annotations

from django.db import connection

from changelog.models import SyncState

# One row: head, pruned_below (NULL before the state row exists) and whether anything waits to
# be numbered: what a pull checks first. sync.selectors.pull_start reads it in the same
# statement as the caller's memberships.
#
# "Waits to be numbered" looks only above the id of the change at the head. Every change numbered
# leaves a dead entry in the queue index (sync_change_unsequenced) until autovacuum passes, and
# an unbounded probe walked all of them: 2-3 ms a pull after a burst of 100,000 changes. Those
# entries are of numbered rows, at or below the head's id (numbering goes in id order). A row
# committed late with a lower id is not seen here; it is not stranded: every committer numbers
# its own changes before it answers (sequencer.number_pending waits for its lock), and beat's
# run scans the whole queue every few seconds. What this probe is for is a write whose process
# died between its commit and its numbering, or whose rows were written by hand (tests).
PULL_STATE_SQL = (
    "SELECT s.head, s.pruned_below, EXISTS (SELECT 1 FROM sync_change WHERE cursor IS NULL "
    "AND id > coalesce((SELECT id FROM sync_change WHERE cursor = s.head), 0)) AS unnumbered "
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


def cursor_gone(cursor: int, *, head: int, pruned_below: int) -> bool:
    """A cursor below the pruned horizon, or beyond the head (from a future this server never
    had: a restored backup): 410, do a full resync. For the pull and for a socket's resume."""
    return cursor < pruned_below or cursor > head


def last_cursor(change_ids: list[int]) -> int | None:
    """The highest cursor of these changes, None while any of them is unnumbered (or none
    exists): a batch answers with it. Plain SQL, one index probe per id; no query to compile."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CASE WHEN count(*) = count(cursor) THEN max(cursor) END FROM sync_change WHERE id = ANY(%s)",
            [change_ids],
        )
        return cursor.fetchone()[0]
