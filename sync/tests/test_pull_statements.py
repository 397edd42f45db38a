"""GET /sync/changes in two statements (the log's state with the memberships, then the rows),
each compiled once per process: the memberships are still read on every pull, and the stand-ins
the statements were compiled with never leak into another call's answer."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.personal_tokens import personal_token_create
from accounts.tests.factories import MembershipFactory
from organizations import services as org_services
from organizations.models import Membership, Role
from tests.support.sync import entry_item, pull, push

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_channel_layer")]


def test_a_pull_is_two_queries_and_a_poll_at_the_head_one(world, django_assert_num_queries):
    api = world.api("member")
    cursor = api.get("/api/v1/sync/changes").json()["next_cursor"]
    assert push(api, [entry_item(world)]).json()["processed"] == 1
    head = pull(api, cursor).json()["next_cursor"]  # numbers the batch; warms the caches
    with django_assert_num_queries(2):  # state + memberships, then the rows
        assert len(pull(api, cursor).json()["changes"]) == 1
    with django_assert_num_queries(1):  # state + memberships: nothing new
        assert pull(api, head).json()["changes"] == []


def test_each_pull_reads_the_memberships_as_they_are_now(world):
    """The compiled statements are per process; the memberships they run with are not."""
    cursor = world.api("owner").get("/api/v1/sync/changes").json()["next_cursor"]
    loner = world.api("loner")
    theirs = loner.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}).json()
    member = world.api("member")
    assert theirs["id"] not in {c["id"] for c in pull(member, cursor).json()["changes"]}

    membership = Membership.objects.get(user=world.users["member"], company=world.a)
    membership.role = Role.MANAGER
    membership.save()
    assert theirs["id"] in {c["id"] for c in pull(member, cursor).json()["changes"]}

    org_services.member_remove(membership=membership)
    assert pull(member, cursor).json()["changes"] == []


def test_a_token_bound_to_a_company_pulls_that_company_only(world):
    """The memberships statement compiled for a company-bound token, with its stand-ins, each
    replaced by this caller's user and company."""
    MembershipFactory(user=world.users["member"], company=world.b)
    api = world.api("member")
    cursor = api.get("/api/v1/sync/changes").json()["next_cursor"]
    assert push(api, [entry_item(world)]).json()["processed"] == 1
    in_b = entry_item(world, hour=2)
    in_b["data"]["project_id"] = str(world.project_b.id)
    assert push(api, [in_b]).json()["processed"] == 1

    def projects(client):
        return [c["data"]["project_id"] for c in pull(client, cursor).json()["changes"]]

    assert projects(api) == [str(world.project_open.id), str(world.project_b.id)]
    for company, project in [(world.b, world.project_b), (world.a, world.project_open)]:
        _, raw = personal_token_create(user=world.users["member"], name="bound", scopes=["read"], company=company)
        bound = APIClient()
        bound.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert projects(bound) == [str(project.id)]
    # and another member's pull, after those compiled the statements, answers for them alone
    assert projects(world.api("outsider")) == [str(world.project_b.id)]
