"""Tasks: nesting, the tree with rolled-up seconds and estimates, moves, billing, status."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import assert_error
from tracking import services
from tracking.models import Task, TimeEntry

pytestmark = pytest.mark.django_db
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _chain(project, depth: int, estimate: int = 0) -> list[Task]:
    tasks, parent = [], None
    for level in range(depth):
        parent = services.task_create(
            project=project,
            data={"title": f"L{level}", "parent_id": parent.pk if parent else None, "estimate_seconds": estimate},
        )
        tasks.append(parent)
    return tasks


def _track(world, task, hours: float, role="member", offset_hours=0):
    start = T0 + timedelta(hours=offset_hours)
    TimeEntry.objects.create(
        company=world.a,
        user=world.users[role],
        project=task.project,
        task=task,
        started_at=start,
        ended_at=start + timedelta(hours=hours),
        duration_seconds=int(hours * 3600),
    )


def test_tree_rolls_up_seconds_and_estimates(world):
    root, child, grandchild = _chain(world.project_open, 3, estimate=3600)
    sibling = services.task_create(project=world.project_open, data={"title": "Sibling", "parent_id": root.pk})
    _track(world, root, 1)
    _track(world, child, 2, offset_hours=2)
    _track(world, grandchild, 0.5, offset_hours=5)
    _track(world, sibling, 0.25, role="lead", offset_hours=7)
    # a deleted entry counts for nothing
    TimeEntry.objects.filter(task=sibling).update(deleted_at=T0)
    _track(world, sibling, 0.25, role="lead", offset_hours=9)

    tree = world.api("member").get(f"/api/v1/projects/{world.project_open.id}/tasks").json()
    assert len(tree) == 1
    node = tree[0]
    assert (node["title"], node["own_seconds"], node["total_seconds"], node["total_estimate_seconds"]) == (
        "L0",
        3600,
        3600 + 7200 + 1800 + 900,
        3 * 3600,
    )
    assert [c["title"] for c in node["children"]] == ["L1", "Sibling"]
    l1 = node["children"][0]
    assert (l1["own_seconds"], l1["total_seconds"], l1["total_estimate_seconds"]) == (7200, 9000, 7200)
    leaf = l1["children"][0]
    assert (leaf["own_seconds"], leaf["total_seconds"], leaf["children"]) == (1800, 1800, [])
    assert set(leaf) >= {"billing_type", "hourly_rate_cents", "task_price_cents", "parent_id", "status"}


@pytest.mark.parametrize("depth", [1, 40])
def test_tree_query_count_does_not_grow_with_depth(world, depth, django_assert_max_num_queries):
    tasks = _chain(world.project_open, depth)
    _track(world, tasks[-1], 1)
    api = world.api("member")
    api.get("/api/v1/time-entries/current")  # the session's first request fills the auth cache
    with django_assert_max_num_queries(5):  # user, memberships, project, tasks, seconds per task
        response = api.get(f"/api/v1/projects/{world.project_open.id}/tasks")
    node, seen = response.json()[0], 1
    while node["children"]:
        node, seen = node["children"][0], seen + 1
    assert seen == depth
    assert response.json()[0]["total_seconds"] == 3600


def test_moving_under_its_own_descendant_is_400(world):
    root, child, grandchild = _chain(world.project_open, 3)
    api = world.api("member")
    for target in (grandchild, child, root):
        response = api.patch(f"/api/v1/tasks/{root.id}", {"parent_id": str(target.id)})
        body = assert_error(response, 400, attr="parent_id")
        assert body["errors"][0]["code"] == "cycle"
    # a legal move: grandchild to the top
    assert api.patch(f"/api/v1/tasks/{grandchild.id}", {"parent_id": None}).json()["parent_id"] is None
    root.refresh_from_db()
    assert root.parent_id is None


def test_parent_must_be_in_the_same_project(world):
    other = services.task_create(project=world.project_team, data={"title": "elsewhere"})
    task = services.task_create(project=world.project_open, data={"title": "here"})
    assert_error(
        world.api("owner").patch(f"/api/v1/tasks/{task.id}", {"parent_id": str(other.id)}), 400, attr="parent_id"
    )
    response = world.api("owner").post(
        "/api/v1/tasks", {"project_id": str(world.project_open.id), "title": "x", "parent_id": str(other.id)}
    )
    assert_error(response, 400, attr="parent_id")


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"billing_type": "HOURLY_RATE"}, "hourly_rate_cents"),
        ({"billing_type": "HOURLY_RATE", "hourly_rate_cents": 1, "task_price_cents": 1}, "task_price_cents"),
        ({"billing_type": "TASK_PRICE"}, "task_price_cents"),
        ({"billing_type": "TASK_PRICE", "task_price_cents": 1, "hourly_rate_cents": 1}, "hourly_rate_cents"),
        ({"hourly_rate_cents": 5}, "hourly_rate_cents"),
        ({"billing_type": "BARTER"}, "billing_type"),
        ({"title": ""}, "title"),
    ],
)
def test_billing_xor_and_input_validation(world, payload, attr):
    body = {"project_id": str(world.project_open.id), "title": "t", **payload}
    assert_error(world.api("owner").post("/api/v1/tasks", body), 400, attr=attr)
    assert not Task.objects.exists()


def test_create_edit_status_delete(world):
    api = world.api("member")  # a MEMBER manages tasks in projects they see
    created = api.post(
        "/api/v1/tasks",
        {
            "project_id": str(world.project_open.id),
            "title": "Write copy",
            "billing_type": "TASK_PRICE",
            "task_price_cents": 50000,
        },
    )
    assert created.status_code == 201
    tid = created.json()["id"]
    assert (
        api.patch(
            f"/api/v1/tasks/{tid}", {"billing_type": "HOURLY_RATE", "hourly_rate_cents": 9000, "task_price_cents": None}
        ).status_code
        == 200
    )
    assert api.post(f"/api/v1/tasks/{tid}/status", {"status": "DONE"}).json()["status"] == "DONE"
    assert_error(api.post(f"/api/v1/tasks/{tid}/status", {"status": "SLEEPING"}), 400, attr="status")
    child = services.task_create(project=world.project_open, data={"title": "child", "parent_id": tid})
    _track(world, child, 1)
    assert api.delete(f"/api/v1/tasks/{tid}").status_code == 204
    assert not Task.objects.filter(pk__in=[tid, child.pk]).exists()
    assert TimeEntry.objects.get().task_id is None  # the time stays, without a task


def test_task_visibility_follows_projects(world):
    team_task = services.task_create(project=world.project_team, data={"title": "team"})
    assert world.api("member").get(f"/api/v1/tasks/{team_task.id}").status_code == 200
    for role in ("loner", "outsider"):
        api = world.api(role)
        assert_error(api.get(f"/api/v1/tasks/{team_task.id}"), 404)
        assert_error(api.patch(f"/api/v1/tasks/{team_task.id}", {"title": "x"}), 404)
        assert_error(api.get(f"/api/v1/projects/{world.project_team.id}/tasks"), 404)
        assert_error(
            api.post("/api/v1/tasks", {"project_id": str(world.project_team.id), "title": "x"}), 400, attr="project_id"
        )
    assert Task.objects.get(pk=team_task.pk).title == "team"
    listed = {t["id"] for t in world.api("loner").get("/api/v1/tasks").json()["results"]}
    assert str(team_task.id) not in listed


def test_task_time_entries_with_descendants(world):
    root, child = _chain(world.project_open, 2)
    _track(world, root, 1)
    _track(world, child, 1, offset_hours=2)
    api = world.api("owner")
    own = api.get(f"/api/v1/tasks/{root.id}/time-entries").json()["results"]
    both = api.get(f"/api/v1/tasks/{root.id}/time-entries?descendants=true").json()["results"]
    assert [e["task_id"] for e in own] == [str(root.id)]
    assert sorted(e["task_id"] for e in both) == sorted([str(root.id), str(child.id)])
    # the member's role rules still apply: the loner sees none of the member's entries
    assert world.api("loner").get(f"/api/v1/tasks/{root.id}/time-entries?descendants=true").json()["results"] == []


@pytest.mark.parametrize("project", ["not-a-uuid", ""])
def test_task_list_with_a_malformed_project_filter_is_400_not_500(world, project):
    # Found by schema fuzzing: the raw value reached the ORM, whose ValidationError was a 500.
    response = world.api("owner").get("/api/v1/tasks", {"project": project})
    assert_error(response, 400, attr="project")
