"""/reports/daily?from=&to=: one daily object per local day of a range (at most 31), each the
same as /reports/daily?date= answers for that day, in a constant number of queries."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reports.selectors.days import local_day_bounds
from tests.support.api import assert_error
from tracking import services as tracking
from tracking.models import Timesheet
from tracking.weeks import week_containing

pytestmark = pytest.mark.django_db(transaction=True)
HOUR = 3600
URL = "/api/v1/reports/daily"


def entry(world, start, end, role="member", project=None, task=None):
    membership = world.users[role].memberships.get(company=world.a)
    data = {"project_id": (project or world.project_open).id, "started_at": start, "ended_at": end}
    if task is not None:
        data["task_id"] = task.id
    return tracking.entry_create(membership=membership, data=data)


def ranged(world, first: str, last: str, tz: str, role="member", **extra):
    response = world.api(role).get(URL, {"from": first, "to": last, "tz": tz, **extra})
    assert response.status_code == 200, response.content
    return response.json()


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.mark.parametrize(
    ("first", "last", "hours"),
    [
        (date(2026, 3, 28), date(2026, 3, 30), [24, 23, 24]),  # Berlin springs forward on Sunday 29th
        (date(2026, 10, 24), date(2026, 10, 26), [24, 25, 24]),  # and falls back on Sunday 25th
    ],
)
def test_a_range_across_a_dst_change_has_the_right_local_days(world, first, last, hours):
    zone = ZoneInfo("Europe/Berlin")
    # One entry from an hour before the range's first local midnight to an hour after its last.
    entry(
        world,
        local_day_bounds(first, zone)[0] - timedelta(hours=1),
        local_day_bounds(last, zone)[1] + timedelta(hours=1),
    )
    body = ranged(world, first.isoformat(), last.isoformat(), "Europe/Berlin")
    assert (body["from"], body["to"], body["timezone"]) == (first.isoformat(), last.isoformat(), "Europe/Berlin")
    assert [d["date"] for d in body["days"]] == [d.isoformat() for d in days_of(first, last)]
    assert [d["total_seconds"] for d in body["days"]] == [h * HOUR for h in hours]
    assert [[(p["name"], p["seconds"]) for p in d["projects"]] for d in body["days"]] == [
        [("Open", h * HOUR)] for h in hours
    ]


def test_an_entry_across_midnight_is_split_as_date_splits_it(world):
    task = tracking.task_create(project=world.project_open, data={"title": "Review"})
    # 22:00 on 2 June to 02:00 on 3 June in New York (EDT, UTC-4).
    entry(world, datetime(2026, 6, 3, 2, tzinfo=UTC), datetime(2026, 6, 3, 6, tzinfo=UTC), task=task)
    body = ranged(world, "2026-06-02", "2026-06-03", "America/New_York")
    assert [d["total_seconds"] for d in body["days"]] == [2 * HOUR, 2 * HOUR]
    assert body["days"][0]["projects"][0]["tasks"] == [
        {"task_id": str(task.id), "title": "Review", "seconds": 2 * HOUR}
    ]
    api = world.api("member")
    for day in body["days"]:
        assert api.get(URL, {"date": day["date"], "tz": "America/New_York"}).json() == day


def test_every_day_of_a_range_is_exactly_what_date_answers_for_it(world):
    """Entries with and without tasks on two projects around New York's autumn DST change and
    an APPROVED week: each day of the range, status included, equals that day's own report,
    so the range's days also sum to the per-day totals."""
    review = tracking.task_create(project=world.project_open, data={"title": "Review"})
    zone = ZoneInfo("America/New_York")
    first, last = date(2026, 10, 26), date(2026, 11, 8)  # Mondays' weeks of 26 Oct and 2 Nov
    empty = {4, 10}  # days without any time (the days before them end before midnight)
    for n, day in enumerate(days_of(first, last)):
        if n in empty:
            continue
        start = local_day_bounds(day, zone)[0] + timedelta(hours=19 + 2 * (n % 3))  # from 23:00: past midnight
        entry(world, start, start + timedelta(hours=2, minutes=n), task=review if n % 2 else None)
        if n % 3 == 0:
            entry(world, start - timedelta(hours=5), start - timedelta(hours=4), project=world.project_team)
    member = world.users["member"]
    member.timezone = "America/New_York"
    member.save(update_fields=["timezone"])
    week = week_containing(date(2026, 11, 2), week_start=world.a.week_start, timezone=member.timezone)
    Timesheet.objects.create(
        company=world.a,
        user=member,
        period_start=week.period_start,
        period_end=week.period_end,
        timezone=week.timezone,
        starts_at=week.starts_at,
        ends_at=week.ends_at,
        status="APPROVED",
        total_seconds=0,
    )

    body = ranged(world, first.isoformat(), last.isoformat(), "America/New_York")

    api = world.api("member")
    singles = [api.get(URL, {"date": d.isoformat(), "tz": "America/New_York"}).json() for d in days_of(first, last)]
    assert body["days"] == singles
    assert sum(d["total_seconds"] for d in body["days"]) == sum(d["total_seconds"] for d in singles) > 0
    assert [d["approval_status"] for d in body["days"]] == ["OPEN"] * 7 + ["APPROVED"] * 7
    assert [n for n, d in enumerate(body["days"]) if not d["total_seconds"]] == sorted(empty)
    assert any(len(d["projects"]) == 2 for d in body["days"])


def test_a_day_without_time_is_there_with_zero_and_no_projects(world):
    entry(world, datetime(2026, 6, 3, 9, tzinfo=UTC), datetime(2026, 6, 3, 10, tzinfo=UTC))
    body = ranged(world, "2026-06-01", "2026-06-05", "UTC")
    assert body["user_id"] == str(world.users["member"].id)
    assert [d["total_seconds"] for d in body["days"]] == [0, 0, HOUR, 0, 0]
    assert body["days"][0] == {
        "date": "2026-06-01",
        "timezone": "UTC",
        "total_seconds": 0,
        "approval_status": "OPEN",
        "projects": [],
    }


def test_31_days_are_answered_and_32_refused(world):
    body = ranged(world, "2026-05-01", "2026-05-31", "UTC")
    assert len(body["days"]) == 31
    assert_error(world.api("member").get(URL, {"from": "2026-05-01", "to": "2026-06-01"}), 400, attr="to")


@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ({"date": "2026-06-01", "from": "2026-06-01", "to": "2026-06-02"}, "date"),
        ({"date": "2026-06-01", "to": "2026-06-02"}, "date"),
        ({"from": "2026-06-01"}, "to"),
        ({"to": "2026-06-01"}, "from"),
        ({"from": "2026-06-02", "to": "2026-06-01"}, "to"),
        ({"from": "2026-01-01", "to": "2026-12-31"}, "to"),
        ({"from": "june", "to": "2026-06-30"}, "from"),
        ({"from": "2026-06-01", "to": "2026-06-31"}, "to"),
        ({"from": "", "to": "2026-06-01"}, "from"),
        ({"from": "0001-01-01", "to": "0001-01-05"}, "from"),
        ({"from": "9999-12-30", "to": "9999-12-31"}, "from"),
        ({"from": "2026-06-01", "to": "9999-12-31"}, "to"),
    ],
)
def test_a_bad_range_is_400_naming_the_parameter(world, query, attr):
    assert_error(world.api("member").get(URL, query), 400, attr=attr)


def test_who_may_read_whose_range(world):
    member = world.users["member"]
    entry(world, datetime(2026, 6, 2, 9, tzinfo=UTC), datetime(2026, 6, 2, 10, tzinfo=UTC))
    for role in ("owner", "admin", "manager", "lead"):  # the lead leads the member's team
        body = ranged(world, "2026-06-01", "2026-06-03", "UTC", role=role, user=member.id)
        assert (body["user_id"], [d["total_seconds"] for d in body["days"]]) == (str(member.id), [0, HOUR, 0])
    query = {"from": "2026-06-01", "to": "2026-06-03", "user": member.id}
    assert_error(world.api("loner").get(URL, query), 404)  # a MEMBER: themselves only
    assert_error(world.api("member").get(URL, {**query, "user": world.users["owner"].id}), 404)
    # Their own: nothing tracked, every day there.
    assert [d["total_seconds"] for d in ranged(world, "2026-06-01", "2026-06-03", "UTC", role="loner")["days"]] == [
        0
    ] * 3


def test_another_companys_users_and_company_are_404(world):
    entry(world, datetime(2026, 6, 2, 9, tzinfo=UTC), datetime(2026, 6, 2, 10, tzinfo=UTC))
    span = {"from": "2026-06-01", "to": "2026-06-03"}
    # Company B's outsider asks for A's member, in B and in A.
    assert_error(world.api("outsider").get(URL, {**span, "user": world.users["member"].id}), 404)
    assert_error(world.api("outsider").get(URL, {**span, "company": world.a.id}), 404)
    # A's owner asks for B's outsider, and for a range in B.
    assert_error(world.api("owner").get(URL, {**span, "user": world.users["outsider"].id}), 404)
    assert_error(world.api("member").get(URL, {**span, "company": world.b.id}), 404)
    # B's own range never shows A's time.
    body = ranged(world, "2026-06-01", "2026-06-03", "UTC", role="outsider")
    assert [d["total_seconds"] for d in body["days"]] == [0, 0, 0]


def test_31_days_cost_no_more_queries_than_one(world, django_assert_max_num_queries):
    task = tracking.task_create(project=world.project_open, data={"title": "Review"})
    for n in range(31):  # time on every day, on two projects, with and without a task
        start = datetime(2026, 5, 1, 9, tzinfo=UTC) + timedelta(days=n)
        entry(world, start, start + timedelta(hours=1), task=task if n % 2 else None)
        entry(world, start + timedelta(hours=2), start + timedelta(hours=3), project=world.project_team)
    api = world.api("member")
    api.get(URL, {"from": "2026-05-01", "to": "2026-05-01", "tz": "UTC"})  # warm: the session's first touch
    with CaptureQueriesContext(connection) as one:
        response = api.get(URL, {"from": "2026-05-01", "to": "2026-05-01", "tz": "UTC"})
    assert [d["total_seconds"] for d in response.json()["days"]] == [2 * HOUR]
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = api.get(URL, {"from": "2026-05-01", "to": "2026-05-31", "tz": "UTC"})
    assert [d["total_seconds"] for d in response.json()["days"]] == [2 * HOUR] * 31


def test_the_schema_documents_both_parameters_and_both_shapes():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operation = schema["paths"][URL]["get"]
    assert {"date", "from", "to", "user", "tz", "company"} <= {p["name"] for p in operation["parameters"]}
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]
    shapes = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[-1]]["oneOf"]
    assert [s["$ref"].rsplit("/", 1)[-1] for s in shapes] == ["DailyReport", "DailyRangeReport"]
    ranged_shape = schema["components"]["schemas"]["DailyRangeReport"]
    assert ranged_shape["properties"]["days"]["items"] == {"$ref": "#/components/schemas/DailyReport"}
