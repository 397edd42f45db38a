"""What counts as tracked time, for every read that sums it: the live entries (not deleted),
and an entry's seconds.

Tracked time counts a running entry up to now (``now() - started_at``), computed in SQL."""

from __future__ import annotations

from django.db.models import BigIntegerField, DurationField, ExpressionWrapper, F, QuerySet
from django.db.models.functions import Cast, Coalesce, Extract, Greatest, Now

from tracking.models import TimeEntry


def live_entries() -> QuerySet[TimeEntry]:
    return TimeEntry.objects.filter(deleted_at__isnull=True)


def entry_seconds() -> Coalesce:
    """An entry's seconds: its duration, or for a running entry the time since it started
    (none yet for one started a little ahead, as a timer may be). 64-bit: a running entry
    written before starts were bounded (docs/tracking.md) may be a century old, more seconds
    than a 32-bit integer holds, and one such row made every project list of its company fail."""
    since = Extract(ExpressionWrapper(Now() - F("started_at"), output_field=DurationField()), "epoch")
    running = Greatest(Cast(since, BigIntegerField()), 0)
    return Coalesce(F("duration_seconds"), running, output_field=BigIntegerField())
