"""Timers and time entries through the HTTP stack."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from organizations import services as org_services
from tests.support.api import assert_error
from tracking.models import Source, TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def manual(api, project, start, end=None, **extra):
    body = {"project_id": str(project.id), "started_at": iso(start), **extra}
    if end is not None:
        body["ended_at"] = iso(end)
    return api.post("/api/v1/time-entries", body)


# --------------------------------------------------------------------------- timers


def test_start_current_stop(world):
    api = world.api("member")
    assert api.get("/api/v1/time-entries/current").status_code == 204
    started = api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "description": "x"})
    assert started.status_code == 201, started.content
    body = started.json()
    assert (body["ended_at"], body["duration_seconds"], body["source"]) == (None, None, "TIMER")
    assert body["user_id"] == str(world.users["member"].id)
    assert body["company_id"] == str(world.a.id)
    assert api.get("/api/v1/time-entries/current").json()["id"] == body["id"]
    stopped = api.post("/api/v1/time-entries/stop", {})
    assert stopped.status_code == 200
    assert stopped.json()["id"] == body["id"]
    assert stopped.json()["duration_seconds"] >= 0
    assert api.get("/api/v1/time-entries/current").status_code == 204
    body = assert_error(api.post("/api/v1/time-entries/stop", {}), 409)
    assert body["errors"][0]["code"] == "not_running"


def test_start_stops_the_running_entry_at_the_new_start(world):
    api = world.api("member")
    first = api.post(
        "/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": iso(T0)}
    ).json()
    second = api.post(
        "/api/v1/time-entries/start",
        {"project_id": str(world.project_team.id), "started_at": iso(T0 + timedelta(minutes=90))},
    )
    assert second.status_code == 201
    stopped = TimeEntry.objects.get(pk=first["id"])
    assert stopped.ended_at == T0 + timedelta(minutes=90)
    assert stopped.duration_seconds == 5400
    assert TimeEntry.objects.filter(user=world.users["member"], ended_at__isnull=True).count() == 1


def test_start_before_the_running_entry_is_409_and_changes_nothing(world):
    api = world.api("member")
    running = api.post(
        "/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": iso(T0)}
    ).json()
    response = api.post(
        "/api/v1/time-entries/start",
        {"project_id": str(world.project_open.id), "started_at": iso(T0 - timedelta(hours=1))},
    )
    body = assert_error(response, 409)
    assert body["conflicting_entry_ids"] == [running["id"]]
    assert TimeEntry.objects.get(pk=running["id"]).ended_at is None


def test_start_with_client_uuid_and_task(world):
    from tracking import services

    task = services.task_create(project=world.project_open, data={"title": "Design"})
    eid = "0190c9b4-7f1e-7abc-8000-0000000000aa"
    response = world.api("member").post(
        "/api/v1/time-entries/start", {"id": eid, "project_id": str(world.project_open.id), "task_id": str(task.id)}
    )
    assert response.status_code == 201
    assert (response.json()["id"], response.json()["task_id"]) == (eid, str(task.id))


def test_archived_project_takes_no_new_time(world):
    api = world.api("owner")
    body = assert_error(api.post("/api/v1/time-entries/start", {"project_id": str(world.project_archived.id)}), 409)
    assert body["errors"][0]["code"] == "project_archived"
    assert_error(manual(api, world.project_archived, T0, T0 + timedelta(hours=1)), 409)
    assert not TimeEntry.objects.exists()


def test_projects_the_caller_cannot_see_are_400_on_project_id(world):
    # loner is not in the project's team; outsider is in another company
    for role, project in [("loner", world.project_team), ("outsider", world.project_open), ("member", world.project_b)]:
        response = world.api(role).post("/api/v1/time-entries/start", {"project_id": str(project.id)})
        assert_error(response, 400, attr="project_id")
    assert not TimeEntry.objects.exists()


# --------------------------------------------------------------------------- manual entries


def test_manual_entry_with_end_or_duration(world):
    api = world.api("member")
    a = manual(api, world.project_open, T0, T0 + timedelta(hours=2), description="Review")
    assert a.status_code == 201
    assert (a.json()["duration_seconds"], a.json()["source"]) == (7200, "MANUAL")
    b = api.post(
        "/api/v1/time-entries",
        {
            "project_id": str(world.project_open.id),
            "started_at": iso(T0 + timedelta(hours=3)),
            "duration_seconds": 1800,
        },
    )
    assert b.status_code == 201
    assert b.json()["ended_at"] == iso(T0 + timedelta(hours=3, minutes=30))


@pytest.mark.parametrize(
    ("tz", "start", "end", "seconds", "utc_start"),
    [
        # Europe/Berlin springs forward at 02:00 on 2026-03-29: 00:30 to 03:30 local is two hours
        ("Europe/Berlin", "2026-03-29T00:30:00+01:00", "2026-03-29T03:30:00+02:00", 7200, "2026-03-28T23:30:00Z"),
        # America/New_York falls back at 02:00 on 2026-11-01: 00:30 to 02:30 local is three hours
        ("America/New_York", "2026-11-01T00:30:00-04:00", "2026-11-01T02:30:00-05:00", 10800, "2026-11-01T04:30:00Z"),
    ],
)
def test_duration_across_a_dst_change_is_absolute_time(world, tz, start, end, seconds, utc_start):
    response = world.api("member").post(
        "/api/v1/time-entries",
        {"project_id": str(world.project_open.id), "started_at": start, "ended_at": end, "timezone": tz},
    )
    assert response.status_code == 201
    assert response.json()["duration_seconds"] == seconds
    assert response.json()["started_at"] == utc_start
    assert response.json()["timezone"] == tz


@pytest.mark.parametrize(
    ("extra", "attr"),
    [
        ({}, "ended_at"),
        ({"ended_at": iso(T0 + timedelta(hours=1)), "duration_seconds": 60}, "duration_seconds"),
        ({"ended_at": iso(T0)}, "ended_at"),
        ({"ended_at": iso(T0 - timedelta(hours=1))}, "ended_at"),
        ({"duration_seconds": 0}, "duration_seconds"),
        ({"duration_seconds": 10**8}, "duration_seconds"),
        ({"ended_at": "yesterday"}, "ended_at"),
        ({"description": "x" * 1001, "duration_seconds": 60}, "description"),
    ],
)
def test_manual_entry_bad_input_is_400(world, extra, attr):
    response = world.api("member").post(
        "/api/v1/time-entries", {"project_id": str(world.project_open.id), "started_at": iso(T0), **extra}
    )
    assert_error(response, 400, attr=attr)
    assert not TimeEntry.objects.exists()


def test_overlap_is_409_naming_the_conflicting_entries(world):
    api = world.api("member")
    first = manual(api, world.project_open, T0, T0 + timedelta(hours=2)).json()
    second = manual(api, world.project_open, T0 + timedelta(hours=3), T0 + timedelta(hours=4)).json()
    response = manual(api, world.project_open, T0 + timedelta(hours=1), T0 + timedelta(hours=3, minutes=30))
    body = assert_error(response, 409)
    assert body["errors"][0]["code"] == "overlap"
    assert body["conflicting_entry_ids"] == [first["id"], second["id"]]
    assert first["id"] in body["errors"][0]["detail"]
    assert TimeEntry.objects.count() == 2


def test_another_users_entries_never_conflict(world):
    manual(world.api("member"), world.project_open, T0, T0 + timedelta(hours=2))
    assert manual(world.api("lead"), world.project_open, T0, T0 + timedelta(hours=2)).status_code == 201


def test_duplicate_client_id_is_409(world):
    api = world.api("member")
    eid = "0190c9b4-7f1e-7abc-8000-0000000000bb"
    assert manual(api, world.project_open, T0, T0 + timedelta(hours=1), id=eid).status_code == 201
    body = assert_error(
        manual(api, world.project_open, T0 + timedelta(days=1), T0 + timedelta(days=1, hours=1), id=eid), 409
    )
    assert body["errors"][0]["code"] == "duplicate_id"


# --------------------------------------------------------------------------- edit, delete


def test_edit_keeps_the_invariants(world):
    api = world.api("member")
    a = manual(api, world.project_open, T0, T0 + timedelta(hours=1)).json()
    b = manual(api, world.project_open, T0 + timedelta(hours=2), T0 + timedelta(hours=3)).json()
    moved = api.patch(
        f"/api/v1/time-entries/{a['id']}", {"ended_at": iso(T0 + timedelta(minutes=90)), "description": "y"}
    )
    assert moved.status_code == 200
    assert (moved.json()["duration_seconds"], moved.json()["description"]) == (5400, "y")
    clash = api.patch(f"/api/v1/time-entries/{a['id']}", {"ended_at": iso(T0 + timedelta(hours=2, minutes=30))})
    assert assert_error(clash, 409)["conflicting_entry_ids"] == [b["id"]]
    assert_error(
        api.patch(f"/api/v1/time-entries/{a['id']}", {"started_at": iso(T0 + timedelta(hours=5))}), 400, attr="ended_at"
    )
    assert_error(api.patch(f"/api/v1/time-entries/{a['id']}", {"project_id": str(world.project_archived.id)}), 409)
    assert TimeEntry.objects.get(pk=a["id"]).ended_at == T0 + timedelta(minutes=90)


def test_delete_is_a_tombstone_that_frees_the_slot(world):
    api = world.api("member")
    running = api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).json()
    assert api.delete(f"/api/v1/time-entries/{running['id']}").status_code == 204
    assert TimeEntry.objects.get(pk=running["id"]).deleted_at is not None
    assert api.get(f"/api/v1/time-entries/{running['id']}").status_code == 404
    assert api.get("/api/v1/time-entries/current").status_code == 204
    assert api.get("/api/v1/time-entries").json()["results"] == []
    assert api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).status_code == 201


# --------------------------------------------------------------------------- visibility


@pytest.fixture
def entries(world):
    """One entry for each of owner, manager, lead, member (lead's team), loner; and one in B."""
    made = {}
    for i, role in enumerate(["owner", "manager", "lead", "member", "loner", "outsider"]):
        project = world.project_b if role == "outsider" else world.project_open
        start = T0 + timedelta(hours=i)
        made[role] = manual(world.api(role), project, start, start + timedelta(minutes=30)).json()["id"]
    return made


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("owner", {"owner", "manager", "lead", "member", "loner"}),
        ("admin", {"owner", "manager", "lead", "member", "loner"}),
        ("manager", {"owner", "manager", "lead", "member", "loner"}),
        ("lead", {"lead", "member"}),
        ("member", {"member"}),
        ("loner", {"loner"}),
        ("outsider", {"outsider"}),
    ],
)
def test_list_shows_what_the_role_may_read(world, entries, role, sees):
    ids = {e["id"] for e in world.api(role).get("/api/v1/time-entries").json()["results"]}
    assert ids == {entries[r] for r in sees}


def test_user_me_and_other_filters(world, entries):
    api = world.api("owner")
    mine = api.get("/api/v1/time-entries?user=me").json()["results"]
    assert [e["id"] for e in mine] == [entries["owner"]]
    theirs = api.get(f"/api/v1/time-entries?user={world.users['lead'].id}").json()["results"]
    assert [e["id"] for e in theirs] == [entries["lead"]]
    window = api.get(f"/api/v1/time-entries?from={iso(T0 + timedelta(hours=2))}&to={iso(T0 + timedelta(hours=4))}")
    assert {e["id"] for e in window.json()["results"]} == {entries["lead"], entries["member"]}
    newest_first = [e["started_at"] for e in api.get("/api/v1/time-entries").json()["results"]]
    assert newest_first == sorted(newest_first, reverse=True)
    assert_error(api.get("/api/v1/time-entries?user=someone"), 400, attr="user")
    assert_error(api.get(f"/api/v1/time-entries?from={iso(T0)}&to={iso(T0)}"), 400, attr="to")


def test_who_may_edit_whose_entries(world, entries):
    # a LEAD reads the member's entry but may not change it; an ADMIN may
    assert world.api("lead").get(f"/api/v1/time-entries/{entries['member']}").status_code == 200
    assert_error(world.api("lead").patch(f"/api/v1/time-entries/{entries['member']}", {"description": "x"}), 403)
    assert_error(world.api("manager").delete(f"/api/v1/time-entries/{entries['member']}"), 403)
    assert_error(world.api("member").patch(f"/api/v1/time-entries/{entries['lead']}", {"description": "x"}), 404)
    assert (
        world.api("admin").patch(f"/api/v1/time-entries/{entries['member']}", {"description": "fixed"}).status_code
        == 200
    )
    # another company's entry: 404 for every verb, nothing changes
    for method in ("get", "patch", "delete"):
        assert_error(getattr(world.api("owner"), method)(f"/api/v1/time-entries/{entries['outsider']}", {}), 404)
    assert TimeEntry.objects.get(pk=entries["outsider"]).deleted_at is None


def test_a_removed_member_cannot_start_or_read(world, entries):
    api = world.api("member")
    org_services.member_remove(membership=world.users["member"].memberships.get(company=world.a))
    assert_error(
        api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}), 400, attr="project_id"
    )
    assert api.get("/api/v1/time-entries").json()["results"] == []


def test_project_tracked_seconds_and_open_tasks_are_real(world):
    from tracking import services

    api = world.api("owner")
    manual(api, world.project_open, T0, T0 + timedelta(hours=1))
    manual(world.api("member"), world.project_open, T0, T0 + timedelta(minutes=30))
    services.task_create(project=world.project_open, data={"title": "a"})
    services.task_create(project=world.project_open, data={"title": "b", "status": "DONE"})
    body = api.get(f"/api/v1/projects/{world.project_open.id}").json()
    assert (body["tracked_seconds"], body["open_task_count"]) == (5400, 1)
    # a running entry counts up to now
    TimeEntry.objects.create(
        company=world.a,
        user=world.users["loner"],
        project=world.project_open,
        started_at=timezone.now() - timedelta(minutes=10),
        source=Source.TIMER,
    )
    assert api.get(f"/api/v1/projects/{world.project_open.id}").json()["tracked_seconds"] in range(
        5400 + 599, 5400 + 660
    )
