"""Edits of another member's entries leave an audit row (SPEC: the audit log), written in the
same transaction as the change, by REST and the admin (the sync batch only ever touches one's
own entries: sync/tests/test_locked_batch.py). The owner editing their own entries leaves none."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD, UserFactory
from audit.models import AuditEntry
from tests.support.admin import form_data, page
from tests.support.locked_periods import lock_week
from tracking import services
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def an_entry(world, role="member", **data):
    return services.entry_create(
        membership=world.users[role].memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": T0, "duration_seconds": 3600, **data},
    )


def the_row() -> AuditEntry:
    rows = list(AuditEntry.objects.filter(target_type="time_entry"))
    assert len(rows) == 1, [(r.action, r.changes) for r in rows]
    return rows[0]


# --------------------------------------------------------------------------- REST


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_admin_editing_a_members_entry_is_audited_with_before_and_after(world, role):
    entry = an_entry(world, description="draft")
    editor = world.users[role]

    response = world.api(role).patch(
        f"/api/v1/time-entries/{entry.pk}",
        {"description": "fixed", "ended_at": iso(T0 + timedelta(minutes=90))},
        HTTP_X_REQUEST_ID="req-audit-1",
    )

    assert response.status_code == 200, response.content
    row = the_row()
    assert (row.action, row.target_type, row.target_id) == ("time_entry.updated", "time_entry", str(entry.pk))
    assert (row.company_id, row.subject_user_id) == (world.a.pk, world.users["member"].pk)
    assert (row.actor_id, row.actor_email, row.actor_name) == (editor.pk, editor.email, editor.name)
    assert row.changes == {
        "description": ["draft", "fixed"],
        "ended_at": ["2026-03-04T10:00:00Z", "2026-03-04T10:30:00Z"],
        "duration_seconds": [3600, 5400],
    }
    assert row.request_id == "req-audit-1"
    assert row.ip is not None


def test_moving_a_members_entry_to_another_project_names_both(world):
    task = services.task_create(project=world.project_open, data={"title": "Old task"})
    entry = an_entry(world, task_id=task.pk)
    response = world.api("owner").patch(f"/api/v1/time-entries/{entry.pk}", {"project_id": str(world.project_team.id)})
    assert response.status_code == 200, response.content
    assert the_row().changes == {
        "project": [str(world.project_open.pk), str(world.project_team.pk)],
        "task": [str(task.pk), None],
    }


def test_an_admin_deleting_a_members_entry_is_audited_with_what_was_deleted(world):
    entry = an_entry(world, description="gone")
    response = world.api("admin").delete(f"/api/v1/time-entries/{entry.pk}")
    assert response.status_code == 204
    row = the_row()
    assert (row.action, row.subject_user_id, row.actor_id) == (
        "time_entry.deleted",
        world.users["member"].pk,
        world.users["admin"].pk,
    )
    assert row.changes["description"] == ["gone", None]
    assert row.changes["started_at"] == ["2026-03-04T09:00:00Z", None]
    assert row.changes["project"] == [str(world.project_open.pk), None]


def test_the_owner_editing_their_own_entries_writes_no_audit_row(world):
    entry = an_entry(world, role="owner")
    api = world.api("owner")
    assert api.patch(f"/api/v1/time-entries/{entry.pk}", {"description": "mine"}).status_code == 200
    assert api.delete(f"/api/v1/time-entries/{entry.pk}").status_code == 204
    member_api = world.api("member")
    own = member_api.post(
        "/api/v1/time-entries",
        {"project_id": str(world.project_open.id), "started_at": iso(T0 + timedelta(days=1)), "duration_seconds": 60},
    )
    assert own.status_code == 201
    assert member_api.patch(f"/api/v1/time-entries/{own.json()['id']}", {"description": "x"}).status_code == 200
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()


def test_a_save_that_changes_nothing_writes_no_row(world):
    entry = an_entry(world, description="same")
    response = world.api("owner").patch(f"/api/v1/time-entries/{entry.pk}", {"description": "same"})
    assert response.status_code == 200
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()


def test_refused_edits_write_no_row(world):
    # 403 for a role that may read but not edit; 409 for a locked week: nothing changed
    entry = an_entry(world)
    assert world.api("manager").patch(f"/api/v1/time-entries/{entry.pk}", {"description": "x"}).status_code == 403
    lock_week(company=world.a, user=world.users["member"], day=T0.date())
    assert world.api("owner").patch(f"/api/v1/time-entries/{entry.pk}", {"description": "x"}).status_code == 409
    assert world.api("owner").delete(f"/api/v1/time-entries/{entry.pk}").status_code == 409
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()


def test_entry_create_for_someone_else_is_audited_as_created(world):
    # No REST path creates entries for others today (imports for others will): the service
    # records it whenever the actor is not the owner.
    entry = services.entry_create(
        membership=world.users["member"].memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": T0, "duration_seconds": 60, "description": "x"},
        actor=world.users["admin"],
    )
    row = the_row()
    assert (row.action, row.target_id, row.subject_user_id) == (
        "time_entry.created",
        str(entry.pk),
        world.users["member"].pk,
    )
    assert row.changes["description"] == [None, "x"]
    assert row.changes["duration_seconds"] == [None, 60]


# --------------------------------------------------------------------------- admin


@pytest.fixture
def owner_client(client, world):
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    return client


def entry_form(client, entry: TimeEntry) -> tuple[str, dict]:
    change = reverse("admin:tracking_timeentry_change", args=[entry.pk])
    data = form_data(client.get(change))
    for field in ("started_at", "ended_at"):
        value = getattr(entry, field)
        del data[field]
        data.update({f"{field}_0": f"{value:%Y-%m-%d}", f"{field}_1": f"{value:%H:%M:%S}"})
    return change, data


def test_an_admin_edit_in_the_django_admin_is_audited(owner_client, world):
    entry = an_entry(world, description="draft")
    change, data = entry_form(owner_client, entry)
    data["description"] = "fixed in the admin"

    response = owner_client.post(change, data)

    assert response.status_code == 302, page(response)
    row = the_row()
    assert (row.action, row.actor_id, row.subject_user_id) == (
        "time_entry.updated",
        world.users["owner"].pk,
        world.users["member"].pk,
    )
    assert row.changes == {"description": ["draft", "fixed in the admin"]}


def test_a_delete_in_the_django_admin_is_audited(owner_client, world):
    entry = an_entry(world)
    response = owner_client.post(reverse("admin:tracking_timeentry_delete", args=[entry.pk]), {"post": "yes"})
    assert response.status_code == 302
    row = the_row()
    assert (row.action, row.actor_id, row.target_id) == ("time_entry.deleted", world.users["owner"].pk, str(entry.pk))


def test_a_superuser_editing_in_the_admin_is_the_actor_not_the_owner(client, world):
    # a superuser has no membership: the service edits with the owner's, the actor stays who it is
    root = UserFactory(is_superuser=True, is_staff=True)
    client.force_login(root)
    entry = an_entry(world)
    change, data = entry_form(client, entry)
    data["description"] = "by root"
    assert client.post(change, data).status_code == 302
    row = the_row()
    assert (row.actor_id, row.subject_user_id) == (root.pk, world.users["member"].pk)


def test_an_owner_editing_their_own_entry_in_the_admin_writes_no_row(owner_client, world):
    entry = an_entry(world, role="owner")
    change, data = entry_form(owner_client, entry)
    data["description"] = "mine"
    assert owner_client.post(change, data).status_code == 302
    assert TimeEntry.objects.get(pk=entry.pk).description == "mine"
    assert not AuditEntry.objects.filter(target_type="time_entry").exists()
