"""fast_representation must equal the serializer it stands in for, field for field."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone

from rest_framework import serializers

from common.models import uuid7
from common.representation import fast_representation
from organizations.models import Project
from tracking.api.serializers import TaskSerializer, TimeEntrySerializer
from tracking.models import Source, Task, TimeEntry


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


def test_time_entries_render_exactly_as_the_serializer_does():
    entries = _entries()
    assert fast_representation(TimeEntrySerializer)(entries) == TimeEntrySerializer(entries, many=True).data


def test_tasks_render_exactly_as_the_serializer_does():
    task = Task(
        id=uuid7(),
        company_id=uuid.uuid4(),
        project_id=uuid.uuid4(),
        parent_id=None,
        title="Ship",
        created_at=datetime(2026, 1, 2, tzinfo=UTC),
        updated_at=datetime(2026, 1, 2, tzinfo=UTC),
    )
    assert fast_representation(TaskSerializer)([task]) == TaskSerializer([task], many=True).data


class _Odd(serializers.Serializer):
    """Fields the fast path does not know: they must go through DRF and still agree."""

    label = serializers.CharField(source="project.name")  # type: ignore[assignment]  # a field named as Field.label
    kind = serializers.ChoiceField(choices=Source.choices, source="source")
    seconds = serializers.SerializerMethodField()
    compact_id = serializers.UUIDField(source="id", format="hex")
    local = serializers.DateTimeField(source="started_at", default_timezone=timezone(timedelta(hours=-5)))

    def get_seconds(self, obj):
        return obj.duration_seconds or 0


def test_unknown_fields_fall_back_to_drf_and_agree():
    entries = _entries()
    for entry in entries:
        entry.project = Project(id=entry.project_id, name="Orbit")
    assert fast_representation(_Odd)(entries) == _Odd(entries, many=True).data
