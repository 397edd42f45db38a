"""POST /sync/heartbeats and the merge into app-usage intervals, against the real database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from accounts.tests.factories import MembershipFactory
from activity import merge, services
from activity.models import AppUsage, Heartbeat, HeartbeatInbox
from tests.support.api import assert_error
from tests.support.asgi import AsgiClient
from tests.support.heartbeats import URL, hb, iso, send

pytestmark = pytest.mark.django_db(transaction=True)


def intervals(user) -> list[tuple]:
    return list(
        AppUsage.objects.filter(user=user)
        .order_by("started_at")
        .values_list("app", "title", "domain", "started_at", "ended_at")
    )


# --------------------------------------------------------------------------- intake


def test_accepted_heartbeats_are_stored_before_the_answer(world, via):
    member = via(world.api("member"))
    response = send(member, [hb(30), hb(25), hb(20, app="Firefox", url="https://www.github.com/x")])
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 3}
    stored = list(HeartbeatInbox.objects.order_by("timestamp"))
    assert [(h.app, h.domain, h.device_id) for h in stored] == [
        ("Code", "", "laptop"),
        ("Code", "", "laptop"),
        ("Firefox", "github.com", "laptop"),
    ]
    assert {h.user_id for h in stored} == {world.users["member"].id}
    assert {h.company_id for h in stored} == {world.a.id}


@pytest.mark.parametrize(
    ("item", "attr"),
    [
        ({"title": "x" * 1001}, "heartbeats.1.title"),
        ({"url": "https://e.com/" + "x" * 2048}, "heartbeats.1.url"),
        ({"app": ""}, "heartbeats.1.app"),
        ({"app": "bad\x00app"}, "heartbeats.1.app"),
        ({"duration": True}, "heartbeats.1.duration"),
        ({"duration": -1}, "heartbeats.1.duration"),
        ({"duration": "5"}, "heartbeats.1.duration"),
        ({"timestamp": "yesterday"}, "heartbeats.1.timestamp"),
        ({"timestamp": "2026-11-30T10:00:00"}, "heartbeats.1.timestamp"),  # no offset
        ({"project_id": "not-a-uuid"}, "heartbeats.1.project_id"),
        ({"titel": "typo"}, "heartbeats.1.titel"),  # unknown: never silently dropped (SPEC)
    ],
)
def test_one_bad_heartbeat_refuses_the_batch_naming_it(world, via, item, attr):
    response = send(via(world.api("member")), [hb(10), {**hb(5), **item}])
    assert_error(response, 400, attr=attr)
    assert not HeartbeatInbox.objects.exists()


def test_a_lone_surrogate_is_stored_as_the_replacement_character(world, via):
    """A window title cut inside an emoji (valid JSON, not Unicode text) is kept, made U+FFFD
    (common.parsers), by both paths; PostgreSQL would refuse it, failing the whole request."""
    member = via(world.api("member"))
    body = {"device_id": "lap\udc00", "heartbeats": [hb(10, app="Co\ud83dde", title="tab \ud800 \ud83d\ude00")]}
    # the test client would encode it as UTF-8 and fail: send it as a tracker does, escaped
    raw = json.dumps(body)
    response = (
        member.post(URL, body)
        if isinstance(member, AsgiClient)
        else member.post(URL, raw, content_type="application/json")
    )
    assert response.status_code == 202, response.content
    assert list(HeartbeatInbox.objects.values_list("device_id", "app", "title")) == [
        ("lap\ufffd", "Co\ufffdde", "tab \ufffd \U0001f600")
    ]


def test_an_unknown_top_level_field_is_400_naming_it(world, via):
    client = via(world.api("member"))
    response = client.post(
        URL, {"device_id": "d1", "heartbeats": [hb(0)], "company_id": str(world.a.id)}, format="json"
    )
    assert_error(response, 400, attr="company_id")
    assert not HeartbeatInbox.objects.exists()


def test_timestamps_far_in_the_future_or_past_are_refused(world, via, settings):
    member = via(world.api("member"))
    assert_error(send(member, [hb(-2 * 3600)]), 400, attr="heartbeats.0.timestamp")
    assert send(member, [hb(-30 * 60)]).status_code == 202  # clocks drift: up to an hour ahead
    too_old = (settings.HEARTBEAT_MAX_AGE_DAYS + 1) * 86400
    assert_error(send(member, [hb(too_old)]), 400, attr="heartbeats.0.timestamp")


def test_oversize_and_malformed_batches_store_nothing(world, via):
    member = via(world.api("member"))
    assert_error(send(member, [hb(1)] * 1001), 413)
    assert_error(member.post(URL, {"device_id": "x", "heartbeats": "many"}, format="json"), 400, attr="heartbeats")
    assert_error(member.post(URL, {"heartbeats": []}, format="json"), 400, attr="device_id")
    assert_error(member.post(URL, [1, 2], format="json"), 400)
    assert not HeartbeatInbox.objects.exists()


def test_the_company_is_the_only_one_or_named_and_never_someone_elses(world, via):
    member = world.users["member"]
    MembershipFactory(user=member, company=world.b)  # now in two companies
    api = via(world.api("member"))
    assert_error(send(api, [hb(5)]), 400, attr="company")
    assert send(api, [hb(5)], company=world.b.id).status_code == 202
    assert HeartbeatInbox.objects.get().company_id == world.b.id
    outsider = via(world.api("outsider"))
    assert_error(send(outsider, [hb(5)], company=world.a.id), 404)  # not theirs: as if absent
    assert_error(send(api, [hb(5)], company=""), 404)  # empty: a malformed id, not "mine"
    assert_error(send(api, [hb(5)], company="nope"), 404)
    assert HeartbeatInbox.objects.count() == 1


def test_a_project_must_be_one_the_member_sees(world, via):
    member = via(world.api("member"))
    assert_error(send(member, [hb(5, project_id=str(world.project_b.id))]), 400, attr="heartbeats.0.project_id")
    assert send(member, [hb(5, project_id=str(world.project_open.id))]).status_code == 202


def test_unauthenticated_is_401(api, via):
    assert_error(send(via(api), [hb(5)]), 401)


# --------------------------------------------------------------------------- privacy


def test_privacy_rules_drop_or_redact_before_anything_is_stored(world, via):
    services.privacy_rule_create(company=world.a, field="title", pattern=r"bank|payroll", action="drop")
    services.privacy_rule_create(company=world.a, field="url", pattern=r"^https://intranet\.", action="redact")
    member = via(world.api("member"))
    response = send(
        member,
        [
            hb(30, app="Firefox", title="My BANK statement"),
            hb(20, app="Firefox", title="Wiki", url="https://intranet.a.co/secret-plan"),
            hb(10, app="Firefox", title="News", url="https://news.example.org/"),
        ],
    )
    assert response.json() == {"accepted": 3}
    stored = list(HeartbeatInbox.objects.order_by("timestamp").values_list("title", "url", "domain"))
    assert stored == [("Wiki", "[redacted]", "[redacted]"), ("News", "https://news.example.org/", "news.example.org")]
    # a rule of another company changes nothing here
    services.privacy_rule_create(company=world.b, field="app", pattern=".*", action="drop")
    assert send(member, [hb(5)]).status_code == 202
    assert HeartbeatInbox.objects.count() == 3


def test_a_new_rule_applies_to_the_very_next_request(world, via):
    member = via(world.api("member"))
    send(member, [hb(20, app="Slack")])
    rule = services.privacy_rule_create(company=world.a, field="app", pattern="^slack$", action="drop")
    send(member, [hb(10, app="Slack")])
    assert HeartbeatInbox.objects.count() == 1
    services.privacy_rule_delete(rule=rule)  # and removing it applies at once too
    send(member, [hb(5, app="Slack")])
    assert HeartbeatInbox.objects.count() == 2


@pytest.mark.timeout(10)
def test_a_catastrophically_backtracking_rule_is_matched_in_linear_time(world, via):
    """Anyone who registers owns a company and may write rules: a pattern that backtracks
    exponentially must not stall a web process (under Python's re this title took ~20 s,
    doubling per character, blocking every tenant's requests on the process)."""
    services.privacy_rule_create(company=world.a, field="title", pattern=r"^(a+)+$", action="drop")
    member = via(world.api("member"))
    evil = "a" * 28 + "!"
    response = send(member, [hb(20, title=evil), hb(10, title="aaaa")])
    assert response.json() == {"accepted": 2}
    assert list(HeartbeatInbox.objects.values_list("title", flat=True)) == [evil]  # "aaaa" was dropped


def test_a_stored_rule_the_engine_cannot_compile_redacts_its_field_instead_of_failing(world, via):
    """Rules stored before patterns were checked for RE2 (a backreference, a lookahead) never
    fail intake: the field they guard is redacted (privacy first, the tracked time kept)."""
    from activity.models import PrivacyRule
    from activity.privacy import privacy_rules_changed

    PrivacyRule.objects.create(company=world.a, field="title", pattern=r"(pay)\1", action="drop")
    privacy_rules_changed(world.a.id)
    response = send(via(world.api("member")), [hb(10, title="paypay slip"), hb(5, title="README")])
    assert response.json() == {"accepted": 2}
    assert sorted(HeartbeatInbox.objects.values_list("title", "app")) == [("[redacted]", "Code")] * 2


# --------------------------------------------------------------------------- merging


def test_merging_builds_intervals_archives_the_heartbeats_and_is_idempotent(world):
    member = world.api("member")
    send(member, [hb(100, 0), hb(90, 10), hb(80, 10), hb(60, 5, app="Firefox", url="https://docs.python.org/3/")])
    assert merge.merge_pending() == 4
    got = intervals(world.users["member"])
    assert [(app, domain) for app, _, domain, _, _ in got] == [("Code", ""), ("Firefox", "docs.python.org")]
    code = got[0]
    assert (code[4] - code[3]).total_seconds() == pytest.approx(30, abs=0.01)  # 100 s ago .. 70 s ago
    assert not HeartbeatInbox.objects.exists()
    assert Heartbeat.objects.filter(user=world.users["member"]).count() == 4
    assert merge.merge_pending() == 0  # nothing twice
    assert intervals(world.users["member"]) == got


def test_heartbeats_land_in_their_months_partition(world):
    member = world.api("member")
    send(member, [hb(5)])
    merge.merge_pending()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tableoid::regclass::text, to_char(\"timestamp\" AT TIME ZONE 'UTC', 'YYYY_MM') "
            "FROM tracking_heartbeat"
        )
        [(table, month)] = cursor.fetchall()
        cursor.execute("SELECT tableoid::regclass::text FROM tracking_appusage")
        [(usage_table,)] = cursor.fetchall()
    assert table == f"tracking_heartbeat_p{month}"
    assert usage_table == f"tracking_appusage_p{month}"


def test_two_workers_never_merge_one_device_twice(world):
    member = world.api("member")
    for device in ("a", "b", "c"):
        send(member, [hb(300 - 10 * n, 10) for n in range(25)], device=device)
    merged = []

    def worker():
        try:
            merged.append(merge.merge_pending())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(merged) == 75
    assert Heartbeat.objects.count() == 75  # archived exactly once
    assert AppUsage.objects.count() == 3  # one interval per device


def test_a_device_with_a_large_backlog_delays_another_device_by_one_claim_at_most(world, monkeypatch):
    # given a device with a backlog of 35 heartbeats (claims of 10) sent first, and another's one
    monkeypatch.setattr(merge, "CLAIM_BATCH", 10)
    member = world.api("member")
    send(member, [hb(600 - 10 * n, 10) for n in range(35)], device="imported")
    send(member, [hb(30, 10, app="Firefox", url="https://docs.python.org/3/")], device="live")

    # when a merge with no time to spare runs (it stops after its first round of claims)
    merged, more = merge.merge_round_robin(budget_seconds=0)

    # then the live device is merged, the backlog has had one claim, and the merge says it stopped
    assert (merged, more) == (11, True)
    assert HeartbeatInbox.objects.filter(device_id="live").count() == 0
    assert AppUsage.objects.filter(device_id="live").count() == 1
    assert HeartbeatInbox.objects.filter(device_id="imported").count() == 25
    # and the next runs drain the rest, each heartbeat once
    assert merge.merge_round_robin() == (25, False)
    assert Heartbeat.objects.filter(device_id="imported").count() == 35


def test_devices_past_the_listed_ones_wait_one_run_longest_waiting_first(world):
    member = world.api("member")
    send(member, [hb(50)], device="first")
    send(member, [hb(40)], device="second")

    assert merge.merge_round_robin(max_devices=1) == (1, True)  # more may wait: queue again
    assert list(HeartbeatInbox.objects.values_list("device_id", flat=True)) == ["second"]
    assert merge.merge_round_robin(max_devices=1) == (1, True)
    assert merge.merge_round_robin(max_devices=1) == (0, False)
    assert not HeartbeatInbox.objects.exists()


def test_one_device_failing_to_merge_never_stops_the_others(world, monkeypatch):
    member = world.api("member")
    send(member, [hb(50)], device="broken")
    send(member, [hb(40)], device="fine")
    real = merge.appusage_merge

    def fails_for_broken(**kwargs):
        if kwargs["device_id"] == "broken":
            raise RuntimeError("a bad row")
        return real(**kwargs)

    monkeypatch.setattr(merge, "appusage_merge", fails_for_broken)

    assert merge.merge_round_robin() == (1, False)
    assert AppUsage.objects.filter(device_id="fine").count() == 1
    assert list(HeartbeatInbox.objects.values_list("device_id", flat=True)) == ["broken"]  # kept, not lost


KILLED_MID_MERGE = r"""
import os, sys, time
import django
django.setup()
from activity import appusage as activity
from activity import merge
real = activity.appusage_merge
def slow(**kwargs):
    real(**kwargs)
    print("merged, not committed", flush=True)
    time.sleep(60)  # killed here: inside the merge transaction
merge.appusage_merge = slow
merge.merge_pending()
"""


@pytest.mark.slow
def test_a_worker_killed_mid_merge_loses_and_duplicates_nothing(world):
    from conftest import database_url_for_subprocess

    member = world.api("member")
    send(member, [hb(60 - 10 * n, 10) for n in range(6)])
    env = {**os.environ, "DATABASE_URL": database_url_for_subprocess(), "DJANGO_SETTINGS_MODULE": "config.settings"}
    child = subprocess.Popen([sys.executable, "-c", KILLED_MID_MERGE], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "merged, not committed"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    time.sleep(0.2)  # PostgreSQL notices the dead backend and rolls its transaction back
    assert HeartbeatInbox.objects.count() == 6
    assert not AppUsage.objects.exists()
    assert not Heartbeat.objects.exists()
    assert merge.merge_pending() == 6
    assert Heartbeat.objects.count() == 6
    assert AppUsage.objects.count() == 1


# --------------------------------------------------------------------------- activity samples

ACTIVITY = "/api/v1/sync/activity"


def sample(minutes_ago: int, **counts) -> dict:
    minute = timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=minutes_ago)
    return {"minute": iso(minute), **{"keyboard": 10, "mouse": 20, "active_seconds": 30, **counts}}


def test_activity_samples_are_upserted_per_user_device_and_minute(world):
    from activity.models import ActivitySample

    member = world.api("member")
    response = member.post(ACTIVITY, {"device_id": "laptop", "samples": [sample(2), sample(1)]}, format="json")
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 2}
    # a resent minute replaces what was stored (the client's count is the whole minute's)
    member.post(
        ACTIVITY,
        {"device_id": "laptop", "samples": [sample(1, active_seconds=60), sample(1, active_seconds=45)]},
        format="json",
    )
    stored = list(ActivitySample.objects.order_by("minute").values_list("active_seconds", "device_id", "company_id"))
    assert stored == [(30, "laptop", world.a.id), (45, "laptop", world.a.id)]
    member.post(ACTIVITY, {"device_id": "desktop", "samples": [sample(1)]}, format="json")
    assert ActivitySample.objects.count() == 3  # another device, another row


@pytest.mark.parametrize(
    ("item", "attr"),
    [
        ({"active_seconds": 61}, "samples.0.active_seconds"),
        ({"keyboard": -1}, "samples.0.keyboard"),
        ({"mouse": 1.5}, "samples.0.mouse"),
        ({"minute": "soon"}, "samples.0.minute"),
        ({"keys": 3}, "samples.0.keys"),
    ],
)
def test_bad_activity_samples_refuse_the_batch(world, item, attr):
    from activity.models import ActivitySample

    response = world.api("member").post(ACTIVITY, {"device_id": "x", "samples": [{**sample(1), **item}]}, format="json")
    assert_error(response, 400, attr=attr)
    assert not ActivitySample.objects.exists()
    assert_error(
        world.api("member").post(ACTIVITY, {"device_id": "x", "samples": [sample(1)] * 1001}, format="json"), 413
    )
    assert_error(
        world.api("outsider").post(
            f"{ACTIVITY}?company={world.a.id}", {"device_id": "x", "samples": []}, format="json"
        ),
        404,
    )
