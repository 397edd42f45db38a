"""The database itself refuses what the services refuse: these tests bypass the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import IntegrityError, transaction

from tracking.models import BillingType, Task, TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _entry(world, role="member", start=T0, end=None, **extra):
    user = world.users[role]
    return TimeEntry(company=world.a, user=user, project=world.project_open, started_at=start, ended_at=end, **extra)


def _refused(obj, constraint: str):
    with pytest.raises(IntegrityError) as excinfo, transaction.atomic():
        obj.save()
    cause = excinfo.value.__cause__
    assert isinstance(cause, psycopg.Error)
    assert cause.diag.constraint_name == constraint


def test_a_second_running_entry_is_refused(world):
    _entry(world, start=T0).save()
    _refused(_entry(world, start=T0 - timedelta(days=3), end=None), "tracking_entry_one_running_per_user")


def test_an_overlap_is_refused_running_entries_included(world):
    _entry(world, start=T0, end=T0 + timedelta(hours=2)).save()
    _refused(_entry(world, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=3)), "tracking_entry_no_overlap")
    # a running entry occupies everything after its start
    _entry(world, start=T0 + timedelta(hours=5)).save()
    _refused(
        _entry(world, start=T0 + timedelta(days=9), end=T0 + timedelta(days=9, hours=1)), "tracking_entry_no_overlap"
    )


def test_touching_entries_and_other_users_do_not_overlap(world):
    _entry(world, start=T0, end=T0 + timedelta(hours=1)).save()
    _entry(world, start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2)).save()  # [) ranges touch
    _entry(world, role="lead", start=T0, end=T0 + timedelta(hours=2)).save()
    assert TimeEntry.objects.count() == 3


def test_an_entry_must_end_after_it_starts(world):
    _refused(_entry(world, start=T0, end=T0), "tracking_entry_ends_after_start")


def test_tombstones_free_the_slot(world):
    from django.utils import timezone

    _entry(world, start=T0, end=T0 + timedelta(hours=2), deleted_at=timezone.now()).save()
    _entry(world, start=T0 + timedelta(hours=3), deleted_at=timezone.now()).save()
    _entry(world, start=T0, end=T0 + timedelta(hours=2)).save()
    _entry(world, start=T0 + timedelta(hours=3)).save()
    assert TimeEntry.objects.filter(deleted_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    ("billing_type", "rate", "price"),
    [
        (BillingType.NONE, 100, None),
        (BillingType.HOURLY_RATE, None, None),
        (BillingType.HOURLY_RATE, 100, 100),
        (BillingType.TASK_PRICE, None, None),
        (BillingType.TASK_PRICE, 100, 500),
    ],
)
def test_task_billing_xor_is_a_check_constraint(world, billing_type, rate, price):
    task = Task(
        company=world.a,
        project=world.project_open,
        title="t",
        billing_type=billing_type,
        hourly_rate_cents=rate,
        task_price_cents=price,
    )
    _refused(task, "tracking_task_billing_xor")
