"""Switches for the database's own guards, for the few explicit paths that must pass them.

The guards are triggers (tracking migration 0006: no entry of a locked period changes) that
read a transaction-local setting. The switch lives here, below every app, because the paths
that need it sit below tracking: deleting a whole company (organizations) or a user
(accounts) deletes their entries, locked or not."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


@contextmanager
def period_locks_lifted() -> Iterator[None]:
    """Inside the block, the locked-period check lets entries be deleted
    (``stint.period_locks = 'off'``). Only for deleting the company or user that owns them
    (nothing of theirs is left to be wrong); never a default, never for an edit.

    Must run inside ``transaction.atomic`` (outside one, SET LOCAL would end with its own
    statement and lift nothing). The check is back on when the block ends: SET LOCAL would
    otherwise last to the end of the outermost transaction, past a savepoint's release, and
    reach whatever a caller does next in it. On an error the enclosing atomic block rolls
    back, which undoes the setting with the rest."""
    if not connection.in_atomic_block:
        raise RuntimeError("period_locks_lifted() needs a transaction (transaction.atomic)")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.period_locks = 'off'")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.period_locks = 'on'")
