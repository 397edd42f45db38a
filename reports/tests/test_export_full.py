"""The full export (report "full", format "json"): the company as stint_json, which the
stint_json import source reads back into exactly the company's entries."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from imports.sources import stint_json
from imports.sources.base import EntryRow, ParseOptions, ProjectRow, RowError, TaskRow
from reports import services
from reports.models import ExportStatus, ReportExport
from tests.support.api import assert_error
from tracking import services as tracking
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/reports/exports"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _membership(world, role, company=None):
    return world.users[role].memberships.get(company=company or world.a)


@pytest.fixture
def company(world):
    """Company A's history: a task tree, several people, a DST-crossing entry, a deleted entry
    and a running timer (neither exported), and company B's entry (never exported with A)."""
    design = tracking.task_create(project=world.project_open, data={"title": "Design", "status": "IN_PROGRESS"})
    logo = tracking.task_create(
        project=world.project_open, data={"title": "Logo – Entwürfe", "parent_id": design.id, "estimate_seconds": 3600}
    )
    tracking.task_create(project=world.project_team, data={"title": "Review"})
    member, owner = _membership(world, "member"), _membership(world, "owner")
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    for n in range(4):
        tracking.entry_create(
            membership=member,
            data={
                "project_id": world.project_open.id,
                "task_id": logo.id if n % 2 else None,
                "started_at": start + timedelta(days=n),
                "ended_at": start + timedelta(days=n, minutes=45 + n),
                "description": f"Überprüfung #{n} — café",
                "timezone": "Europe/Berlin",
            },
        )
    tracking.entry_create(  # 23:00 CET to 04:00 CEST: four hours
        membership=owner,
        data={
            "project_id": world.project_team.id,
            "started_at": datetime(2026, 3, 28, 22, tzinfo=UTC),
            "ended_at": datetime(2026, 3, 29, 2, tzinfo=UTC),
            "description": "Night deploy",
            "billable": False,
            "timezone": "Europe/Berlin",
        },
    )
    gone = tracking.entry_create(
        membership=owner,
        data={"project_id": world.project_open.id, "started_at": start, "ended_at": start + timedelta(hours=1)},
    )
    tracking.entry_delete(entry=gone)
    tracking.timer_start(membership=_membership(world, "admin"), project_id=world.project_open.id)
    tracking.entry_create(
        membership=_membership(world, "outsider", world.b),
        data={"project_id": world.project_b.id, "started_at": start, "ended_at": start + timedelta(hours=2)},
    )


def ask(world, role="owner", **body):
    response = world.api(role).post(URL, {"report": "full", "format": "json", **body}, format="json")
    assert response.status_code == 202, response.content
    return response.json()


def download(api, export_id) -> bytes:
    status = api.get(f"{URL}/{export_id}").json()
    assert status["status"] == "READY", status
    response = api.get(status["download_url"].replace("http://testserver", ""))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return b"".join(response.streaming_content)


def exported(world, role="owner", **body) -> bytes:
    asked = ask(world, role, **body)
    services.export_build(export_id=asked["id"])
    return download(world.api(role), asked["id"])


def company_entries(company_id, **filters):
    return TimeEntry.objects.filter(company_id=company_id, deleted_at__isnull=True, ended_at__isnull=False, **filters)


def test_the_full_export_is_the_companys_structure_and_entries_and_nothing_else(world, company):
    doc = json.loads(exported(world))
    assert (doc["format"], doc["version"], doc["company"]["name"]) == ("stint_json", 1, "Company A")
    assert [client["name"] for client in doc["clients"]] == ["Acme"]  # not company B's Bolt
    assert {p["name"]: (p["client"], p["archived"]) for p in doc["projects"]} == {
        "Open": ("Acme", False),
        "Team only": (None, False),
        "Old": (None, True),
    }
    assert [(t["project"], t["path"]) for t in doc["tasks"]] == [
        ("Open", ["Design"]),
        ("Team only", ["Review"]),
        ("Open", ["Design", "Logo – Entwürfe"]),  # after its parent
    ]
    assert doc["tasks"][2]["estimate_seconds"] == 3600
    emails = {m["email"] for m in doc["members"]}
    assert emails == {u.email.lower() for k, u in world.users.items() if k != "outsider"}
    assert len(doc["entries"]) == 5  # no deleted entry, no running timer, none of company B
    ids = company_entries(world.a.id).values_list("id", flat=True)
    assert {e["id"] for e in doc["entries"]} == {str(pk) for pk in ids}
    night = next(e for e in doc["entries"] if e["description"] == "Night deploy")
    assert night["started_at"] == "2026-03-28T22:00:00+00:00"
    assert (night["project"], night["billable"], night["timezone"]) == ("Team only", False, "Europe/Berlin")
    assert doc["entries"][1]["task_path"] == ["Design", "Logo – Entwürfe"]
    assert ReportExport.objects.get().rows == 5


def test_stint_json_reads_the_export_back_into_exactly_the_companys_entries(world, company):
    body = exported(world)
    items = list(stint_json.parse(io.BytesIO(body), ParseOptions(timezone=BERLIN)))
    assert [item for item in items if isinstance(item, RowError)] == []
    rows = [item for item in items if isinstance(item, EntryRow)]
    entries = company_entries(world.a.id)
    assert len(rows) == entries.count() == 5
    seconds = sum(int((row.ended_at - row.started_at).total_seconds()) for row in rows)
    assert seconds == sum(entries.values_list("duration_seconds", flat=True))
    assert {row.source_id for row in rows} == {str(pk) for pk in entries.values_list("id", flat=True)}
    by_email: dict[str, int] = {}
    for row in rows:
        by_email[row.email] = by_email.get(row.email, 0) + int((row.ended_at - row.started_at).total_seconds())
    member, owner = world.users["member"].email.lower(), world.users["owner"].email.lower()
    assert by_email == {member: (45 + 46 + 47 + 48) * 60, owner: 4 * 3600}
    assert [item.name for item in items if isinstance(item, ProjectRow)] == ["Old", "Open", "Team only"]
    assert [item.path for item in items if isinstance(item, TaskRow)] == [
        ("Design",),
        ("Review",),
        ("Design", "Logo – Entwürfe"),
    ]
    last_structure = max(item.row for item in items if isinstance(item, ProjectRow | TaskRow))
    assert last_structure < min(row.row for row in rows)


def test_a_member_exports_only_what_they_may_read(world, company):
    doc = json.loads(exported(world, "loner"))
    assert doc["entries"] == []  # the loner tracked nothing and reads only their own
    assert {p["name"] for p in doc["projects"]} == {"Open", "Old"}  # not the team's project
    assert [m["email"] for m in doc["members"]] == [world.users["loner"].email.lower()]
    doc = json.loads(exported(world, "member"))
    assert len(doc["entries"]) == 4
    assert {e["email"] for e in doc["entries"]} == {world.users["member"].email.lower()}


def test_a_range_narrows_the_entries_to_its_local_days(world, company):
    doc = json.loads(exported(world, **{"from": "2026-03-03", "to": "2026-03-04", "tz": "Europe/Berlin"}))
    assert [e["started_at"][:10] for e in doc["entries"]] == ["2026-03-03", "2026-03-04"]
    assert len(doc["projects"]) == 3  # the structure is whole


def test_another_companys_people_export_nothing_of_this_one(world, company):
    body = {"report": "full", "format": "json"}
    assert_error(world.api("outsider").post(f"{URL}?company={world.a.id}", body, format="json"), 404)
    assert not ReportExport.objects.exists()
    doc = json.loads(exported(world, "outsider"))  # their own company: theirs alone
    assert [p["name"] for p in doc["projects"]] == ["Theirs"]
    assert [c["name"] for c in doc["clients"]] == ["Bolt"]
    assert len(doc["entries"]) == 1
    assert {m["email"] for m in doc["members"]} == {world.users["outsider"].email.lower()}
    owner_export = ask(world)
    services.export_build(export_id=owner_export["id"])
    assert_error(world.api("outsider").get(f"{URL}/{owner_export['id']}"), 404)


@pytest.mark.parametrize(
    ("body", "attr"),
    [
        ({"report": "full", "format": "csv"}, "format"),
        ({"report": "time_entries", "format": "json", "from": "2026-03-01", "to": "2026-03-31"}, "format"),
        ({"report": "full", "format": "json", "filters": {"user": "7f1c0f0e-0000-4000-8000-000000000000"}}, "filters"),
        ({"report": "full", "format": "json", "from": "2026-03-01"}, "to"),
        ({"report": "time_entries", "format": "csv", "to": "2026-03-31"}, "from"),
    ],
)
def test_bad_full_export_requests_are_400(world, body, attr):
    assert_error(world.api("owner").post(URL, body, format="json"), 400, attr=attr)
    assert not ReportExport.objects.exists()


@pytest.mark.slow
def test_a_real_worker_builds_the_full_export(world, company, celery_worker_process):
    asked = ask(world)  # the request's on-commit queues build_export on the worker's queue
    deadline = time.monotonic() + 30
    while ReportExport.objects.get(pk=asked["id"]).status != ExportStatus.READY:
        assert time.monotonic() < deadline, ReportExport.objects.get(pk=asked["id"]).error
        time.sleep(0.2)
    items = list(stint_json.parse(io.BytesIO(download(world.api("owner"), asked["id"])), ParseOptions(timezone=UTC)))
    rows = [item for item in items if isinstance(item, EntryRow)]
    assert len(rows) == 5
    assert sum(int((r.ended_at - r.started_at).total_seconds()) for r in rows) == sum(
        company_entries(world.a.id).values_list("duration_seconds", flat=True)
    )
