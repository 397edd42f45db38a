"""Monthly range partitions of the activity tables (raw heartbeats and merged intervals).

Partitions are created ahead by beat (``tracking.tasks.maintain_partitions``) and, for a month
nobody prepared (a tracker that was offline for weeks), on demand by the merge before it
writes. Bounds are UTC months. Every ``tracking_appusage`` partition carries the exclusion
constraint that keeps a device's intervals from overlapping and a CHECK that its intervals end
within the month: PostgreSQL 15 cannot put an exclusion constraint on a partitioned parent
(17 can), and since no interval crosses a month boundary, per-partition constraints are
enough. Raw heartbeat partitions older than ``HEARTBEAT_RETENTION_DAYS`` are dropped whole."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import structlog
from django.conf import settings
from django.db import connection, transaction

logger = structlog.get_logger(__name__)

HEARTBEATS = "tracking_heartbeat"
APP_USAGE = "tracking_appusage"
_LOCK = 0x53544D4F4E  # one creator of partitions at a time
MONTHS_AHEAD = 2

_known: set[tuple[str, datetime]] = set()  # partitions this process has seen exist
_known_lock = threading.Lock()


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def months_between(first: datetime, last: datetime) -> list[datetime]:
    """The UTC months from the one holding ``first`` to the one holding ``last``."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def partition_name(table: str, month: datetime) -> str:
    return f"{table}_p{month:%Y_%m}"


def _create(table: str, month: datetime) -> bool:
    name, upper = partition_name(table, month), next_month(month)
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False
        cursor.execute(
            f"CREATE TABLE {name} PARTITION OF {table} FOR VALUES FROM (%s) TO (%s)",
            [month.isoformat(), upper.isoformat()],
        )
        if table == APP_USAGE:
            cursor.execute(
                f"ALTER TABLE {name} ADD CONSTRAINT {name}_within_month CHECK (ended_at <= %s), "
                f"ADD CONSTRAINT {name}_no_overlap EXCLUDE USING gist "
                "(user_id WITH =, device_id WITH =, tstzrange(started_at, ended_at, '[)') WITH &&)",
                [upper.isoformat()],
            )
    logger.info("partition_created", partition=name)
    return True


def ensure(table: str, months: list[datetime]) -> list[str]:
    """Create the monthly partitions of ``table`` that are missing; returns the new names.
    Idempotent and safe to race: creators take one advisory lock, in their own transaction
    (outside any caller's: a merge must not hold the parent's lock while it writes)."""
    # A raw heartbeat month past retention may have been dropped since this process saw it
    # (``maintain``, in another process): such a month is never taken on trust. Only an import
    # of old history reaches one; the live intake stays within HEARTBEAT_MAX_AGE_DAYS.
    kept_from = month_start(datetime.now(UTC) - timedelta(days=settings.HEARTBEAT_RETENTION_DAYS))
    with _known_lock:
        missing = [m for m in months if (table, m) not in _known or (table == HEARTBEATS and m < kept_from)]
    if not missing:
        return []
    created = []
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        for month in missing:
            if _create(table, month):
                created.append(partition_name(table, month))
    # Remembered once committed: a caller's transaction that rolls back takes the partitions
    # with it, and a remembered one would then never be created again in this process.
    transaction.on_commit(lambda: _remember(table, missing))
    return created


def _remember(table: str, months: list[datetime]) -> None:
    with _known_lock:
        _known.update((table, m) for m in months)


def forget_known() -> None:
    """Forget what this process saw (tests that drop partitions; a dropped partition)."""
    with _known_lock:
        _known.clear()


def maintain(*, now: datetime | None = None) -> dict[str, list[str]]:
    """What beat runs daily: partitions for every month a heartbeat may still arrive for
    (``HEARTBEAT_MAX_AGE_DAYS`` back) up to ``MONTHS_AHEAD`` ahead, and the raw heartbeat
    partitions that lie wholly before ``HEARTBEAT_RETENTION_DAYS`` dropped."""
    now = now or datetime.now(UTC)
    months = months_between(now - timedelta(days=settings.HEARTBEAT_MAX_AGE_DAYS), now)
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    created = ensure(HEARTBEATS, months) + ensure(APP_USAGE, months)
    horizon = now - timedelta(days=settings.HEARTBEAT_RETENTION_DAYS)
    dropped = []
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK])
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [HEARTBEATS],
        )
        for name, _bound in cursor.fetchall():
            month = datetime.strptime(name.rsplit("_p", 1)[1], "%Y_%m").replace(tzinfo=UTC)
            if next_month(month) <= horizon:
                cursor.execute(f"DROP TABLE {name}")
                dropped.append(name)
    if dropped:
        forget_known()
        logger.info("partitions_dropped", partitions=dropped)
    return {"created": created, "dropped": dropped}


def purge_by_plan(*, now: datetime | None = None) -> int:
    """Raw heartbeats of companies whose plan keeps data for fewer days than
    ``HEARTBEAT_RETENTION_DAYS`` (organizations.plans: the stricter of the two wins), deleted
    row by row where ``maintain`` drops whole months. Each plan's delete touches only the
    partitions its time bound reaches. Returns how many rows went."""
    from activity.models import Heartbeat  # here: merge and appusage import this module early
    from organizations import plans
    from organizations.models import Company

    now = now or datetime.now(UTC)
    deleted = 0
    for plan, days in plans.plans_keeping_less_than(settings.HEARTBEAT_RETENTION_DAYS).items():
        companies = Company.objects.filter(subscription_status=plan).values("id")
        gone, _ = Heartbeat.objects.filter(company_id__in=companies, timestamp__lt=now - timedelta(days=days)).delete()
        deleted += gone
    if deleted:
        logger.info("heartbeats_purged_by_plan", rows=deleted)
    return deleted
