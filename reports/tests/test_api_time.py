"""/reports/daily and /reports/weekly: local days right across midnight and DST, in SQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reports.selectors.days import local_day_bounds
from reports.selectors.tracked_time import time_by_day
from tests.support.api import assert_error
from tracking import services as tracking
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def entry(world, start, end, role="member", project=None, task=None):
    membership = world.users[role].memberships.get(company=world.a)
    data = {"project_id": (project or world.project_open).id, "started_at": start, "ended_at": end}
    if task is not None:
        data["task_id"] = task.id
    return tracking.entry_create(membership=membership, data=data)


def daily(world, day: str, tz: str, role="member", **extra):
    query = "&".join([f"date={day}", f"tz={tz}", *(f"{k}={v}" for k, v in extra.items())])
    return world.api(role).get(f"/api/v1/reports/daily?{query}")


def test_berlin_spring_forward_splits_at_midnight_and_counts_the_real_hour(world):
    task = tracking.task_create(project=world.project_open, data={"title": "Review"})
    entry(world, utc(2026, 3, 28, 22), utc(2026, 3, 29, 0), task=task)  # 23:00 -> 01:00 local
    entry(world, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30))  # 01:30 CET -> 03:30 CEST: one hour
    day = daily(world, "2026-03-29", "Europe/Berlin").json()
    assert day["total_seconds"] == 7200
    [project] = day["projects"]
    assert (project["name"], project["seconds"]) == ("Open", 7200)
    assert project["tasks"] == [{"task_id": str(task.id), "title": "Review", "seconds": 3600}]
    assert daily(world, "2026-03-28", "Europe/Berlin").json()["total_seconds"] == 3600


@pytest.mark.parametrize(
    ("tz", "day", "hours"),
    [
        ("Europe/Berlin", date(2026, 3, 29), 23),
        ("Europe/Berlin", date(2026, 10, 25), 25),
        ("America/New_York", date(2026, 3, 8), 23),
        ("America/New_York", date(2026, 11, 1), 25),
    ],
)
def test_a_whole_local_day_across_a_dst_change_is_23_or_25_hours(world, tz, day, hours):
    lo, hi = local_day_bounds(day, ZoneInfo(tz))
    entry(world, lo - timedelta(hours=1), hi + timedelta(hours=1))
    assert daily(world, day.isoformat(), tz).json()["total_seconds"] == hours * 3600


def test_a_running_entry_counts_up_to_now(world):
    membership = world.users["member"].memberships.get(company=world.a)
    now = timezone.now()
    # Today's share of it: from midnight, when the test runs in the first half hour of a day.
    started = max(now - timedelta(minutes=30), datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC))
    tracking.timer_start(membership=membership, project_id=world.project_open.id, started_at=started)
    total = daily(world, now.date().isoformat(), "UTC").json()["total_seconds"]
    assert -5 <= total - (now - started).total_seconds() <= 30


def test_weekly_has_seven_bars_and_project_totals(world):
    for n in range(7):
        entry(world, utc(2026, 6, 1 + n, 9), utc(2026, 6, 1 + n, 9 + n % 3 + 1))
    entry(world, utc(2026, 6, 3, 14), utc(2026, 6, 3, 15), project=world.project_team)
    week = world.api("member").get("/api/v1/reports/weekly?from=2026-06-01&tz=UTC").json()
    assert (week["from"], week["to"]) == ("2026-06-01", "2026-06-07")
    assert [d["seconds"] for d in week["days"]] == [3600, 7200, 10800 + 3600, 3600, 7200, 10800, 3600]
    assert [(p["name"], p["seconds"]) for p in week["projects"]] == [("Open", 13 * 3600), ("Team only", 3600)]


def test_weekly_defaults_to_this_week_from_the_users_week_start(world):
    member = world.users["member"]
    member.settings = {"week_start": "sunday"}
    member.save(update_fields=["settings"])
    week = world.api("member").get("/api/v1/reports/weekly?tz=UTC").json()
    first = date.fromisoformat(week["from"])
    assert first.weekday() == 6
    assert 0 <= (timezone.now().date() - first).days < 7


def test_who_may_read_whose_time(world):
    member = world.users["member"]
    entry(world, utc(2026, 6, 1, 9), utc(2026, 6, 1, 10))
    for role in ("owner", "manager", "lead"):
        assert daily(world, "2026-06-01", "UTC", role=role, user=member.id).json()["total_seconds"] == 3600
    assert_error(daily(world, "2026-06-01", "UTC", role="loner", user=member.id), 404)
    assert_error(daily(world, "2026-06-01", "UTC", role="outsider", user=member.id), 404)
    assert_error(world.api("outsider").get(f"/api/v1/reports/weekly?user={member.id}"), 404)
    assert daily(world, "2026-06-01", "UTC", role="loner").json()["total_seconds"] == 0  # their own: nothing
    assert_error(daily(world, "2026-06-01", "Mars/Base"), 400, attr="tz")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(st.tuples(st.integers(0, 10 * 24 * 60), st.integers(1, 36 * 60)), min_size=1, max_size=6),
    st.sampled_from(["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]),
)
def test_daily_totals_over_a_range_sum_to_the_entries_clipped_to_it(world, spans, tz):
    """Any non-overlapping entries: the days' totals add up to the time inside those days."""
    TimeEntry.objects.all().delete()
    base, placed, end_of_last = utc(2026, 3, 25), [], None
    for offset, length in sorted(spans):
        start = base + timedelta(minutes=offset)
        if end_of_last is not None and start < end_of_last:
            start = end_of_last
        end = start + timedelta(minutes=length)
        placed.append(entry(world, start, end))
        end_of_last = end
    zone = ZoneInfo(tz)
    days = [date(2026, 3, 26) + timedelta(days=n) for n in range(6)]
    lo, hi = local_day_bounds(days[0], zone)[0], local_day_bounds(days[-1], zone)[1]
    rows = time_by_day(company_id=world.a.id, user_id=world.users["member"].id, days=days, tz=zone, now=timezone.now())
    expected = sum(max(0, (min(e.ended_at, hi) - max(e.started_at, lo)).total_seconds()) for e in placed)
    assert sum(row[5] for row in rows) == expected


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/reports/daily"),
        ("get", "/api/v1/reports/weekly"),
        ("get", "/api/v1/reports/team"),
        ("get", "/api/v1/reports/apps"),
        ("get", "/api/v1/privacy-rules"),
        ("post", "/api/v1/sync/heartbeats"),
        ("post", "/api/v1/sync/activity"),
    ],
)
def test_every_new_endpoint_needs_a_signed_in_caller(api, method, path):
    assert_error(getattr(api, method)(path), 401)


@pytest.mark.parametrize(
    ("path", "attr"),
    [
        ("/api/v1/reports/weekly?from=monday", "from"),
        ("/api/v1/reports/daily?date=2026-02-30", "date"),
        ("/api/v1/reports/team?team=not-a-team", "team"),
        ("/api/v1/reports/team?from=2026-01-01&to=2027-06-01", "to"),
    ],
)
def test_malformed_report_parameters_are_400_naming_them(world, path, attr):
    assert_error(world.api("owner").get(path), 400, attr=attr)


@pytest.mark.parametrize("path", ["daily", "weekly", "team", "apps"])
def test_an_empty_tz_is_refused_not_read_as_unset(world, path):
    # Found by schema fuzzing: DRF read `?tz=` from the QueryDict as "not sent" (HTML form
    # rules) although the schema says a non-empty zone name.
    response = world.api("owner").get(f"/api/v1/reports/{path}", {"tz": ""})
    assert_error(response, 400, attr="tz")


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize(
    ("query", "attr"),
    [
        ("daily?date={day}", "date"),
        ("weekly?from={day}", "from"),
        ("team?from={day}&to={day}", "from"),
        ("apps?date={day}", "date"),
    ],
)
def test_report_dates_at_the_ends_of_the_calendar_are_400_not_500(world, day, query, attr):
    # #15 item 10: the day after 9999-12-31 (or a week from 9999-12-28) overflowed to a 500.
    response = world.api("member").get("/api/v1/reports/" + query.format(day=day))
    assert_error(response, 400, attr=attr)


@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
@pytest.mark.parametrize("path", ["/api/v1/time-entries", "/api/v1/screenshots"])
def test_list_dates_at_the_ends_of_the_calendar_are_400(world, moment, path):
    assert_error(world.api("member").get(path, {"from": moment}), 400, attr="from")


def test_an_export_at_the_end_of_the_calendar_is_400(world):
    body = {"report": "time_entries", "format": "csv", "from": "9999-12-01", "to": "9999-12-31"}
    assert_error(world.api("owner").post("/api/v1/reports/exports", body), 400, attr="from")
