"""Which imports a caller sees, and what the import pipeline reads of the database: known
fingerprints, the entries a row would overlap, the locked periods it would fall in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Q, QuerySet

from accounts.models import User
from imports.models import ImportJob
from organizations import permissions
from organizations.models import Company, Membership


def import_list(*, memberships: list[Membership], user: User) -> QuerySet[ImportJob]:
    """Their own imports, and every import of a company whose imports they may see (the
    requester and OWNER/ADMIN); nobody else's exist."""
    own = [m.company_id for m in memberships]
    all_of = [m.company_id for m in memberships if permissions.can_see_others_imports(m)]
    return ImportJob.objects.filter(Q(company_id__in=own, requested_by=user) | Q(company_id__in=all_of)).order_by(
        "-created_at", "-id"
    )


# --------------------------------------------------------------------------- the import pipeline's reads


# One probe of the (company, fingerprint) index per print, whatever the statistics say: as
# ``fingerprint = ANY(array)``, a company PostgreSQL had no statistics for yet (a new one, a
# table not analysed since) was scanned whole per chunk, the 5,000 prints compared to each
# row (5 s a chunk at 50,000 rows); as a plain join, hashed whole per chunk.
_KNOWN_SQL = """
SELECT f.fingerprint
  FROM unnest(string_to_array(%s, ',')) AS p(hex)
 CROSS JOIN LATERAL (
       SELECT fingerprint FROM imports_importfingerprint
        WHERE company_id = %s AND fingerprint = decode(p.hex, 'hex') LIMIT 1
       ) f
"""


def known_fingerprints(company_id: UUID, prints: list[bytes]) -> set[bytes]:
    with connection.cursor() as cursor:
        cursor.execute(_KNOWN_SQL, [",".join(fp.hex() for fp in prints), company_id])
        return {bytes(fp) for (fp,) in cursor.fetchall()}


# Spans go to PostgreSQL as four comma-joined strings, not as lists: psycopg quotes a list
# element by element, and that was a third of a dry run's time.
_SPANS = """unnest(string_to_array(%s, ',')::int[], string_to_array(%s, ',')::uuid[],
              string_to_array(%s, ',')::float8[], string_to_array(%s, ',')::float8[]) AS s(i, user_id, st, en)"""


def _unnest(spans: list[tuple[UUID, datetime, datetime]]) -> list[str]:
    return [
        ",".join(map(str, range(len(spans)))),
        ",".join(str(s[0]) for s in spans),
        ",".join(repr(s[1].timestamp()) for s in spans),
        ",".join(repr(s[2].timestamp()) for s in spans),
    ]


# For each span, its person's live entry that starts last before the span ends (one backward
# step of the (user, started_at) index per span): live entries never overlap, so if that one
# does not reach the span's start, none does. Probing the exclusion constraint's GiST index
# with the range instead took 5.5 s per 5,000 rows once the person had a year of entries.
_OVERLAP_SQL = (
    """
SELECT s.i, e.started_at, e.ended_at
  FROM """
    + _SPANS
    + """
 CROSS JOIN LATERAL (
       SELECT started_at, ended_at FROM tracking_timeentry e
        WHERE e.user_id = s.user_id AND e.deleted_at IS NULL AND e.started_at < to_timestamp(s.en)
        ORDER BY e.started_at DESC LIMIT 1
       ) e
 WHERE e.ended_at IS NULL OR e.ended_at > to_timestamp(s.st)
"""
)


def overlapping(spans: list[tuple[UUID, datetime, datetime]]) -> list[tuple[float, float] | None]:
    """For each span, the latest-starting live entry of its person that it overlaps (a running
    one has no end: it overlaps everything after its start), or None."""
    found: list[tuple[float, float] | None] = [None] * len(spans)
    if not spans:
        return found
    with connection.cursor() as cursor:
        cursor.execute(_OVERLAP_SQL, _unnest(spans))
        for i, started_at, ended_at in cursor.fetchall():
            found[i] = (started_at.timestamp(), ended_at.timestamp() if ended_at else float("inf"))
    return found


_LOCKED_WEEKS_SQL = (
    """
SELECT DISTINCT ON (s.i) s.i, t.period_start, t.period_end, t.status
  FROM """
    + _SPANS
    + """
  JOIN tracking_timesheet t
    ON t.user_id = s.user_id AND t.company_id = %s AND t.status IN ('SUBMITTED', 'APPROVED')
   AND t.starts_at < to_timestamp(s.en) AND t.ends_at > to_timestamp(s.st)
 ORDER BY s.i, t.period_start
"""
)


def locked_before(company: Company) -> tuple[datetime, date] | None:
    """The company's ``locked_until`` as a moment (the end of that local day), as tracking
    migration 0006's trigger reads it."""
    if company.locked_until is None:
        return None
    end = datetime.combine(company.locked_until + timedelta(days=1), time(), tzinfo=ZoneInfo(company.timezone))
    return end.astimezone(UTC), company.locked_until


def locked(
    company_id: UUID, spans: list[tuple[UUID, datetime, datetime]], locked_before: tuple[datetime, date] | None
) -> list[str]:
    """For each span, why it lies in a locked period (the trigger would refuse it), or ""."""
    reasons = [""] * len(spans)
    if locked_before is not None:
        moment, day = locked_before
        for i, (_, started_at, _) in enumerate(spans):
            if started_at < moment:
                reasons[i] = f"In a locked period: the company's time is locked until {day.isoformat()}."
    if spans:
        with connection.cursor() as cursor:
            cursor.execute(_LOCKED_WEEKS_SQL, [*_unnest(spans), company_id])
            for i, first, last, status in cursor.fetchall():
                reasons[i] = reasons[i] or f"In a locked period: the week {first}..{last} is {status}."
    return reasons
