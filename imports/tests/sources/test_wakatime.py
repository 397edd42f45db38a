"""WakaTime data dumps (wakatime_json) through ``POST /api/v1/imports``: into the importer's
coding time by the live intake's store, with exact coding report totals, error rows for bad
heartbeats, nothing twice, a dry run that writes nothing, and nothing seen from another
company."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from activity import services as activity_services
from activity.coding import CodingItem, coding_heartbeats_store
from activity.models import CodingHeartbeat
from imports import services
from imports.models import ImportFingerprint, ImportJob, ImportStatus
from imports.sources import wakatime
from imports.sources.base import CodingRow, ParseOptions
from imports.tests.sources.support import BERLIN, FIXTURES, errors

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/imports"
FIXTURE = FIXTURES / "wakatime_dump.json"
MACHINE = "6a3c2f4e-9d61-4c1e-b2a5-1f0e8d7c6b5a"

SUMMARY = {
    "created": {"clients": 0, "projects": 0, "tasks": 0, "entries": 0, "app_usage": 0, "coding_heartbeats": 6},
    "duplicates": 0,
    "errors": [
        {"row": 3, "field": "time", "detail": "must be Unix seconds."},
        {"row": 7, "field": "entity", "detail": "required."},
    ],
    "error_count": 2,
}


def run(api, data: bytes, **fields) -> ImportJob:
    body = {"source": "wakatime_json", "file": SimpleUploadedFile("wakatime.json", data), **fields}
    response = api.post(URL, body, format="multipart")
    assert response.status_code == 202, response.content
    services.import_run(job_id=response.json()["id"])
    return ImportJob.objects.get(pk=response.json()["id"])


def coding(api) -> dict:
    return api.get("/api/v1/reports/coding?from=2026-11-01&to=2026-11-04&tz=UTC").json()


def test_a_dry_run_predicts_the_import_exactly_and_a_second_import_creates_nothing(world):
    api = world.api("member")
    dry = run(api, FIXTURE.read_bytes(), dry_run="true")
    assert (dry.status, dry.summary) == (ImportStatus.READY, SUMMARY)
    assert not CodingHeartbeat.objects.exists()
    assert not ImportFingerprint.objects.exists()
    assert api.get(f"{URL}/{dry.pk}").json()["summary"] == SUMMARY

    real = run(api, FIXTURE.read_bytes())
    assert (real.status, real.summary) == (ImportStatus.READY, SUMMARY)
    rows = CodingHeartbeat.objects.filter(company=world.a, user=world.users["member"])
    assert rows.count() == 6
    assert set(rows.values_list("device_id", flat=True)) == {MACHINE}
    # The fixture's sums: stint 09:00 → 09:05 → 09:10 (its 09:40 heartbeat stands alone: no
    # time), blog 14:00 → 14:10, 900 s apart at most (the company's coding timeout).
    report = coding(api)
    assert report["total_seconds"] == 1200
    assert sorted((p["name"], p["seconds"]) for p in report["projects"]) == [("blog", 600), ("stint", 600)]
    assert [(d["date"], d["seconds"]) for d in report["days"]] == [
        ("2026-11-01", 0),
        ("2026-11-02", 600),
        ("2026-11-03", 600),
        ("2026-11-04", 0),
    ]

    again = run(api, FIXTURE.read_bytes())
    assert again.summary["created"] == dict.fromkeys(SUMMARY["created"], 0)
    assert again.summary["duplicates"] == 6
    assert CodingHeartbeat.objects.count() == 6
    assert coding(api)["total_seconds"] == 1200


def test_chunks_and_the_command_change_nothing_in_the_summary(world, settings, capsys):
    settings.IMPORT_CHUNK_ROWS = 3  # days and error rows fall across chunks
    dry = run(world.api("member"), FIXTURE.read_bytes(), dry_run="true")
    assert dry.summary == SUMMARY
    member = world.users["member"]
    call_command("import_data", str(FIXTURE), source="wakatime_json", company=world.a.slug, user=member.email)
    out = capsys.readouterr().out
    assert "READY: created 0 clients, 0 projects, 0 tasks, 0 entries, 0 app_usage, 6 coding_heartbeats;" in out
    assert "row 3 time: must be Unix seconds." in out
    assert ImportJob.objects.get(dry_run=False).summary == SUMMARY
    assert coding(world.api("member"))["total_seconds"] == 1200


def test_privacy_rules_apply_to_imported_heartbeats(world):
    activity_services.privacy_rule_create(company=world.a, field="title", pattern="/blog/", action="drop")
    dry = run(world.api("member"), FIXTURE.read_bytes(), dry_run="true")
    real = run(world.api("member"), FIXTURE.read_bytes())
    assert dry.summary == real.summary == SUMMARY  # dropped ones count as accepted, as the live intake answers them
    assert set(CodingHeartbeat.objects.values_list("project", flat=True)) == {"stint"}
    assert coding(world.api("member"))["total_seconds"] == 600


def test_a_heartbeat_the_live_intake_stored_already_is_stored_once(world):
    member = world.users["member"]
    sent = CodingItem(
        time=datetime(2026, 11, 2, 9, 5, tzinfo=UTC), entity="/home/ana/src/stint/views.py", project="stint"
    )
    coding_heartbeats_store(company_id=world.a.id, user_id=member.id, device_id=MACHINE, editor="vim", items=[sent])
    run(world.api("member"), FIXTURE.read_bytes())
    assert CodingHeartbeat.objects.count() == 6
    assert coding(world.api("member"))["total_seconds"] == 1200


def test_another_company_sees_nothing_of_an_import(world):
    run(world.api("member"), FIXTURE.read_bytes())
    assert coding(world.api("outsider"))["total_seconds"] == 0
    assert coding(world.api("loner"))["total_seconds"] == 0
    job = run(world.api("outsider"), FIXTURE.read_bytes())  # theirs, not a duplicate of company A's
    assert (job.summary["created"]["coding_heartbeats"], job.summary["duplicates"]) == (6, 0)
    assert set(CodingHeartbeat.objects.values_list("company_id", "user_id")) == {
        (world.a.id, world.users["member"].id),
        (world.b.id, world.users["outsider"].id),
    }


def test_heartbeats_are_numbered_in_file_order_and_lists_read_the_same():
    with FIXTURE.open("rb") as stream:
        items = list(wakatime.parse(stream, ParseOptions(timezone=BERLIN)))
    assert [item.row for item in items] == list(range(1, 9))
    assert errors(items) == [(3, "time"), (7, "entity")]
    first = items[0]
    assert isinstance(first, CodingRow)
    assert (first.item.time, first.item.project, first.item.language, first.item.branch, first.machine) == (
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        "stint",
        "Python",
        "main",
        MACHINE,
    )
    heartbeats = [{"entity": "a.py", "type": "file", "time": 1700000000, "project": "p"}]
    for body in (heartbeats, {"data": heartbeats}):
        [row] = list(wakatime.parse(io.BytesIO(json.dumps(body).encode()), ParseOptions(timezone=BERLIN)))
        assert isinstance(row, CodingRow)
        assert row.machine == wakatime.UNKNOWN_MACHINE
    old = [{"entity": "a.py", "type": "file", "time": 900000000}]  # 1998: before anything Stint holds
    assert errors(wakatime.parse(io.BytesIO(json.dumps(old).encode()), ParseOptions(timezone=BERLIN))) == [(1, "time")]
    items = list(wakatime.parse(io.BytesIO(b'{"records": []}'), ParseOptions(timezone=BERLIN)))
    assert errors(items) == [(1, "days")]


def test_a_job_from_before_coding_heartbeats_existed_reads_zero(world):
    job = run(world.api("member"), FIXTURE.read_bytes(), dry_run="true")
    summary = dict(job.summary, created={k: v for k, v in job.summary["created"].items() if k != "coding_heartbeats"})
    ImportJob.objects.filter(pk=job.pk).update(summary=summary)
    assert world.api("member").get(f"{URL}/{job.pk}").json()["summary"]["created"]["coding_heartbeats"] == 0
