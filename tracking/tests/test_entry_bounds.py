"""#15 items 6 and 11: every entry write path keeps an entry's times in 2000-01-01 .. now + 1 day
and its length at most 31 days, however the end is given; out-of-range time never breaks a read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from tests.support.api import assert_error
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def _far_future() -> datetime:
    return timezone.now() + timedelta(days=2)


# --------------------------------------------------------------------------- REST paths


@pytest.mark.parametrize("started_at", ["1900-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "far future"])
def test_a_timer_cannot_start_out_of_range(world, started_at):
    api = world.api("member")
    started_at = iso(_far_future()) if started_at == "far future" else started_at
    response = api.post(
        "/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": started_at}
    )
    assert_error(response, 400, attr="started_at")
    assert not TimeEntry.objects.exists()


def test_a_timer_cannot_stop_in_the_far_future(world):
    api = world.api("member")
    api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)})
    assert_error(api.post("/api/v1/time-entries/stop", {"ended_at": iso(_far_future())}), 400, attr="ended_at")
    assert TimeEntry.objects.get().ended_at is None


@pytest.mark.parametrize(
    ("extra", "attr"),
    [
        ({"started_at": "1900-01-01T00:00:00Z", "duration_seconds": 60}, "started_at"),
        ({"started_at": "9999-12-31T23:00:00Z", "duration_seconds": 7200}, "started_at"),  # was a 500 (overflow)
        ({"started_at": "0001-01-01T00:00:00Z", "ended_at": "0001-01-01T01:00:00Z"}, "started_at"),
        ({"started_at": iso(T0), "ended_at": "9999-12-31T23:59:59Z"}, "ended_at"),
    ],
)
def test_a_manual_entry_out_of_range_is_400(world, extra, attr):
    response = world.api("member").post("/api/v1/time-entries", {"project_id": str(world.project_open.id), **extra})
    assert_error(response, 400, attr=attr)
    assert not TimeEntry.objects.exists()


def test_the_31_day_cap_holds_for_ended_at_as_for_duration(world):
    api = world.api("member")
    body = {"project_id": str(world.project_open.id), "started_at": iso(T0)}
    too_long = T0 + timedelta(days=31, seconds=1)
    assert_error(api.post("/api/v1/time-entries", {**body, "ended_at": iso(too_long)}), 400, attr="ended_at")
    assert not TimeEntry.objects.exists()
    at_cap = api.post("/api/v1/time-entries", {**body, "ended_at": iso(T0 + timedelta(days=31))})
    assert at_cap.status_code == 201, at_cap.content
    assert at_cap.json()["duration_seconds"] == 31 * 24 * 3600


def test_patch_keeps_the_range_and_the_cap(world):
    api = world.api("member")
    created = api.post(
        "/api/v1/time-entries",
        {"project_id": str(world.project_open.id), "started_at": iso(T0), "ended_at": iso(T0 + timedelta(hours=1))},
    ).json()
    url = f"/api/v1/time-entries/{created['id']}"
    assert_error(api.patch(url, {"ended_at": iso(T0 + timedelta(days=40))}), 400, attr="ended_at")
    assert_error(api.patch(url, {"started_at": "1900-01-01T00:00:00Z"}), 400, attr="started_at")
    # moving the start back 40 days with the end kept makes a 40-day entry: refused too
    assert_error(api.patch(url, {"started_at": iso(T0 - timedelta(days=40))}), 400, attr="ended_at")
    entry = TimeEntry.objects.get()
    assert (entry.started_at, entry.ended_at) == (T0, T0 + timedelta(hours=1))


def test_a_timer_running_longer_than_31_days_stops_only_within_the_cap(world):
    api = world.api("member")
    start = timezone.now() - timedelta(days=40)
    api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": iso(start)})
    assert_error(api.post("/api/v1/time-entries/stop", {}), 400, attr="ended_at")
    stopped = api.post("/api/v1/time-entries/stop", {"ended_at": iso(start + timedelta(days=30))})
    assert stopped.status_code == 200, stopped.content


# --------------------------------------------------------------------------- sync batch


def test_sync_items_out_of_range_are_per_item_conflicts_invalid(world):
    import uuid

    api = world.api("member")
    project = str(world.project_open.id)

    def item(key, **data):
        return {
            "idempotency_key": key,
            "entity": "time_entry",
            "action": "upsert",
            "data": {"id": str(uuid.uuid4()), "project_id": project, **data},
            "client_updated_at": iso(timezone.now()),
        }

    items = [
        item("old-timer", started_at="1900-01-01T00:00:00Z"),
        item("old-manual", started_at="1900-01-01T00:00:00Z", duration_seconds=60),
        item("long", started_at=iso(T0), ended_at=iso(T0 + timedelta(days=32))),
        item("future", started_at=iso(_far_future()), duration_seconds=60),
        item("fine", started_at=iso(T0), ended_at=iso(T0 + timedelta(hours=1))),
    ]
    response = api.post("/api/v1/sync/batch", {"device_id": "laptop", "items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["processed"] == 1
    assert {c["idempotency_key"]: c["reason"] for c in body["conflicts"]} == {
        "old-timer": "invalid",
        "old-manual": "invalid",
        "long": "invalid",
        "future": "invalid",
    }
    assert TimeEntry.objects.count() == 1


# --------------------------------------------------------------------------- the database


def _save(entry: TimeEntry) -> str | None:
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError as exc:
        cause = exc.__cause__
        return cause.diag.constraint_name if isinstance(cause, psycopg.Error) else repr(cause)
    return None


def test_the_database_refuses_what_the_services_refuse(world):
    def entry(start, end=None, **extra):
        return TimeEntry(
            company=world.a,
            user=world.users["member"],
            project=world.project_open,
            started_at=start,
            ended_at=end,
            duration_seconds=int((end - start).total_seconds()) if end else None,
            **extra,
        )

    old = datetime(1900, 1, 1, tzinfo=UTC)
    assert _save(entry(old)) == "tracking_entry_started_in_range"
    assert _save(entry(datetime(2100, 1, 1, tzinfo=UTC))) == "tracking_entry_started_in_range"
    assert _save(entry(T0, T0 + timedelta(days=31, seconds=1))) == "tracking_entry_at_most_31_days"
    long = entry(T0, T0 + timedelta(hours=1))
    long.ended_at = T0 + timedelta(days=40)  # an end that disagrees with the duration
    assert _save(long) == "tracking_entry_at_most_31_days"
    # a tombstone is no longer held to them: an old bad row can still be deleted
    assert _save(entry(old, deleted_at=timezone.now())) is None
    assert _save(entry(T0, T0 + timedelta(days=31))) is None


def test_a_legacy_timer_from_1900_does_not_break_the_project_list(world):
    """A row written before the range constraint existed (it is added NOT VALID, so old rows
    stay): the tracked seconds are summed in 64 bits instead of failing the whole list."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # ALTER TABLE waits for no deferred check
        cursor.execute("ALTER TABLE tracking_timeentry DROP CONSTRAINT tracking_entry_started_in_range")
        TimeEntry.objects.create(
            company=world.a,
            user=world.users["member"],
            project=world.project_open,
            started_at=datetime(1900, 1, 1, tzinfo=UTC),
        )
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE tracking_timeentry ADD CONSTRAINT tracking_entry_started_in_range CHECK "
            "(deleted_at IS NOT NULL OR (started_at >= '2000-01-01T00:00:00+00:00' "
            "AND started_at < '2100-01-01T00:00:00+00:00')) NOT VALID"
        )
    response = world.api("owner").get("/api/v1/projects")
    assert response.status_code == 200, response.content
    [row] = [p for p in response.json()["results"] if p["id"] == str(world.project_open.id)]
    assert row["tracked_seconds"] > 2**31
    tree = world.api("owner").get(f"/api/v1/projects/{world.project_open.id}/tasks")
    assert tree.status_code == 200
    # and its owner can still delete it
    entry = TimeEntry.objects.get()
    assert world.api("member").delete(f"/api/v1/time-entries/{entry.id}").status_code == 204


def test_a_timer_started_in_the_next_hours_counts_no_negative_time(world):
    api = world.api("member")
    api.post(
        "/api/v1/time-entries/start",
        {"project_id": str(world.project_open.id), "started_at": iso(timezone.now() + timedelta(hours=3))},
    )
    [row] = [
        p for p in world.api("owner").get("/api/v1/projects").json()["results"] if p["id"] == str(world.project_open.id)
    ]
    assert row["tracked_seconds"] == 0
