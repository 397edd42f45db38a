"""/reports/apps: time per app and domain for a local day, right across midnight and DST."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from activity import partitions
from activity.appusage import domain_of
from activity.models import AppUsage
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db(transaction=True)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def usage(user, company, start, end, app="Code", url="", device="laptop"):
    months = partitions.months_between(start, end)
    partitions.ensure(partitions.APP_USAGE, months)
    return AppUsage.objects.create(
        company=company,
        user=user,
        device_id=device,
        app=app,
        title="",
        url=url,
        domain=domain_of(url),
        started_at=start,
        ended_at=end,
    )


def test_a_berlin_spring_forward_day_counts_parts_across_midnight_and_the_missing_hour(world):
    member = world.users["member"]
    member.timezone = "Europe/Berlin"
    member.save(update_fields=["timezone"])
    # 28 Mar 23:30 -> 29 Mar 00:30 local (CET): 30 min on each day
    usage(member, world.a, utc(2026, 3, 28, 22, 30), utc(2026, 3, 28, 23, 30))
    # 29 Mar 01:30 CET -> 03:30 CEST: one real hour across the skipped 02:00-03:00
    usage(
        member, world.a, utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30), app="Firefox", url="https://www.github.com/x"
    )
    # 29 Mar 23:50 -> 30 Mar 00:10 local (CEST): 10 min on the 29th
    usage(member, world.a, utc(2026, 3, 29, 21, 50), utc(2026, 3, 29, 22, 10))
    body = world.api("member").get("/api/v1/reports/apps?date=2026-03-29").json()
    assert body == {
        "date": "2026-03-29",
        "timezone": "Europe/Berlin",
        "apps": [{"app": "Firefox", "seconds": 3600}, {"app": "Code", "seconds": 2400}],
        "domains": [{"domain": "github.com", "seconds": 3600}],
        "active_seconds": 0,  # no ActivityWatch afkstatus bucket reports this day
        "away_seconds": 0,
    }
    before = world.api("member").get("/api/v1/reports/apps?date=2026-03-28").json()
    assert before["apps"] == [{"app": "Code", "seconds": 1800}]


def test_a_new_york_fall_back_day_has_25_hours(world):
    member = world.users["member"]
    # the whole local day of 1 Nov 2026: 04:00 UTC (EDT midnight) to 05:00 UTC next day (EST)
    usage(member, world.a, utc(2026, 11, 1, 3, 0), utc(2026, 11, 2, 6, 0))
    body = world.api("member").get("/api/v1/reports/apps?date=2026-11-01&tz=America/New_York").json()
    assert body["apps"] == [{"app": "Code", "seconds": 25 * 3600}]
    assert body["timezone"] == "America/New_York"


def test_an_interval_split_at_a_month_end_is_counted_whole(world):
    member = world.users["member"]
    usage(member, world.a, utc(2026, 11, 30, 23, 0), utc(2026, 12, 1, 0, 0))
    usage(member, world.a, utc(2026, 12, 1, 0, 0), utc(2026, 12, 1, 1, 0))
    body = world.api("member").get("/api/v1/reports/apps?date=2026-12-01&tz=Europe/London").json()
    assert body["apps"] == [{"app": "Code", "seconds": 3600}]


def report(world, day="2026-11-10"):
    return world.api("member").get(f"/api/v1/reports/apps?date={day}&tz=UTC").json()


def test_two_devices_reporting_the_same_hour_count_one_hour(world):
    member = world.users["member"]
    url = "https://github.com/stint"
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 10), app="Firefox", url=url, device="laptop")
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 10), app="Firefox", url=url, device="desktop")
    body = report(world)
    assert body["apps"] == [{"app": "Firefox", "seconds": 3600}]
    assert body["domains"] == [{"domain": "github.com", "seconds": 3600}]


def test_overlapping_apps_on_two_devices_add_up_to_the_wall_clock(world):
    """09:00-10:00 Code on the laptop, 09:30-11:00 a browser on the desktop: 2 h of the member's
    day, not 2.5 h. From 09:30 the browser (the later start) has the overlap."""
    member = world.users["member"]
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 10), app="Code", device="laptop")
    usage(
        member,
        world.a,
        utc(2026, 11, 10, 9, 30),
        utc(2026, 11, 10, 11),
        app="Firefox",
        url="https://docs.python.org/3/",
        device="desktop",
    )
    body = report(world)
    assert body["apps"] == [{"app": "Firefox", "seconds": 5400}, {"app": "Code", "seconds": 1800}]
    assert sum(a["seconds"] for a in body["apps"]) == 2 * 3600
    assert body["domains"] == [{"domain": "docs.python.org", "seconds": 5400}]


def test_a_domain_counts_only_while_its_app_has_the_moment(world):
    """The desktop browser shows a page all morning; the laptop's editor, started later, has
    10:00-11:00. The domain follows the apps' winner, so the two lists never disagree."""
    member = world.users["member"]
    url = "https://github.com/stint"
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 12), app="Firefox", url=url, device="desktop")
    usage(member, world.a, utc(2026, 11, 10, 10), utc(2026, 11, 10, 11), app="Code", device="laptop")
    body = report(world)
    assert body["apps"] == [{"app": "Firefox", "seconds": 2 * 3600}, {"app": "Code", "seconds": 3600}]
    assert body["domains"] == [{"domain": "github.com", "seconds": 2 * 3600}]


def test_a_whole_day_on_three_devices_is_at_most_24_hours(world):
    member = world.users["member"]
    for device, app in (("laptop", "Code"), ("desktop", "Slack"), ("tablet", "Books")):
        usage(member, world.a, utc(2026, 11, 9, 20), utc(2026, 11, 11, 4), app=app, device=device)
    assert sum(a["seconds"] for a in report(world)["apps"]) == 24 * 3600


def test_one_device_reads_as_before(world):
    """One device's intervals never overlap: every app and domain gets its clipped sum, as
    when the report was a GROUP BY (ties by name)."""
    member = world.users["member"]
    usage(member, world.a, utc(2026, 11, 9, 23, 30), utc(2026, 11, 10, 0, 30), app="Code")  # 30 min today
    usage(member, world.a, utc(2026, 11, 10, 8), utc(2026, 11, 10, 9), app="Slack")
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 9, 30), app="Code")
    usage(member, world.a, utc(2026, 11, 10, 10), utc(2026, 11, 10, 10, 20), app="Firefox", url="https://a.example/")
    usage(
        member, world.a, utc(2026, 11, 10, 10, 20), utc(2026, 11, 10, 10, 30), app="Firefox", url="https://b.example/"
    )
    usage(member, world.a, utc(2026, 11, 10, 23, 50), utc(2026, 11, 11, 0, 10), app="Firefox")  # 10 min today
    body = report(world)
    assert body["apps"] == [
        {"app": "Code", "seconds": 3600},
        {"app": "Slack", "seconds": 3600},
        {"app": "Firefox", "seconds": 2400},
    ]
    assert body["domains"] == [{"domain": "a.example", "seconds": 1200}, {"domain": "b.example", "seconds": 600}]


def test_half_a_second_counts_as_a_second_as_before(world):
    member = world.users["member"]
    start = utc(2026, 11, 10, 9)
    usage(member, world.a, start, start + timedelta(milliseconds=500), app="Blink")
    usage(member, world.a, start + timedelta(seconds=5), start + timedelta(seconds=7, milliseconds=500), app="Code")
    assert report(world)["apps"] == [{"app": "Code", "seconds": 3}, {"app": "Blink", "seconds": 1}]


def test_who_may_read_whose_apps(world):
    member, loner = world.users["member"], world.users["loner"]
    usage(member, world.a, utc(2026, 11, 10, 9), utc(2026, 11, 10, 10))
    path = f"/api/v1/reports/apps?date=2026-11-10&tz=UTC&user={member.id}"
    for role in ("owner", "admin", "manager", "lead"):
        assert world.api(role).get(path).json()["apps"] == [{"app": "Code", "seconds": 3600}], role
    assert_error(world.api("loner").get(path), 404)  # another member's: as if absent
    assert_error(world.api("outsider").get(path), 404)  # another company's
    assert_error(world.api("outsider").get(path + f"&company={world.a.id}"), 404)
    # the loner's own report has nothing of the member's
    assert world.api("loner").get("/api/v1/reports/apps?date=2026-11-10&tz=UTC").json()["apps"] == []
    assert loner.id != member.id


def test_another_companys_usage_of_the_same_user_stays_there(world):
    from accounts.tests.factories import MembershipFactory

    member = world.users["member"]
    MembershipFactory(user=member, company=world.b)
    usage(member, world.b, utc(2026, 11, 10, 9), utc(2026, 11, 10, 10), app="Theirs")
    body = world.api("member").get(f"/api/v1/reports/apps?date=2026-11-10&tz=UTC&company={world.a.id}").json()
    assert body["apps"] == []
    manager_a = world.api("manager").get(f"/api/v1/reports/apps?date=2026-11-10&tz=UTC&user={member.id}").json()
    assert manager_a["apps"] == []


@pytest.mark.parametrize(("query", "attr"), [("tz=Mars/Base", "tz"), ("date=yesterday", "date")])
def test_bad_parameters_are_400(world, query, attr):
    assert_error(world.api("member").get(f"/api/v1/reports/apps?{query}"), 400, attr=attr)


def test_a_days_report_reads_only_the_partitions_of_its_month(world):
    """Intervals never cross a month, so the day's query names its month and PostgreSQL
    prunes every other partition (a year of data costs the same as a month)."""
    from datetime import date
    from zoneinfo import ZoneInfo

    from django.db import connection

    from reports.selectors.apps import _APPS_SQL
    from reports.selectors.days import local_day_bounds

    member = world.users["member"]
    for month in range(1, 13):
        usage(member, world.a, utc(2026, month, 10, 9), utc(2026, month, 10, 10))
    lo, hi = local_day_bounds(date(2026, 6, 10), ZoneInfo("UTC"))
    params = {"user": member.id, "company": world.a.id, "lo": lo, "hi": hi, "first_month": partitions.month_start(lo)}
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + _APPS_SQL, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    scanned = set(re.findall(r" on (tracking_appusage_p\d{4}_\d{2}) ", plan))
    assert scanned == {"tracking_appusage_p2026_06"}, plan
