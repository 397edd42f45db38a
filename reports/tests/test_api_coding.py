"""/reports/coding and WakaTime's status bar: coding time per project, language, editor and
local day, read by whom the role table allows, each moment once across devices."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from activity.coding import CodingItem, coding_heartbeats_store
from tests.support.api import assert_error
from tests.support.wakatime import BULK, STATUSBAR, UA, heartbeat

pytestmark = pytest.mark.django_db

URL = "/api/v1/reports/coding"


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def code(world, start, minutes, *, role="member", company=None, device="laptop", editor="vscode", **fields):
    """A heartbeat every two minutes from ``start`` for ``minutes`` minutes: ``minutes`` of coding."""
    items = [
        CodingItem(time=start + timedelta(minutes=m), entity="/src/a.py", **fields) for m in range(0, minutes + 1, 2)
    ]
    coding_heartbeats_store(
        company_id=(company or world.a).id,
        user_id=world.users[role].id,
        device_id=device,
        editor=editor,
        items=items,
    )


def test_the_report_over_local_days(world):
    member = world.users["member"]
    member.timezone = "Europe/Berlin"
    member.save(update_fields=["timezone"])
    # 28 Mar 23:40 -> 29 Mar 00:20 Berlin (CET, UTC+1): 20 minutes on each day
    code(world, utc(2026, 3, 28, 22, 40), 40, project="stint", language="Python")
    # 29 Mar 10:00 CEST: 30 minutes of SQL in vim on another machine
    code(world, utc(2026, 3, 29, 8, 0), 30, project="stint", language="SQL", device="desktop", editor="vim")
    # and an hour of docs
    code(world, utc(2026, 3, 29, 12, 0), 60, project="docs", language="Markdown")
    body = world.api("member").get(f"{URL}?from=2026-03-28&to=2026-03-29").json()
    assert body == {
        "from": "2026-03-28",
        "to": "2026-03-29",
        "timezone": "Europe/Berlin",
        "total_seconds": 130 * 60,
        "projects": [{"name": "stint", "seconds": 70 * 60}, {"name": "docs", "seconds": 60 * 60}],
        "languages": [
            {"name": "Markdown", "seconds": 3600},
            {"name": "Python", "seconds": 2400},
            {"name": "SQL", "seconds": 1800},
        ],
        "editors": [{"name": "vscode", "seconds": 100 * 60}, {"name": "vim", "seconds": 30 * 60}],
        "days": [{"date": "2026-03-28", "seconds": 1200}, {"date": "2026-03-29", "seconds": 110 * 60}],
    }


def test_two_devices_at_once_count_once(world):
    code(world, utc(2026, 5, 4, 9), 60, project="stint")
    code(world, utc(2026, 5, 4, 9, 1), 60, project="stint", device="desktop", editor="vim")
    body = world.api("member").get(f"{URL}?from=2026-05-04&to=2026-05-04&tz=UTC").json()
    assert body["total_seconds"] == 61 * 60
    assert body["days"] == [{"date": "2026-05-04", "seconds": 61 * 60}]


def test_the_default_range_is_the_last_seven_days(world):
    body = world.api("member").get(URL).json()
    today = timezone.now().date()
    assert (body["from"], body["to"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    assert [d["date"] for d in body["days"]][-1] == today.isoformat()
    assert len(body["days"]) == 7


def test_who_may_read_whose_coding(world):
    code(world, utc(2026, 5, 4, 9), 30, project="stint")
    member = world.users["member"]
    path = f"{URL}?from=2026-05-04&to=2026-05-04&tz=UTC&user={member.id}"
    for role in ("owner", "admin", "manager", "lead", "member"):
        assert world.api(role).get(path).json()["total_seconds"] == 1800, role
    assert_error(world.api("loner").get(path), 404)  # another member's: as if absent
    assert_error(world.api("outsider").get(path), 404)  # another company's user
    assert_error(world.api("outsider").get(f"{path}&company={world.a.id}"), 404)
    assert world.api("loner").get(f"{URL}?from=2026-05-04&to=2026-05-04&tz=UTC").json()["total_seconds"] == 0


def test_another_companys_coding_of_the_same_user_stays_there(world):
    from accounts.tests.factories import MembershipFactory

    member = world.users["member"]
    MembershipFactory(user=member, company=world.b)
    code(world, utc(2026, 5, 4, 9), 30, company=world.b)
    body = world.api("member").get(f"{URL}?from=2026-05-04&to=2026-05-04&tz=UTC&company={world.a.id}").json()
    assert body["total_seconds"] == 0
    theirs = world.api("member").get(f"{URL}?from=2026-05-04&to=2026-05-04&tz=UTC&company={world.b.id}").json()
    assert theirs["total_seconds"] == 1800


@pytest.mark.parametrize(
    ("query", "attr"),
    [("from=2026-05-05&to=2026-05-04", "to"), ("from=2024-01-01&to=2026-01-01", "to"), ("from=soon", "from")],
)
def test_bad_ranges_are_400(world, query, attr):
    assert_error(world.api("member").get(f"{URL}?{query}"), 400, attr=attr)


# --------------------------------------------------------------------------- the status bar


def _midnight_utc() -> datetime:
    """The start of the UTC day (the test users' zone), which the status bar counts from."""
    return datetime.combine(timezone.now().date(), datetime.min.time(), tzinfo=UTC)


def test_the_status_bar_shows_todays_coding_in_wakatimes_shape(world):
    api = world.api("member")
    # Three minutes of today, from midnight when the test runs in the first three minutes of a day.
    first = max(time.time() - 3 * 60, _midnight_utc().timestamp())
    body = [heartbeat(first + n * 60, project="stint", language="Python") for n in range(4)]
    assert api.post(BULK, body, format="json", HTTP_USER_AGENT=UA).status_code == 201
    data = api.get(STATUSBAR).json()["data"]
    assert data["grand_total"]["total_seconds"] == pytest.approx(180, abs=1)
    assert data["grand_total"]["text"] == "0 hrs 3 mins"
    assert [(p["name"], p["text"]) for p in data["projects"]] == [("stint", "0 hrs 3 mins")]
    assert [(lang["name"], lang["percent"]) for lang in data["languages"]] == [("Python", 100.0)]
    assert [e["name"] for e in data["editors"]] == ["vscode"]


def test_the_status_bar_is_the_callers_own_and_needs_a_key(api, world):
    code(world, max(timezone.now() - timedelta(minutes=30), _midnight_utc()), 20, role="lead")  # today's
    data = world.api("member").get(STATUSBAR).json()["data"]
    assert (data["grand_total"]["total_seconds"], data["projects"]) == (0, [])
    assert world.api("lead").get(STATUSBAR).json()["data"]["grand_total"]["text"] == "0 hrs 20 mins"
    response = api.get(STATUSBAR)
    assert response.status_code == 401
    assert set(response.json()) == {"error"}


def test_duration_text_is_wakatimes():
    from activity.wakatime import duration_text

    assert [duration_text(s) for s in (0, 29, 30, 3 * 3600 + 12 * 60 + 10, 25 * 3600)] == [
        "0 hrs 0 mins",
        "0 hrs 0 mins",
        "0 hrs 1 mins",
        "3 hrs 12 mins",
        "25 hrs 0 mins",
    ]
