"""Coding time from editor heartbeats (``activity.coding_time``): WakaTime's rule (a gap
shorter than the company's timeout is coding, the last heartbeat adds nothing), one project's
heartbeats joined across devices, each moment counted once per user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activity.coding import CodingItem, coding_heartbeats_store
from activity.coding_time import coding_spans, coding_time

pytestmark = pytest.mark.django_db

T0 = datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0) - timedelta(days=1)
DAY = (T0.replace(hour=0), T0.replace(hour=0) + timedelta(days=1))


def beats(world, seconds, *, project="stint", language="Python", device="laptop", editor="vscode", role="member"):
    items = [
        CodingItem(time=T0 + timedelta(seconds=s), entity=f"/{project}/{s}.py", project=project, language=language)
        for s in seconds
    ]
    coding_heartbeats_store(
        company_id=world.a.id, user_id=world.users[role].id, device_id=device, editor=editor, items=items
    )


def coded(world, bounds=(DAY,), role="member"):
    return coding_time(company_id=world.a.id, user_id=world.users[role].id, bounds=list(bounds))


def test_gaps_shorter_than_the_timeout_count_and_the_last_heartbeat_adds_nothing(world):
    beats(world, [0, 120, 240])
    found = coded(world)
    assert found.total_seconds == 240
    assert (found.projects, found.languages, found.editors, found.days) == (
        {"stint": 240},
        {"Python": 240},
        {"vscode": 240},
        [240],
    )


def test_a_gap_of_the_timeout_or_more_ends_the_stretch(world):
    # 900 s is the default timeout: the gap from 120 to 1020 is not coding, 1020 to 1140 is
    beats(world, [0, 120, 1020, 1140])
    assert coded(world).total_seconds == 240
    world.a.coding_timeout_seconds = 901
    world.a.save(update_fields=["coding_timeout_seconds"])
    assert coded(world).total_seconds == 1140  # the company's timeout, applied to the past too


def test_one_project_is_joined_across_devices_and_counted_once(world):
    beats(world, [0, 120, 240], device="laptop")
    beats(world, [60, 180, 300], device="desktop", editor="PyCharm")
    found = coded(world)
    assert found.total_seconds == 300  # 0..300, not 240 + 240
    assert found.projects == {"stint": 300}
    assert found.editors == {"vscode": 180, "PyCharm": 120}


def test_two_projects_at_once_count_each_moment_once(world):
    # Given a stretch on stint from 0 to 600 and one on docs from 200 to 400 on another device
    beats(world, [0, 300, 600])
    beats(world, [200, 400], project="docs", language="Markdown", device="desktop")
    found = coded(world)
    # Then the day holds 600 seconds: where spans overlap, the one that started last wins
    # (docs' 200..400 over stint's 0..300, then stint's 300..600 over docs)
    assert found.total_seconds == 600
    assert found.projects == {"stint": 500, "docs": 100}


def test_days_split_at_local_midnight_and_nothing_outside_counts(world):
    start = T0.replace(hour=23, minute=50)
    items = [CodingItem(time=start + timedelta(minutes=m), entity="/a.py", project="p") for m in range(0, 21, 2)]
    coding_heartbeats_store(
        company_id=world.a.id, user_id=world.users["member"].id, device_id="d", editor="vim", items=items
    )
    first = (start.replace(hour=0, minute=0), start.replace(hour=0, minute=0) + timedelta(days=1))
    second = (first[1], first[1] + timedelta(days=1))
    assert coded(world, [first, second]).days == [600, 600]
    assert coded(world, [second]).total_seconds == 600  # the heartbeat before midnight still opens the span


def test_another_users_or_companys_heartbeats_do_not_count(world):
    beats(world, [0, 120], role="lead")
    coding_heartbeats_store(
        company_id=world.b.id,
        user_id=world.users["member"].id,  # not a member of B: only to prove the company filter
        device_id="d",
        editor="vim",
        items=[CodingItem(time=T0, entity="/x"), CodingItem(time=T0 + timedelta(seconds=60), entity="/x")],
    )
    assert coded(world).total_seconds == 0


def test_spans_follow_the_earlier_heartbeats_language_and_editor():
    t = T0
    heartbeats = [
        (t, "p", "Python", "vim"),
        (t + timedelta(seconds=60), "p", "SQL", "vim"),
        (t + timedelta(seconds=60), "p", "SQL", "vscode"),  # the same moment on another device: no span
        (t + timedelta(seconds=90), "q", "Go", "vim"),  # another project: its own chain
    ]
    assert coding_spans(heartbeats, timeout=timedelta(seconds=900)) == [
        (t, t + timedelta(seconds=60), ("p", "Python", "vim"))
    ]


def test_the_timeout_is_a_company_setting_for_its_admins(world):
    path = f"/api/v1/companies/{world.a.id}"
    response = world.api("admin").patch(path, {"coding_timeout_seconds": 1800}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["coding_timeout_seconds"] == 1800
    assert world.api("member").patch(path, {"coding_timeout_seconds": 60}, format="json").status_code == 403
    assert world.api("admin").patch(path, {"coding_timeout_seconds": 10}, format="json").status_code == 400
    world.a.refresh_from_db()
    assert world.a.coding_timeout_seconds == 1800
