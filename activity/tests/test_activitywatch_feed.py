"""What ActivityWatch buckets say reaches Stint's reports through the ``/sync/heartbeats``
pipeline (inbox, merge, apps report), after the company's privacy rules; ``afkstatus`` gives
the apps report its active and away time, each moment once per user across machines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activity import services as activity_services
from activity.merge import merge_pending
from activity.models import AppUsage, AwEvent, CodingHeartbeat, HeartbeatInbox
from tests.support.activitywatch import aw_api, create_bucket, event, heartbeat

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = "aw-watcher-window_laptop"
WEB = "aw-watcher-web-firefox"
AFK = "aw-watcher-afk_laptop"


@pytest.fixture
def base():
    """A whole hour, an hour ago: every event of a test falls on its UTC day."""
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def apps_report(api, day):
    """The report as the dashboard reads it (a signed-in session, not the watcher's token)."""
    return api.get(f"/api/v1/reports/apps?date={day.isoformat()}&tz=UTC").json()


def test_window_and_browser_heartbeats_become_app_and_domain_time(world, base):
    member = aw_api(world.users["member"])
    create_bucket(member, WINDOW)
    create_bucket(member, WEB, type_="web.tab.current", client="aw-client-web")
    for second in range(0, 121, 5):  # a watcher polling every 5 s: one event of 120 s
        heartbeat(member, WINDOW, event(second, base=base, app="Code", title="stint.py"), pulsetime=6)
    for second in (200, 230, 260):
        heartbeat(member, WEB, event(second, base=base, url="https://www.github.com/x", title="PR"), pulsetime=31)
    assert AwEvent.objects.count() == 2  # one merged event per bucket
    merge_pending()
    assert not HeartbeatInbox.objects.exists()
    report = apps_report(world.api("member"), base.date())
    assert report["apps"] == [{"app": "Code", "seconds": 120}, {"app": "Firefox", "seconds": 60}]
    assert report["domains"] == [{"domain": "github.com", "seconds": 60}]
    # the intervals belong to the member, in the company, on the bucket's machine
    devices = set(AppUsage.objects.values_list("company_id", "user_id", "device_id"))
    member_id = world.users["member"].id
    assert devices == {(world.a.id, member_id, "laptop"), (world.a.id, member_id, f"laptop/{WEB}")}


def test_privacy_rules_keep_a_dropped_event_out_of_both_stores_and_redact_in_both(world, base):
    activity_services.privacy_rule_create(company=world.a, field="title", pattern="payroll", action="drop")
    activity_services.privacy_rule_create(company=world.a, field="title", pattern="secret", action="redact")
    member = aw_api(world.users["member"])
    create_bucket(member, WINDOW)
    dropped = heartbeat(member, WINDOW, event(0, base=base, app="Excel", title="Payroll 2026"))
    assert dropped.status_code == 200
    redacted = heartbeat(member, WINDOW, event(10, base=base, app="Notes", title="my secret plan")).json()
    assert redacted["data"] == {"app": "Notes", "title": "[redacted]"}
    member.post(
        f"/api/0/buckets/{WINDOW}/events", [event(20, 5, base=base, app="Excel", title="payroll")], format="json"
    )
    stored = list(AwEvent.objects.values_list("data", flat=True))
    assert stored == [{"app": "Notes", "title": "[redacted]"}]
    assert list(HeartbeatInbox.objects.values_list("app", "title")) == [("Notes", "[redacted]")]


def test_afk_status_gives_active_and_away_time_counted_once_across_machines(world, base):
    member = aw_api(world.users["member"])
    create_bucket(member, AFK, type_="afkstatus", client="aw-watcher-afk")
    create_bucket(member, "aw-watcher-afk_desktop", type_="afkstatus", client="aw-watcher-afk", hostname="desktop")
    events = [event(0, 600, base=base, status="not-afk"), event(600, 300, base=base, status="afk")]
    member.post(f"/api/0/buckets/{AFK}/events", events, format="json")
    # the desktop reports the same ten minutes active: they count once
    member.post("/api/0/buckets/aw-watcher-afk_desktop/events", [events[0]], format="json")
    report = apps_report(world.api("member"), base.date())
    assert (report["active_seconds"], report["away_seconds"]) == (600, 300)
    # another member's day is their own
    assert apps_report(world.api("loner"), base.date())["active_seconds"] == 0


def test_other_bucket_types_are_stored_and_returned_but_feed_no_report(world, base):
    member = aw_api(world.users["member"])
    create_bucket(member, "aw-watcher-spotify", type_="currently-playing", client="aw-watcher-spotify")
    heartbeat(member, "aw-watcher-spotify", event(0, base=base, app="Spotify", title="Song"))
    assert member.get("/api/0/buckets/aw-watcher-spotify/events/count").json() == 1
    assert not HeartbeatInbox.objects.exists()


def test_editor_events_become_coding_heartbeats_stored_once(world, base):
    member = aw_api(world.users["member"])
    bucket = "aw-watcher-vscode_laptop"
    create_bucket(member, bucket, type_="app.editor.activity", client="aw-watcher-vscode")
    data = {"file": "/src/stint/views.py", "project": "stint", "language": "python"}
    for second in (0, 30, 60):
        heartbeat(member, bucket, event(second, base=base, **data), pulsetime=31)
    # a queued client resends an event it was not sure was stored
    heartbeat(member, bucket, event(60, base=base, **data), pulsetime=31)
    rows = list(CodingHeartbeat.objects.order_by("time").values_list("time", "entity", "project", "language", "editor"))
    assert rows == [
        (base + timedelta(seconds=s), "/src/stint/views.py", "stint", "python", "aw-watcher-vscode")
        for s in (0, 30, 60)
    ]
    assert member.get(f"/api/0/buckets/{bucket}/events").json()[0]["duration"] == 60.0


def test_a_redacted_url_takes_its_domain_with_it_in_both_stores(world, base):
    activity_services.privacy_rule_create(company=world.a, field="url", pattern="mybank", action="redact")
    member = aw_api(world.users["member"])
    create_bucket(member, WEB, type_="web.tab.current", client="aw-client-web")
    answer = heartbeat(
        member, WEB, event(0, base=base, url="https://mybank.example/acct", title="Balance", audible=False)
    )
    assert answer.json()["data"] == {"url": "[redacted]", "title": "Balance", "audible": False}
    assert list(HeartbeatInbox.objects.values_list("app", "url", "domain")) == [("Firefox", "[redacted]", "[redacted]")]
