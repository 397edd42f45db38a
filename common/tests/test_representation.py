"""sql_representation must equal the serializer it stands in for, field for field."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from django.utils import timezone as django_timezone

from common.models import uuid7
from common.representation import sql_representation
from tracking.api.serializers import TimeEntrySerializer
from tracking.models import Source, TimeEntry


def _entries() -> list[TimeEntry]:
    berlin_summer = timezone(timedelta(hours=2))
    start = datetime(2026, 3, 29, 0, 59, 59, 123456, tzinfo=UTC)
    return [
        # finished, whole seconds, a task
        TimeEntry(
            id=uuid7(),
            company_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            project_id=uuid.uuid4(),
            task_id=uuid.uuid4(),
            description="Zoë's «review» \n\t",
            started_at=datetime(2026, 1, 1, tzinfo=UTC),
            ended_at=datetime(2026, 1, 1, 1, tzinfo=UTC),
            duration_seconds=3600,
            timezone="Europe/Berlin",
            billable=False,
            source=Source.SYNC,
            created_at=datetime(2026, 1, 2, tzinfo=UTC),
            updated_at=datetime(2026, 1, 2, 0, 0, 0, 1, tzinfo=UTC),
        ),
        # running (no end, no duration, no task), microseconds, a non-UTC offset in memory
        TimeEntry(
            id=uuid7(),
            company_id=uuid.uuid4(),
            user_id=uuid.uuid4(),
            project_id=uuid.uuid4(),
            task_id=None,
            description="",
            started_at=start.astimezone(berlin_summer),
            ended_at=None,
            duration_seconds=None,
            timezone="UTC",
            billable=True,
            source=Source.TIMER,
            created_at=start,
            updated_at=start,
        ),
    ]


ENTRY_COLUMNS = (
    "id uuid, company_id uuid, user_id uuid, project_id uuid, task_id uuid, description text, started_at timestamptz,"
    " ended_at timestamptz, duration_seconds int, timezone text, billable bool, source text, created_at timestamptz,"
    " updated_at timestamptz"
)


@pytest.mark.django_db
@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/New_York"])
def test_time_entries_built_in_sql_equal_the_serializer_key_by_key(zone):
    # A sync batch's and an import's change-log payloads are built by PostgreSQL
    # (sql_representation); clients must not tell them from the API's own rendering. The rows
    # as a derived table with the model's column names: the entries need no company or user.
    entries = [*_entries(), *_entries()]
    entries[2].started_at = datetime(2026, 10, 25, 0, 30, 0, 5, tzinfo=UTC)  # Berlin's repeated hour
    entries[2].ended_at = datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    entries[3].created_at = entries[3].updated_at = datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    names = [c.split()[0] for c in ENTRY_COLUMNS.split(", ")]
    with django_timezone.override(zone):
        expected = TimeEntrySerializer(entries, many=True).data
        payload, params = sql_representation(TimeEntrySerializer, "e")
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {payload} FROM jsonb_to_recordset(%s::jsonb) AS e({ENTRY_COLUMNS})",  # in array order
                [*params, _as_json(entries, names)],
            )
            built = [json.loads(row[0]) if isinstance(row[0], str) else row[0] for row in cursor.fetchall()]
    assert len(built) == len(expected) == 4
    for ours, theirs in zip(built, expected, strict=True):
        assert sorted(ours) == sorted(theirs)
        for key in theirs:
            assert (key, ours[key]) == (key, theirs[key])


def _as_json(entries: list[TimeEntry], names: list[str]) -> str:
    def value(v):
        return v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, uuid.UUID) else v

    return json.dumps([{name: value(getattr(e, name)) for name in names} for e in entries])
