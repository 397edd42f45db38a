"""Imports end to end (SPEC "Imports"): asked over the API, run by the pipeline (called here,
and by a real worker in one test), with exact summaries, no duplicates on a second run, error
rows naming row and field, the role rules, limits, cancel and tenant isolation."""

from __future__ import annotations

import io
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db.models import Sum

from accounts.tests.factories import MembershipFactory
from changelog.models import Change
from imports import services, sources
from imports.models import ImportFingerprint, ImportJob, ImportStatus
from organizations.models import Client, Project, Role
from tests.support.api import assert_error
from tests.support.locked_periods import lock_until, lock_week
from tracking import services as tracking
from tracking.models import Source, Task, TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/imports"
FIXTURE = Path(__file__).resolve().parent / "fixtures" / "toggl_detailed.csv"
HEADER = (
    "User,Email,Client,Project,Task,Description,Billable,"
    "Start date,Start time,End date,End time,Duration,Tags,Amount (USD)\n"
)

# What the fixture gives in Europe/Berlin (imports/tests/sources/test_toggl.py reads it row by row).
FIXTURE_SUMMARY = {
    "created": {
        "clients": 0,
        "projects": 3,
        "tasks": 1,
        "entries": 6,
        "app_usage": 0,
        "coding_heartbeats": 0,
    },  # "Acme" is the world's
    "duplicates": 1,
    "errors": [
        {"row": 6, "field": "Start date", "detail": "Unreadable start: '2026-13-45' '09:00:00'."},
        {"row": 8, "field": "Email", "detail": "No member of this company has the email 'ghost@example.com'."},
        {
            "row": 10,
            "field": "Start date",
            "detail": "Overlaps another entry of this person, 2026-03-02 09:30:00..2026-03-02 09:45:00 UTC.",
        },
        {"row": 11, "field": "Duration", "detail": "lasts 200.0 h, more than 168 h"},
    ],
    "error_count": 4,
}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def people(world):
    """The fixture's two people, members of company A."""
    return {
        name: MembershipFactory(company=world.a, role=Role.MEMBER, user__email=f"{name}@example.com").user
        for name in ("ana", "ben")
    }


def upload(api, data: bytes, *, expect: int = 202, **fields):
    body = {"source": "toggl_csv", "timezone": "Europe/Berlin", **fields}
    body["file"] = SimpleUploadedFile("export.csv", data, content_type="text/csv")
    response = api.post(URL, body, format="multipart")
    assert response.status_code == expect, response.content
    return response.json()


def run(job_id) -> ImportJob:
    services.import_run(job_id=job_id)
    return ImportJob.objects.get(pk=job_id)


def csv_rows(*rows: str) -> bytes:
    return ("\ufeff" + HEADER + "".join(r + "\n" for r in rows)).encode()


def test_a_dry_run_predicts_the_import_exactly_and_a_second_import_creates_nothing(world, people):
    api = world.api("owner")
    asked = upload(api, FIXTURE.read_bytes(), dry_run="true")
    assert (asked["status"], asked["dry_run"]) == ("PENDING", True)
    dry = run(asked["id"])
    assert (dry.status, dry.summary) == (ImportStatus.READY, FIXTURE_SUMMARY)
    assert not TimeEntry.objects.exists()
    assert not Project.objects.filter(name="Website").exists()
    assert not ImportFingerprint.objects.exists()

    real = run(upload(api, FIXTURE.read_bytes())["id"])
    assert (real.status, real.summary) == (ImportStatus.READY, FIXTURE_SUMMARY)
    entries = TimeEntry.objects.filter(company=world.a)
    assert entries.count() == 6
    assert set(entries.values_list("source", flat=True)) == {Source.IMPORT}
    assert entries.aggregate(s=Sum("duration_seconds"))["s"] == 5400 + 900 + 1800 + 3600 + 3600 + 2700
    website = Project.objects.get(company=world.a, name="Website")
    assert website.client == world.client_a  # "Acme" and "ACME": the world's client, matched
    assert entries.filter(project=website).count() == 4  # "website" too
    assert Task.objects.get(project=website).title == "Design"
    assert entries.filter(project__name="No project", user=people["ben"]).count() == 1
    assert Client.objects.filter(company=world.a).count() == 1
    night = entries.get(description="Night release (clocks go forward)")
    assert (night.started_at, night.duration_seconds, night.timezone) == (
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        3600,
        "Europe/Berlin",
    )
    # Sync clients and dashboards learn of each entry (entry.upserted, as a sync batch records them).
    assert Change.objects.filter(event="entry.upserted", entity_id__in=entries.values("pk")).count() == 6

    again = run(upload(api, FIXTURE.read_bytes())["id"])
    assert again.summary["created"] == {
        "clients": 0,
        "projects": 0,
        "tasks": 0,
        "entries": 0,
        "app_usage": 0,
        "coding_heartbeats": 0,
    }
    assert again.summary["duplicates"] == 7  # the six imported rows and the duplicate row
    assert TimeEntry.objects.filter(company=world.a).count() == 6
    assert not default_storage.exists(again.file_key or "imports/none")  # the file is gone
    assert again.file_key == ""


def test_imported_entries_are_pulled_by_sync_clients_but_not_pushed_to_sockets_one_by_one(world, people):
    # A million socket events for one import would flood every open dashboard: the import's
    # changes are numbered and pulled like any other (GET /sync/changes), never published.
    from changelog import sequencer
    from changelog.models import SyncState
    from organizations.tests.world import api_as

    phone = api_as(people["ana"])
    cursor = phone.get("/api/v1/sync/changes").json()["next_cursor"]
    published: list = []

    def heard(*, changes, **_):
        published.extend(changes)

    sequencer.changes_published.connect(heard)
    try:
        run(upload(world.api("owner"), FIXTURE.read_bytes())["id"])
        sequencer.sequence_and_publish()  # what beat does; each chunk's commit already did it
    finally:
        sequencer.changes_published.disconnect(heard)
    mine = TimeEntry.objects.filter(company=world.a, user=people["ana"]).order_by("started_at")
    assert mine.count() == 4
    pulled = phone.get(f"/api/v1/sync/changes?cursor={cursor}").json()["changes"]
    entries = [c for c in pulled if c["entity"] == "time_entry"]
    assert sorted(c["id"] for c in entries) == sorted(str(pk) for pk in mine.values_list("pk", flat=True))
    first = next(c["data"] for c in entries if c["id"] == str(mine[0].pk))
    assert first == phone.get(f"/api/v1/time-entries/{mine[0].pk}").json()  # the API's own shape
    state = SyncState.objects.get(pk=1)
    assert state.published_upto == state.head  # passed over, not left waiting
    assert not [c for c in published if c.event == "entry.upserted"]
    assert [c.event for c in published if c.event.startswith("project.")]  # the new projects still go live


def test_chunks_change_nothing_in_the_summary(world, people, settings):
    settings.IMPORT_CHUNK_ROWS = 2  # the duplicate and the overlap now lie in later chunks than their rows
    api = world.api("owner")
    dry = run(upload(api, FIXTURE.read_bytes(), dry_run="true")["id"])
    real = run(upload(api, FIXTURE.read_bytes())["id"])
    assert dry.summary == real.summary == FIXTURE_SUMMARY
    assert (real.progress_done, real.progress_total) == (11, 11)


def test_a_newer_overlapping_file_adds_only_its_new_rows(world, people):
    api = world.api("owner")
    first = [
        f"Ana,ana@example.com,,Site,,Day {n},No,2026-04-0{n},09:00:00,2026-04-0{n},10:00:00,01:00:00,," for n in (1, 2)
    ]
    newer = [*first, "Ana,ana@example.com,,Site,,Day 3,No,2026-04-03,09:00:00,2026-04-03,10:00:00,01:00:00,,"]
    run(upload(api, csv_rows(*first))["id"])
    second = run(upload(api, csv_rows(*newer))["id"])
    assert (second.summary["created"]["entries"], second.summary["duplicates"]) == (1, 2)
    assert TimeEntry.objects.filter(user=people["ana"]).count() == 3


def test_a_member_imports_their_own_rows_and_others_rows_are_errors(world, people):
    member = world.users["member"]
    data = csv_rows(
        f"Me,{member.email.upper()},,Mine,,Own work,No,2026-05-04,09:00:00,2026-05-04,10:00:00,01:00:00,,",
        "Ana,ana@example.com,,Mine,,Not mine,No,2026-05-04,09:00:00,2026-05-04,10:00:00,01:00:00,,",
    )
    job = run(upload(world.api("member"), data)["id"])
    assert job.summary["created"]["entries"] == 1
    assert job.summary["errors"] == [
        {"row": 3, "field": "Email", "detail": "Your role lets you import only your own time."}
    ]
    assert TimeEntry.objects.get().user == member


def test_existing_entries_locked_periods_and_absurd_dates_are_error_rows_and_the_rest_imports(world, people):
    ana, ben = people["ana"], people["ben"]
    membership = ana.memberships.get(company=world.a)
    tracking.entry_create(
        membership=membership,
        data={
            "project_id": world.project_open.id,
            "started_at": datetime(2026, 5, 4, 9, 30, tzinfo=UTC),
            "ended_at": datetime(2026, 5, 4, 11, tzinfo=UTC),
        },
    )
    lock_week(company=world.a, user=ben, day=date(2026, 5, 12))
    future = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
    data = csv_rows(
        "Ana,ana@example.com,,P,,Overlaps hers,No,2026-05-04,10:00:00,2026-05-04,10:30:00,00:30:00,,",
        "Ben,ben@example.com,,P,,In his approved week,No,2026-05-12,09:00:00,2026-05-12,10:00:00,01:00:00,,",
        "Ben,ben@example.com,,P,,Fine,No,2026-05-04,09:00:00,2026-05-04,10:00:00,01:00:00,,",
        "Ben,ben@example.com,,P,,Long ago,No,1999-12-31,09:00:00,1999-12-31,10:00:00,01:00:00,,",
        f"Ben,ben@example.com,,P,,Someday,No,{future},09:00:00,{future},10:00:00,01:00:00,,",
    )
    job = run(upload(world.api("admin"), data, timezone="UTC")["id"])
    assert job.summary["created"]["entries"] == 1
    assert [(e["row"], e["field"]) for e in job.summary["errors"]] == [
        (2, "Start date"),
        (3, "Start date"),
        (5, "Start date"),
        (6, "End date"),
    ]
    assert "2026-05-04 09:30:00..2026-05-04 11:00:00 UTC" in job.summary["errors"][0]["detail"]
    assert "locked period" in job.summary["errors"][1]["detail"]
    assert "APPROVED" in job.summary["errors"][1]["detail"]
    assert TimeEntry.objects.filter(user=ben).get().description == "Fine"

    lock_until(world.a, date(2026, 5, 31))  # the company's time up to the end of May is locked
    later = csv_rows("Ben,ben@example.com,,P,,Late,No,2026-05-20,09:00:00,2026-05-20,10:00:00,01:00:00,,")
    locked = run(upload(world.api("admin"), later, timezone="UTC")["id"])
    assert locked.summary["errors"][0]["detail"] == "In a locked period: the company's time is locked until 2026-05-31."


def test_unknown_sources_coming_sources_and_big_files_are_refused(world, settings, monkeypatch):
    api = world.api("owner")
    monkeypatch.setattr(sources, "COMING", frozenset({"wakatime_json"}))  # every named source is built now
    body = assert_error(
        api.post(URL, {"source": "wakatime_json", "file": io.BytesIO(b"{}")}, format="multipart"),
        400,
        attr="source",
    )
    assert body["errors"][0]["code"] == "unsupported_source"
    assert_error(api.post(URL, {"source": "excel", "file": io.BytesIO(b"x")}, format="multipart"), 400, attr="source")
    assert_error(api.post(URL, {"source": "toggl_csv"}, format="multipart"), 400, attr="file")
    assert_error(
        api.post(URL, {"source": "toggl_csv", "file": io.BytesIO(b"x"), "hat": "1"}, format="multipart"),
        400,
        attr="hat",
    )
    assert_error(
        api.post(URL, {"source": "toggl_csv", "file": io.BytesIO(b"x"), "timezone": "Mars/Base"}, format="multipart"),
        400,
        attr="timezone",
    )
    settings.IMPORT_MAX_BYTES = 100
    body = assert_error(
        api.post(URL, {"source": "toggl_csv", "file": SimpleUploadedFile("a.csv", b"x" * 101)}, format="multipart"),
        413,
    )
    assert body["type"] == "client_error"
    assert not ImportJob.objects.exists()


def test_too_many_rows_fail_the_job_naming_the_limit(world, people, settings):
    settings.IMPORT_MAX_ROWS, settings.IMPORT_CHUNK_ROWS = 3, 2
    rows = [f"Ana,ana@example.com,,P,,Row {n},No,2026-04-0{n},09:00:00,,,01:00:00,," for n in range(1, 6)]
    job = run(upload(world.api("owner"), csv_rows(*rows), dry_run="true")["id"])
    assert job.status == ImportStatus.FAILED
    assert "IMPORT_MAX_ROWS" in job.error


def test_cancel_stops_a_job_and_a_finished_one_is_a_conflict(world, people):
    api = world.api("owner")
    asked = upload(api, FIXTURE.read_bytes())
    key = ImportJob.objects.get(pk=asked["id"]).file_key
    cancelled = api.post(f"{URL}/{asked['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CANCELLED")
    assert not default_storage.exists(key)
    assert services.import_run(job_id=asked["id"]) is None  # the queued task finds nothing to do
    assert not TimeEntry.objects.exists()
    assert_error(api.post(f"{URL}/{asked['id']}/cancel"), 409)
    finished = Change.objects.filter(event="import.finished", entity_id=asked["id"]).get()
    assert (finished.user_id, finished.payload["status"]) == (world.users["owner"].id, "CANCELLED")


def test_a_cancel_stops_a_running_import_between_chunks_keeping_what_was_committed(world, people, settings):
    settings.IMPORT_CHUNK_ROWS = 2
    api = world.api("owner")
    asked = upload(api, FIXTURE.read_bytes())

    def cancel_after_the_first_chunk(job):
        if job.progress_done == 2:
            assert api.post(f"{URL}/{job.pk}/cancel").json()["status"] == "CANCELLED"

    services.import_run(job_id=asked["id"], on_progress=cancel_after_the_first_chunk)
    job = ImportJob.objects.get(pk=asked["id"])
    assert (job.status, job.file_key, job.progress_done) == (ImportStatus.CANCELLED, "", 2)
    # Rows 2 and 3 committed with the first chunk; the second chunk rolled back at the cancel.
    assert sorted(TimeEntry.objects.values_list("description", flat=True)) == ["Homepage mockups", "Standup"]
    assert job.summary["created"]["entries"] == 2
    assert Change.objects.filter(event="import.finished", entity_id=job.pk).get().payload["status"] == "CANCELLED"


def test_imports_are_private_to_their_requester_and_company_admins_and_never_cross_companies(world, people):
    mine = upload(world.api("member"), FIXTURE.read_bytes(), dry_run="true")
    theirs = upload(world.api("outsider"), FIXTURE.read_bytes(), dry_run="true")
    ids = lambda role: [j["id"] for j in world.api(role).get(URL).json()["results"]]  # noqa: E731
    assert ids("member") == [mine["id"]]
    assert ids("owner") == ids("admin") == [mine["id"]]  # OWNER and ADMIN see their company's
    assert ids("manager") == ids("loner") == []
    assert ids("outsider") == [theirs["id"]]
    for role in ("owner", "member"):
        assert_error(world.api(role).get(f"{URL}/{theirs['id']}"), 404)
        assert_error(world.api(role).post(f"{URL}/{theirs['id']}/cancel"), 404)
    assert_error(world.api("loner").get(f"{URL}/{mine['id']}"), 404)
    assert ImportJob.objects.get(pk=theirs["id"]).status == ImportStatus.PENDING
    # Company B's owner imports the fixture: company A's people are unknown there.
    run(theirs["id"])
    job = world.api("outsider").get(f"{URL}/{theirs['id']}").json()
    assert job["summary"]["created"]["entries"] == 0
    assert job["progress"] == {"done": 11, "total": 11}
    assert {e["row"] for e in job["summary"]["errors"] if e["field"] == "Email"} == {2, 3, 4, 5, 7, 8, 9, 10, 12}


def test_the_command_runs_the_same_pipeline(world, people, tmp_path, capsys):
    call_command(
        "import_data", str(FIXTURE), source="toggl_csv", company=world.a.slug, user=world.users["owner"].email,
        dry_run=True, timezone="Europe/Berlin",
    )  # fmt: skip
    out = capsys.readouterr().out
    assert (
        "READY (dry run): created 0 clients, 3 projects, 1 tasks, 6 entries, 0 app_usage, 0 coding_heartbeats;"
        " 1 duplicates; 4 error rows." in out
    )
    assert "row 8 Email: No member of this company" in out
    assert not TimeEntry.objects.exists()
    call_command(
        "import_data", str(FIXTURE), source="toggl_csv", company=str(world.a.pk), user=world.users["owner"].email,
        timezone="Europe/Berlin",
    )  # fmt: skip
    assert TimeEntry.objects.count() == 6


def test_owner_sees_only_their_companys_imports_in_the_admin(client, world, people):
    from django.urls import reverse

    from accounts.tests.factories import PASSWORD

    ours = upload(world.api("member"), FIXTURE.read_bytes(), dry_run="true")["id"]
    theirs = upload(world.api("outsider"), FIXTURE.read_bytes(), dry_run="true")["id"]
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    html = client.get(reverse("admin:imports_importjob_changelist")).content.decode()
    assert reverse("admin:imports_importjob_change", args=[ours]) in html
    assert reverse("admin:imports_importjob_change", args=[theirs]) not in html
    assert client.get(reverse("admin:imports_importjob_change", args=[theirs])).status_code == 302


@pytest.mark.slow
def test_a_real_worker_imports_the_toggl_file_and_tells_the_requester(world, people, celery_worker_process):
    asked = upload(world.api("owner"), FIXTURE.read_bytes())  # on commit: run_import on the jobs queue
    deadline = time.monotonic() + 60
    while (job := world.api("owner").get(f"{URL}/{asked['id']}").json())["status"] not in {"READY", "FAILED"}:
        assert time.monotonic() < deadline, job
        time.sleep(0.2)
    assert (job["status"], job["summary"]) == ("READY", FIXTURE_SUMMARY)
    assert TimeEntry.objects.filter(company=world.a).count() == 6
    finished = Change.objects.get(event="import.finished", entity_id=asked["id"])
    assert finished.user_id == world.users["owner"].id
    assert finished.payload["summary"] == FIXTURE_SUMMARY
