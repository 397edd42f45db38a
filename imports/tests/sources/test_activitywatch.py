"""ActivityWatch exports (activitywatch_json) through ``POST /api/v1/imports``: into the
importer's buckets, app usage and away time by the live intake's services, with exact report
totals, error rows for bad events, nothing twice, a dry run that writes nothing, and
nothing seen from another company."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from activity import services as activity_services
from activity.activitywatch.selectors import export_all
from activity.merge import merge_pending
from activity.models import AppUsage, AwBucket, AwEvent, CodingHeartbeat, HeartbeatInbox
from imports import services
from imports.activity_rows import ActivityWriter
from imports.models import ImportFingerprint, ImportJob, ImportStatus
from imports.sources import activitywatch
from imports.sources.base import AwBucketRow, AwEventRow, ParseOptions, RowError
from imports.tests.sources.support import BERLIN, FIXTURES, errors

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/imports"
FIXTURE_DAY = b"2026-11-30"  # every event of the fixture is on it; moved to a recent day below


def recent_day() -> date:
    """Two days ago: window and web events feed app usage only within HEARTBEAT_MAX_AGE_DAYS."""
    return datetime.now(UTC).date() - timedelta(days=2)


def fixture_bytes(day: date) -> bytes:
    return (FIXTURES / "activitywatch_export.json").read_bytes().replace(FIXTURE_DAY, day.isoformat().encode())


SUMMARY = {
    "created": {"clients": 0, "projects": 0, "tasks": 0, "entries": 0, "app_usage": 10, "coding_heartbeats": 0},
    "duplicates": 0,
    "errors": [
        {
            "row": 9,
            "field": "duration",
            "detail": "bucket aw-watcher-web-firefox, event 2: 'duration' must be between 0 and 31622400 seconds",
        },
        {
            "row": 13,
            "field": "timestamp",
            "detail": "bucket aw-watcher-window_laptop, event 2: "
            "'timestamp' is not an ISO 8601 date-time: 'last tuesday'",
        },
    ],
    "error_count": 2,
}


def run(api, data: bytes, **fields) -> ImportJob:
    body = {"source": "activitywatch_json", "file": SimpleUploadedFile("aw-export.json", data), **fields}
    response = api.post(URL, body, format="multipart")
    assert response.status_code == 202, response.content
    services.import_run(job_id=response.json()["id"])
    job = ImportJob.objects.get(pk=response.json()["id"])
    merge_pending()  # the heartbeat inbox's merge, which a worker runs every few seconds
    return job


def apps(api, day: date) -> dict:
    return api.get(f"/api/v1/reports/apps?date={day.isoformat()}&tz=UTC").json()


def test_a_dry_run_predicts_the_import_exactly_and_a_second_import_creates_nothing(world):
    api, day = world.api("member"), recent_day()
    dry = run(api, fixture_bytes(day), dry_run="true")
    assert (dry.status, dry.summary) == (ImportStatus.READY, SUMMARY)
    assert not AwBucket.objects.exists()
    assert not AwEvent.objects.exists()
    assert not HeartbeatInbox.objects.exists()
    assert not ImportFingerprint.objects.exists()

    real = run(api, fixture_bytes(day))
    assert (real.status, real.summary) == (ImportStatus.READY, SUMMARY)
    member = world.users["member"]
    assert set(AwBucket.objects.values_list("user_id", "bucket_id", "type", "hostname")) == {
        (member.id, "aw-watcher-afk_laptop", "afkstatus", "laptop"),
        (member.id, "aw-watcher-vscode_laptop", "app.editor.activity", "laptop"),
        (member.id, "aw-watcher-web-firefox", "web.tab.current", "laptop"),
        (member.id, "aw-watcher-window_laptop", "currentwindow", "laptop"),
    }
    assert AwEvent.objects.filter(company=world.a).count() == 10

    # The fixture's sums: Code 600 + 900, Firefox's window 300 and tabs 180 + 60, Slack 120;
    # active 1920 + 300 and away 480 from afkstatus.
    report = apps(api, day)
    assert report["apps"] == [
        {"app": "Code", "seconds": 1500},
        {"app": "Firefox", "seconds": 540},
        {"app": "Slack", "seconds": 120},
    ]
    assert report["domains"] == [
        {"domain": "github.com", "seconds": 180},
        {"domain": "docs.djangoproject.com", "seconds": 60},
    ]
    assert (report["active_seconds"], report["away_seconds"]) == (2220, 480)
    # The editor event feeds coding time: heartbeats at its start and its end.
    coding = api.get(f"/api/v1/reports/coding?from={day}&to={day}&tz=UTC").json()
    assert coding["total_seconds"] == 600
    assert coding["projects"][0]["name"] == "stint"

    again = run(api, fixture_bytes(day))
    assert again.summary["created"] == dict.fromkeys(SUMMARY["created"], 0)
    assert again.summary["duplicates"] == 10
    assert AwEvent.objects.count() == 10
    assert apps(api, day)["apps"] == report["apps"]


def test_chunks_change_nothing_in_the_summary(world, settings):
    settings.IMPORT_CHUNK_ROWS = 3  # buckets and their events fall across chunks
    api, day = world.api("member"), recent_day()
    assert run(api, fixture_bytes(day), dry_run="true").summary == SUMMARY
    assert run(api, fixture_bytes(day)).summary == SUMMARY
    assert apps(api, day)["apps"][0] == {"app": "Code", "seconds": 1500}


FIXTURE_APPS = [
    {"app": "Code", "seconds": 1500},
    {"app": "Firefox", "seconds": 540},
    {"app": "Slack", "seconds": 120},
]


def test_history_older_than_the_live_intakes_30_days_feeds_app_usage_too(world):
    """An import brings years: window and web events of any age feed the apps report (the live
    intake's HEARTBEAT_MAX_AGE_DAYS is for trackers, not for history)."""
    api, day = world.api("member"), datetime.now(UTC).date() - timedelta(days=200)
    job = run(api, fixture_bytes(day))
    assert (job.status, job.summary["created"]["app_usage"], job.summary["error_count"]) == (ImportStatus.READY, 10, 2)
    report = apps(api, day)
    assert report["apps"] == FIXTURE_APPS
    assert (report["active_seconds"], report["away_seconds"]) == (2220, 480)
    assert not HeartbeatInbox.objects.exists()  # every event merged


def test_an_old_month_whose_raw_partition_was_dropped_elsewhere_is_created_again(world):
    """Raw heartbeats are kept HEARTBEAT_RETENTION_DAYS: beat's maintain drops such an old month
    (in whichever process runs it) while this process still remembers having created it. A later
    import of that month must not fail its merge on the missing partition."""
    from django.db import connection

    from activity import partitions

    api, day = world.api("member"), datetime.now(UTC).date() - timedelta(days=200)
    other_day = day + timedelta(days=1) if (day + timedelta(days=1)).month == day.month else day - timedelta(days=1)
    run(api, fixture_bytes(day))
    month = partitions.month_start(datetime(day.year, day.month, day.day, tzinfo=UTC))
    with connection.cursor() as cursor:  # what maintain does in another process
        cursor.execute(f"DROP TABLE {partitions.partition_name(partitions.HEARTBEATS, month)}")
    job = run(world.api("owner"), fixture_bytes(other_day))  # the owner's own history, same month
    assert job.status == ImportStatus.READY
    assert not HeartbeatInbox.objects.exists()  # merged, not stuck on the missing partition
    assert apps(world.api("owner"), other_day)["apps"] == FIXTURE_APPS
    assert apps(api, day)["apps"] == FIXTURE_APPS  # merged intervals outlive their raw heartbeats


def test_a_retried_import_resumes_after_its_last_committed_chunk_counting_nothing_twice(world, settings, monkeypatch):
    settings.IMPORT_CHUNK_ROWS = 3  # chunk 1: the afk bucket and two events; chunk 2 starts with its third
    write, calls = ActivityWriter.write, [0]

    def write_failing_once(self, rows):
        calls[0] += 1
        if calls[0] == 2:
            raise RuntimeError("worker lost its database connection")
        return write(self, rows)

    monkeypatch.setattr(ActivityWriter, "write", write_failing_once)
    api, day = world.api("member"), recent_day()
    response = api.post(
        URL,
        {"source": "activitywatch_json", "file": SimpleUploadedFile("aw.json", fixture_bytes(day))},
        format="multipart",
    )
    job_id = response.json()["id"]
    with pytest.raises(RuntimeError):
        services.import_run(job_id=job_id)
    assert AwEvent.objects.count() == 2  # the first chunk's, committed
    services.import_run(job_id=job_id)  # the task's retry: its bucket row was in the committed chunk
    job = ImportJob.objects.get(pk=job_id)
    assert (job.status, job.summary) == (ImportStatus.READY, SUMMARY)
    assert AwEvent.objects.count() == 10


def test_privacy_rules_apply_to_imported_events_and_the_dry_run_counts_them_alike(world):
    activity_services.privacy_rule_create(company=world.a, field="title", pattern="general", action="drop")
    activity_services.privacy_rule_create(company=world.a, field="url", pattern="github", action="redact")
    api, day = world.api("member"), recent_day()
    dry = run(api, fixture_bytes(day), dry_run="true")
    real = run(api, fixture_bytes(day))
    assert dry.summary == real.summary
    assert real.summary["created"]["app_usage"] == 9  # Slack's "general" dropped
    assert not AwEvent.objects.filter(data__app="Slack").exists()
    assert AwEvent.objects.filter(data__url="[redacted]").count() == 1
    report = apps(api, day)
    assert "Slack" not in {row["app"] for row in report["apps"]}
    # the redacted URL took its domain with it: the report names no github.com
    assert report["domains"] == [{"domain": "docs.djangoproject.com", "seconds": 60}]


def test_an_export_of_stint_imports_back_into_another_person_with_equal_reports(world):
    day = recent_day()
    run(world.api("member"), fixture_bytes(day))
    exported = {"buckets": export_all(company_id=world.a.id, user_id=world.users["member"].id)}
    job = run(world.api("loner"), json.dumps(exported).encode())
    assert job.summary["created"]["app_usage"] == 10
    assert job.summary["error_count"] == 0
    assert apps(world.api("loner"), day) == apps(world.api("member"), day)


def test_another_company_sees_nothing_of_an_import(world):
    day = recent_day()
    run(world.api("member"), fixture_bytes(day))
    outsider = apps(world.api("outsider"), day)
    assert (outsider["apps"], outsider["active_seconds"]) == ([], 0)
    assert not AwBucket.objects.filter(company=world.b).exists()
    assert set(AppUsage.objects.values_list("company_id", flat=True)) == {world.a.id}
    assert set(CodingHeartbeat.objects.values_list("user_id", flat=True)) == {world.users["member"].id}
    # the outsider's own import of the same file is theirs, not a duplicate of company A's
    job = run(world.api("outsider"), fixture_bytes(day))
    assert (job.summary["created"]["app_usage"], job.summary["duplicates"]) == (10, 0)


def test_buckets_and_events_are_numbered_in_file_order_with_the_bad_ones_as_error_rows():
    with (FIXTURES / "activitywatch_export.json").open("rb") as stream:
        items = list(activitywatch.parse(stream, ParseOptions(timezone=BERLIN)))
    assert [item.row for item in items] == list(range(1, 17))
    assert [item.row for item in items if isinstance(item, AwBucketRow)] == [1, 5, 7, 11]
    assert errors(items) == [(9, "duration"), (13, "timestamp")]
    first = next(item for item in items if isinstance(item, AwEventRow))
    assert (first.event.timestamp, first.event.duration, first.event.data, first.event.id) == (
        datetime(2026, 11, 30, 9, 40, tzinfo=UTC),
        300.0,
        {"status": "not-afk"},
        None,  # the exporting server's id is not ours
    )


def test_a_bucket_without_a_type_is_one_error_row_and_broken_json_ends_with_one():
    body = {"buckets": {"b1": {"client": "c", "hostname": "h", "events": [{"timestamp": "2026-01-01T00:00:00Z"}]}}}
    items = list(activitywatch.parse(io.BytesIO(json.dumps(body).encode()), ParseOptions(timezone=BERLIN)))
    assert errors(items) == [(1, "type")]
    assert len(items) == 1
    whole = json.dumps({"buckets": {"b": {"type": "afkstatus", "client": "c", "hostname": "h", "events": []}}})
    items = list(activitywatch.parse(io.BytesIO(whole[:-3].encode()), ParseOptions(timezone=BERLIN)))
    assert isinstance(items[-1], RowError)
    assert "JSON" in items[-1].detail
    items = list(activitywatch.parse(io.BytesIO(b'{"records": []}'), ParseOptions(timezone=BERLIN)))
    assert errors(items) == [(1, "buckets")]
