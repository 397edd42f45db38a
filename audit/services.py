"""The one write of the audit log besides ``recording.record``: the retention purge.

Rows are never updated; the only DELETE the table's trigger (migration 0001) lets through is
one inside a transaction that first said ``SET LOCAL stint.audit_purge = 'on'``, which only
this function says, and unsays right after its DELETE. SET LOCAL ends with the transaction at
the latest, so the permission cannot leak into the connection's next one (or, behind a pooler,
another client's)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from audit.models import AuditEntry


def audit_purge(*, now: datetime | None = None) -> int:
    """Delete the rows older than AUDIT_RETENTION_DAYS; nothing when it is unset (forever).
    Returns how many went. Safe to run twice or at once: a second run finds nothing older."""
    days = settings.AUDIT_RETENTION_DAYS
    if days is None:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=days)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.audit_purge = 'on'")
        # AuditEntry has no relations nor signals: Django issues one DELETE ... WHERE at < cutoff
        # (a scan, daily, off the request path; the log's indexes lead with company or subject).
        deleted, _ = AuditEntry.objects.filter(at__lt=cutoff).delete()
        # Off again at once: called inside an outer transaction, ``atomic`` is only a savepoint
        # and SET LOCAL would otherwise last until that outer transaction ends.
        cursor.execute("SET LOCAL stint.audit_purge = 'off'")
    return deleted
