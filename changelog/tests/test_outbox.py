"""The change log is an outbox: written with the change, numbered and published after commit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction

from changelog.models import Change
from tracking import services as tracking

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _create(world):
    membership = world.users["member"].memberships.get(company=world.a)
    return tracking.entry_create(
        membership=membership,
        data={"project_id": world.project_open.id, "started_at": T0, "ended_at": T0 + timedelta(hours=1)},
    )


def _create_then_fail(world):
    with transaction.atomic():
        _create(world)
        raise RuntimeError("the request failed after the service call")


def test_a_rolled_back_change_leaves_no_trace(world):
    before = Change.objects.count()
    with pytest.raises(RuntimeError):
        _create_then_fail(world)
    assert Change.objects.count() == before


def test_a_change_is_numbered_only_after_its_transaction_commits(world):
    with transaction.atomic():
        entry = _create(world)
        pending = Change.objects.get(entity_id=entry.pk)
        assert pending.cursor is None  # readers and sockets cannot see it yet
    assert Change.objects.get(entity_id=entry.pk).cursor is not None  # numbered on commit
