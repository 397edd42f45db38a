"""Monthly partitions of the activity tables: created ahead, constrained, and dropped past retention."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from activity import partitions
from activity.models import AppUsage

pytestmark = pytest.mark.django_db(transaction=True)


def names(table: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [table],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.fixture(autouse=True)
def _fresh_partitions():
    partitions.forget_known()
    yield
    partitions.forget_known()


def test_maintain_creates_months_ahead_and_drops_raw_heartbeats_past_retention(settings):
    settings.HEARTBEAT_MAX_AGE_DAYS, settings.HEARTBEAT_RETENTION_DAYS = 30, 60
    partitions.maintain(now=datetime(2026, 1, 15, tzinfo=UTC))
    assert {"tracking_heartbeat_p2025_12", "tracking_heartbeat_p2026_01", "tracking_heartbeat_p2026_03"} <= names(
        partitions.HEARTBEATS
    )
    assert "tracking_appusage_p2026_03" in names(partitions.APP_USAGE)
    again = partitions.maintain(now=datetime(2026, 1, 15, tzinfo=UTC))
    assert again == {"created": [], "dropped": []}  # idempotent
    later = partitions.maintain(now=datetime(2026, 4, 10, tzinfo=UTC))
    # 60 days before 10 April is 9 February: December and January are wholly older
    assert set(later["dropped"]) == {"tracking_heartbeat_p2025_12", "tracking_heartbeat_p2026_01"}
    assert "tracking_heartbeat_p2026_02" in names(partitions.HEARTBEATS)
    assert "tracking_appusage_p2025_12" in names(partitions.APP_USAGE)  # intervals are kept


def test_each_usage_partition_refuses_overlaps_and_intervals_past_its_month(world):
    partitions.ensure(partitions.APP_USAGE, [datetime(2026, 5, 1, tzinfo=UTC)])
    member = world.users["member"]

    def add(start, end, device="laptop"):
        with transaction.atomic():
            AppUsage.objects.create(
                company=world.a,
                user=member,
                device_id=device,
                app="Code",
                title="",
                url="",
                domain="",
                started_at=start,
                ended_at=end,
            )

    add(datetime(2026, 5, 2, 9, tzinfo=UTC), datetime(2026, 5, 2, 10, tzinfo=UTC))
    with pytest.raises(IntegrityError):
        add(datetime(2026, 5, 2, 9, 30, tzinfo=UTC), datetime(2026, 5, 2, 11, tzinfo=UTC))
    add(datetime(2026, 5, 2, 9, 30, tzinfo=UTC), datetime(2026, 5, 2, 11, tzinfo=UTC), device="desktop")  # other device
    add(datetime(2026, 5, 2, 10, tzinfo=UTC), datetime(2026, 5, 2, 10, 30, tzinfo=UTC))  # touching is fine
    with pytest.raises(IntegrityError):  # would cross into June
        add(datetime(2026, 5, 31, 23, tzinfo=UTC), datetime(2026, 6, 1, 1, tzinfo=UTC))
    assert AppUsage.objects.count() == 3


def test_a_partition_created_in_a_rolled_back_transaction_is_created_again():
    # given a partition created inside a transaction that then rolls back
    month = datetime(2031, 4, 1, tzinfo=UTC)
    with transaction.atomic():
        assert partitions.ensure(partitions.APP_USAGE, [month]) == ["tracking_appusage_p2031_04"]
        transaction.set_rollback(True)  # the caller's transaction fails
    assert "tracking_appusage_p2031_04" not in names(partitions.APP_USAGE)
    # when it is ensured again, then it exists (the process did not remember the lost one)
    assert partitions.ensure(partitions.APP_USAGE, [month]) == ["tracking_appusage_p2031_04"]
    assert "tracking_appusage_p2031_04" in names(partitions.APP_USAGE)
