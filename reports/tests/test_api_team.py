"""/reports/team: per member, money, activity, the role rules and stable pagination."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import MembershipFactory
from activity.models import ActivitySample
from organizations import services as org
from organizations.models import Membership
from tests.support.api import assert_error
from tracking import services as tracking

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/reports/team?from=2026-06-01&to=2026-06-30&tz=UTC"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def entry(world, role, start, hours, project=None, task=None, billable=None):
    membership = world.users[role].memberships.get(company=world.a)
    data = {
        "project_id": (project or world.project_open).id,
        "started_at": start,
        "ended_at": start + timedelta(hours=hours),
    }
    if task is not None:
        data["task_id"] = task.id
    if billable is not None:
        data["billable"] = billable
    return tracking.entry_create(membership=membership, data=data)


def rows_by_name(response) -> dict:
    assert response.status_code == 200, response.content
    return {row["user"]["name"]: row for row in response.json()["results"]}


def test_amounts_follow_the_rate_precedence_task_then_member_then_project(world):
    # project 100.00/h; the member's override 80.00/h; an hourly task at 150.00/h
    org.project_update(project=world.project_open, data={"hourly_rate_cents": 10000, "currency": "EUR"})
    Membership.objects.filter(user=world.users["member"], company=world.a).update(hourly_rate_cents=8000)
    hourly = tracking.task_create(
        project=world.project_open, data={"title": "Audit", "billing_type": "HOURLY_RATE", "hourly_rate_cents": 15000}
    )
    entry(world, "member", utc(2026, 6, 2, 9), 2)  # member override: 2 h x 80 = 160.00
    entry(world, "member", utc(2026, 6, 2, 12), 1, task=hourly)  # task rate: 150.00
    entry(world, "member", utc(2026, 6, 2, 14), 1, billable=False)  # not billable: no money
    entry(world, "lead", utc(2026, 6, 3, 9), 1.5)  # no override: project rate 150.00
    rows = rows_by_name(world.api("owner").get(URL))
    member, lead = rows["Member"], rows["Lead"]
    assert (member["tracked_seconds"], member["billable_seconds"]) == (4 * 3600, 3 * 3600)
    assert (member["amount_cents"], member["currency"]) == (16000 + 15000, "EUR")
    assert lead["amount_cents"] == 15000
    assert [(p["name"], p["seconds"], p["amount_cents"]) for p in member["projects"]] == [("Open", 4 * 3600, 31000)]


def test_activity_percent_is_active_seconds_over_tracked_seconds(world):
    entry(world, "member", utc(2026, 6, 2, 9), 1)
    member = world.users["member"]
    ActivitySample.objects.bulk_create(
        [
            ActivitySample(
                company=world.a,
                user=member,
                device_id="laptop",
                minute=utc(2026, 6, 2, 9) + timedelta(minutes=n),
                active_seconds=45,
            )
            for n in range(60)
        ]
    )
    rows = rows_by_name(world.api("manager").get(URL))
    assert rows["Member"]["activity_percent"] == 75.0
    assert rows["Loner"]["activity_percent"] is None  # nothing tracked: no percentage
    assert rows["Loner"]["tracked_seconds"] == 0


def test_a_minute_two_devices_report_counts_once_in_activity_percent(world):
    """A member at two machines: both send samples for the same minutes. The minute counts
    its more active device's seconds, not their sum (which read 150 % before, capped to 100)."""
    entry(world, "member", utc(2026, 6, 2, 9), 1)
    member = world.users["member"]
    ActivitySample.objects.bulk_create(
        [
            ActivitySample(
                company=world.a,
                user=member,
                device_id=device,
                minute=utc(2026, 6, 2, 9) + timedelta(minutes=n),
                active_seconds=active,
            )
            for n in range(60)
            for device, active in (("laptop", 45), ("desktop", 30))
        ]
    )
    assert rows_by_name(world.api("manager").get(URL))["Member"]["activity_percent"] == 75.0


def test_each_role_sees_the_rows_the_role_table_allows(world):
    names = {
        role: set(rows_by_name(world.api(role).get(URL))) for role in ("owner", "admin", "manager", "lead", "member")
    }
    everyone = {"Olive Owner", "Admin", "Manager", "Lead", "Member", "Loner"}
    assert names["owner"] == names["admin"] == names["manager"] == everyone
    assert names["lead"] == {"Lead", "Member"}  # their team, themselves included
    assert names["member"] == {"Member"}
    assert set(rows_by_name(world.api("owner").get(f"{URL}&team={world.team.id}"))) == {"Lead", "Member"}
    assert_error(world.api("owner").get(f"{URL}&team={world.team_b.id}"), 404)  # another company's team
    assert_error(world.api("outsider").get(f"{URL}&company={world.a.id}"), 404)
    assert "Oscar Outsider" not in names["owner"]


def test_pages_cover_every_member_once_in_a_stable_order(world):
    for n in range(7):
        MembershipFactory(company=world.a, user__name=f"Zed {n:02d}")
    api, seen, url = world.api("owner"), [], URL + "&limit=4"
    while url:
        page = api.get(url).json()
        seen += [row["user"]["id"] for row in page["results"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 13
    names = [Membership.objects.get(user_id=i, company=world.a).user.name for i in seen]
    assert names == sorted(names)


@pytest.mark.parametrize(("query", "attr"), [("from=2026-06-10&to=2026-06-01", "to"), ("tz=Mars/Base", "tz")])
def test_bad_ranges_are_400(world, query, attr):
    assert_error(world.api("owner").get(f"/api/v1/reports/team?{query}"), 400, attr=attr)
