"""Tasks and entries in the admin: an OWNER of A sees and edits only A's, through the services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from tests.support.admin import form_data, page
from tracking import services
from tracking.models import Task as TaskModel
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def rows(world):
    b_membership = world.users["outsider"].memberships.get(company=world.b)
    a_membership = world.users["member"].memberships.get(company=world.a)
    return {
        "task_a": services.task_create(project=world.project_open, data={"title": "Alpha task"}),
        "task_b": services.task_create(project=world.project_b, data={"title": "Bravo task"}),
        "entry_a": services.entry_create(
            membership=a_membership,
            data={
                "project_id": world.project_open.id,
                "started_at": T0,
                "duration_seconds": 3600,
                "description": "Alpha work",
            },
        ),
        "entry_b": services.entry_create(
            membership=b_membership,
            data={
                "project_id": world.project_b.id,
                "started_at": T0,
                "duration_seconds": 3600,
                "description": "Bravo work",
            },
        ),
    }


@pytest.fixture
def owner_client(client, world):
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    return client


@pytest.mark.parametrize("model", ["task", "timeentry"])
def test_owner_sees_only_their_companys_tasks_and_entries(owner_client, rows, model):
    html = owner_client.get(reverse(f"admin:tracking_{model}_changelist")).content.decode()
    assert "Alpha" in html
    assert "Bravo" not in html


@pytest.mark.parametrize("key", ["task_b", "entry_b"])
def test_another_companys_row_does_not_exist_by_url(owner_client, rows, key):
    obj = rows[key]
    response = owner_client.get(reverse(f"admin:tracking_{obj._meta.model_name}_change", args=[obj.pk]))
    assert response.status_code == 302  # "doesn't exist", back to the index
    assert "Bravo" not in response.content.decode()


def test_admin_edits_go_through_the_invariants(owner_client, rows, world):
    other = services.entry_create(
        membership=world.users["member"].memberships.get(company=world.a),
        data={"project_id": world.project_open.id, "started_at": T0 + timedelta(hours=2), "duration_seconds": 3600},
    )
    change = reverse("admin:tracking_timeentry_change", args=[rows["entry_a"].pk])
    data = form_data(owner_client.get(change))
    # the admin's split date/time widgets post two fields each
    data.update(started_at_0="2026-03-02", started_at_1="09:00:00")
    data.update(ended_at_0="2026-03-02", ended_at_1="11:30:00")  # into the next entry
    response = owner_client.post(change, data, follow=True)
    assert "overlaps another entry" in response.content.decode()
    assert TimeEntry.objects.get(pk=rows["entry_a"].pk).ended_at == T0 + timedelta(hours=1)
    assert other.pk


def test_parent_raw_id_widget_shows_nothing_of_another_companys_task(owner_client, rows, world):
    # given Alpha's owner on a task form whose parent id is Bravo's task: in the link a
    # browser follows (?parent=), and posted back (the form is shown again with its error)
    add = reverse("admin:tracking_task_add")
    response = owner_client.get(add, {"parent": str(rows["task_b"].pk)})
    assert response.status_code == 200
    # then the raw-id widget's label does not name it (Django looked it up unscoped)
    assert "Bravo task" not in page(response)

    data = form_data(owner_client.get(add))
    data.update(title="Child", project=str(world.project_open.pk), parent=str(rows["task_b"].pk))
    response = owner_client.post(add, data)
    assert response.status_code == 200  # refused, the form again
    assert "Bravo task" not in page(response)
    assert not TaskModel.objects.filter(title="Child").exists()


def test_parent_raw_id_widget_still_names_the_companys_own_task(owner_client, rows):
    response = owner_client.get(reverse("admin:tracking_task_add"), {"parent": str(rows["task_a"].pk)})
    assert "Alpha task" in page(response)
