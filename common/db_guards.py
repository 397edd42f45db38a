"""Switches for the database's own guards, for the few explicit paths that must pass them.

The guards are triggers (tracking migration 0006: no entry of a locked period changes) that
read a transaction-local setting. The switch lives here, below every app, because the paths
that need it sit below tracking: deleting a whole company (organizations) or a user
(accounts) deletes their entries, locked or not, by cascade."""

from __future__ import annotations

from django.db import connection


def lift_period_locks() -> None:
    """``SET LOCAL stint.period_locks = 'off'``: for the rest of the current transaction the
    locked-period check lets entries be deleted. Only for deleting the company or user that
    owns them (nothing of theirs is left to be wrong); never a default, never for an edit.
    Must run inside ``transaction.atomic`` (outside one, SET LOCAL would end with its own
    statement and lift nothing)."""
    if not connection.in_atomic_block:
        raise RuntimeError("lift_period_locks() needs a transaction (transaction.atomic)")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.period_locks = 'off'")
