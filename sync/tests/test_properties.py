"""Property (SPEC: Sync): an offline client may deliver its batches any number of times, in
any order, and the server ends exactly where one in-order delivery leaves it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from changelog.models import Tombstone
from sync.models import SyncItemKey
from sync.services import batch_apply
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# Per entity: how many edits (1-3, each with a newer client clock) and whether it ends deleted.
entities = st.lists(st.tuples(st.integers(1, 3), st.booleans()), min_size=1, max_size=5)


def _outbox(world, plan) -> list[dict]:
    """The client's queue: each entity's versions with increasing clocks, a delete last."""
    items = []
    for slot, (versions, deleted) in enumerate(plan):
        eid = uuid.UUID(int=slot + 1)
        start = T0 + timedelta(hours=2 * slot)  # entities never overlap one another
        for v in range(versions):
            items.append(
                {
                    "idempotency_key": f"{eid}-v{v}",
                    "entity": "time_entry",
                    "action": "upsert",
                    "client_updated_at": T0 + timedelta(minutes=v),
                    "data": {
                        "id": eid,
                        "project_id": world.project_open.id,
                        "started_at": start,
                        "ended_at": start + timedelta(minutes=30 + v),
                        "description": f"v{v}",
                    },
                }
            )
        if deleted:
            items.append(
                {
                    "idempotency_key": f"{eid}-del",
                    "entity": "time_entry",
                    "action": "delete",
                    "client_updated_at": T0 + timedelta(minutes=versions),
                    "data": {"id": eid},
                }
            )
    return items


def _state(user) -> tuple[list, list]:
    """What every reader sees: live entries with the version held, and the deleted ids (a
    tombstoned row, or a bare tombstone when the delete overtook the create)."""
    live, deleted = [], set(Tombstone.objects.values_list("entity_id", flat=True))
    for pk, description, deleted_at in TimeEntry.objects.filter(user=user).values_list(
        "id", "description", "deleted_at"
    ):
        if deleted_at is None:
            live.append((pk, description))
        else:
            deleted.add(pk)
    return sorted(live), sorted(deleted)


def _reset(user) -> None:
    TimeEntry.objects.filter(user=user).delete()
    SyncItemKey.objects.filter(user=user).delete()
    Tombstone.objects.all().delete()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=entities, data=st.data())
def test_duplicated_and_reordered_deliveries_end_like_one(world, plan, data):
    membership = world.users["member"].memberships.get(company=world.a)
    user = membership.user
    items = _outbox(world, plan)

    _reset(user)
    batch_apply(user=user, memberships=[membership], device_id="d", items=items)
    expected = (
        sorted(
            (uuid.UUID(int=slot + 1), f"v{versions - 1}")
            for slot, (versions, deleted) in enumerate(plan)
            if not deleted
        ),
        sorted(uuid.UUID(int=slot + 1) for slot, (_, deleted) in enumerate(plan) if deleted),
    )
    assert _state(user) == expected

    _reset(user)
    # any number of deliveries of any slices, in any order, then everything at least once
    deliveries = data.draw(st.lists(st.lists(st.sampled_from(items), max_size=len(items) * 2), max_size=4))
    deliveries.append(data.draw(st.permutations(items)))
    for batch in deliveries:
        batch_apply(user=user, memberships=[membership], device_id="d", items=batch)
    assert _state(user) == expected
