"""Property: whatever spans a client sends, in whatever order, the service accepts exactly the
ones that do not overlap what it already holds, and the stored entries never overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from common.exceptions import ConflictError
from tracking import services
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
spans = st.lists(st.tuples(st.integers(0, 600), st.integers(1, 180)), min_size=1, max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spans=spans)
def test_accepted_spans_are_exactly_the_non_overlapping_ones(world, spans):
    membership = world.users["member"].memberships.get(company=world.a)
    TimeEntry.objects.filter(user=membership.user).delete()
    accepted: list[tuple[int, int]] = []
    for start, length in spans:
        expected_ok = all(start + length <= s or s + n <= start for s, n in accepted)
        data = {
            "project_id": world.project_open.id,
            "started_at": T0 + timedelta(minutes=start),
            "duration_seconds": length * 60,
        }
        try:
            services.entry_create(membership=membership, data=data)
            ok = True
        except ConflictError as exc:
            ok = False
            # the conflict names only entries that really overlap the span
            for entry in TimeEntry.objects.filter(pk__in=exc.extra["conflicting_entry_ids"]):
                assert entry.started_at < T0 + timedelta(minutes=start + length)
                assert entry.ended_at > T0 + timedelta(minutes=start)
        assert ok == expected_ok, (start, length, accepted)
        if ok:
            accepted.append((start, length))
    stored = sorted(TimeEntry.objects.filter(user=membership.user).values_list("started_at", "ended_at"))
    assert len(stored) == len(accepted)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(stored, stored[1:], strict=False))
