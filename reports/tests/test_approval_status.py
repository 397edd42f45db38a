"""Reports and exports carry each row's approval status; /reports/team?approved_only=true
counts approved weeks only (docs/reports.md, "Approval status").

Timesheets are created directly (status and bounds from ``tracking.weeks.week_containing``),
after the entries they cover: a SUBMITTED or APPROVED week locks its entries in the database."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.tests.factories import MembershipFactory
from organizations.models import Membership
from reports import services
from tests.support.api import assert_error
from tracking import services as tracking
from tracking.models import Timesheet
from tracking.weeks import week_containing

pytestmark = pytest.mark.django_db(transaction=True)
# June 2026: the 1st, 8th, 15th, 22nd and 29th are Mondays (the company's default week_start).
TEAM = "/api/v1/reports/team?from=2026-06-01&to=2026-06-21&tz=UTC"
HOUR = 3600


def utc(day: int, hour: int = 0, month: int = 6) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def entry(world, role, start: datetime, hours: float, billable: bool = True):
    membership = world.users[role].memberships.get(company=world.a)
    return tracking.entry_create(
        membership=membership,
        data={
            "project_id": world.project_open.id,
            "started_at": start,
            "ended_at": start + timedelta(hours=hours),
            "billable": billable,
        },
    )


def sheet(world, role, day: date, status: str, company=None) -> Timesheet:
    """The member's week holding ``day`` in ``status``, as the timesheet service would store it."""
    company = company or world.a
    user = world.users[role]
    week = week_containing(day, week_start=company.week_start, timezone=user.timezone)
    return Timesheet.objects.create(
        company=company,
        user=user,
        period_start=week.period_start,
        period_end=week.period_end,
        timezone=week.timezone,
        starts_at=week.starts_at,
        ends_at=week.ends_at,
        status=status,
        total_seconds=0,
    )


def rows_by_name(response) -> dict:
    assert response.status_code == 200, response.content
    return {row["user"]["name"]: row for row in response.json()["results"]}


@pytest.fixture
def weeks(world):
    """Member: 2 h in the week of 1 June (APPROVED), 3 h in the week of 8 June (APPROVED) plus
    an entry across its last midnight (Sun 14th 23:00 to Mon 15th 01:00), 1 h in the week of
    15 June (SUBMITTED). Lead: 1 h in the week of 1 June (APPROVED). Manager: 1 h, week of
    8 June, never submitted (OPEN). Loner: nothing."""
    entry(world, "member", utc(2, 9), 2)
    entry(world, "member", utc(9, 9), 3)
    entry(world, "member", utc(14, 23), 2, billable=False)  # 1 h in each week
    entry(world, "member", utc(16, 9), 1)
    entry(world, "lead", utc(3, 9), 1)
    entry(world, "manager", utc(10, 9), 1)
    sheet(world, "member", date(2026, 6, 1), "APPROVED")
    sheet(world, "member", date(2026, 6, 8), "APPROVED")
    sheet(world, "member", date(2026, 6, 15), "SUBMITTED")
    sheet(world, "lead", date(2026, 6, 1), "APPROVED")


def test_team_rows_carry_the_status_of_their_weeks_or_mixed(world, weeks):
    rows = rows_by_name(world.api("owner").get(TEAM))
    member = rows["Member"]
    assert member["approval_status"] == "MIXED"  # two APPROVED weeks and a SUBMITTED one
    assert [(w["period_start"], w["status"], w["seconds"]) for w in member["approval_weeks"]] == [
        ("2026-06-01", "APPROVED", 2 * HOUR),
        ("2026-06-08", "APPROVED", 4 * HOUR),
        ("2026-06-15", "SUBMITTED", 2 * HOUR),
    ]
    assert member["approval_weeks"][0]["period_end"] == "2026-06-07"
    assert rows["Lead"]["approval_status"] == "APPROVED"  # its empty OPEN weeks do not make it MIXED
    assert rows["Manager"]["approval_status"] == "OPEN"
    assert rows["Loner"]["approval_status"] == "OPEN"  # no time: nothing to approve
    assert [w["status"] for w in rows["Loner"]["approval_weeks"]] == ["OPEN"] * 3


def test_a_range_inside_one_week_has_that_weeks_status(world, weeks):
    rows = rows_by_name(world.api("owner").get("/api/v1/reports/team?from=2026-06-15&to=2026-06-21&tz=UTC"))
    assert rows["Member"]["approval_status"] == "SUBMITTED"
    rows = rows_by_name(world.api("owner").get("/api/v1/reports/team?from=2026-06-01&to=2026-06-14&tz=UTC"))
    assert rows["Member"]["approval_status"] == "APPROVED"


def test_approved_only_sums_exactly_the_approved_weeks_time(world, weeks):
    from organizations import services as org

    org.project_update(project=world.project_open, data={"hourly_rate_cents": 6000, "currency": "EUR"})
    everything = rows_by_name(world.api("owner").get(TEAM))
    approved = rows_by_name(world.api("owner").get(TEAM + "&approved_only=true"))
    member = approved["Member"]
    # 2 h + 3 h, and the hour of the midnight-crossing entry that lies in the approved week;
    # not its hour in the SUBMITTED week, nor that week's 1 h.
    assert everything["Member"]["tracked_seconds"] == 8 * HOUR
    assert member["tracked_seconds"] == 6 * HOUR
    assert member["billable_seconds"] == 5 * HOUR  # the crossing entry is not billable
    assert member["amount_cents"] == 5 * 6000
    assert member["projects"] == [
        {
            "project_id": str(world.project_open.id),
            "name": "Open",
            "seconds": 6 * HOUR,
            "billable_seconds": 5 * HOUR,
            "amount_cents": 30000,
            "currency": "EUR",
        }
    ]
    assert approved["Lead"]["tracked_seconds"] == HOUR
    assert approved["Manager"]["tracked_seconds"] == 0  # OPEN week: not counted
    assert approved["Member"]["approval_status"] == "MIXED"  # the status still describes the range
    falsy = rows_by_name(world.api("owner").get(TEAM + "&approved_only=false"))
    assert falsy["Member"]["tracked_seconds"] == 8 * HOUR


def test_rejected_and_submitted_weeks_are_not_approved_time(world):
    entry(world, "member", utc(2, 9), 2)
    entry(world, "member", utc(9, 9), 3)
    sheet(world, "member", date(2026, 6, 1), "REJECTED")
    sheet(world, "member", date(2026, 6, 8), "SUBMITTED")
    row = rows_by_name(world.api("manager").get(TEAM + "&approved_only=true"))["Member"]
    assert (row["tracked_seconds"], row["activity_percent"]) == (0, None)
    assert [w["status"] for w in row["approval_weeks"]] == ["REJECTED", "SUBMITTED", "OPEN"]


def test_approved_only_keeps_the_role_rules_and_bad_values_are_400(world, weeks):
    assert set(rows_by_name(world.api("member").get(TEAM + "&approved_only=true"))) == {"Member"}
    assert set(rows_by_name(world.api("lead").get(TEAM + "&approved_only=true"))) == {"Lead", "Member"}
    assert_error(world.api("outsider").get(f"{TEAM}&approved_only=true&company={world.a.id}"), 404)
    assert_error(world.api("owner").get(TEAM + "&approved_only=maybe"), 400, attr="approved_only")


def test_another_companys_sheets_never_count(world, weeks):
    """A sheet of the same user in company B (as if they belonged to both) says nothing about A."""
    Membership.objects.create(company=world.b, user=world.users["manager"], role="MEMBER")
    sheet(world, "manager", date(2026, 6, 8), "APPROVED", company=world.b)
    rows = rows_by_name(world.api("owner").get(TEAM + "&approved_only=true"))
    assert rows["Manager"]["tracked_seconds"] == 0
    assert rows_by_name(world.api("owner").get(TEAM))["Manager"]["approval_status"] == "OPEN"


def test_weeks_follow_the_company_week_start_and_the_members_time_zone(world):
    """Sunday weeks, a member in Auckland: Sat 13 June 20:00 UTC is Sun 14 June there, the
    first day of their week of 14 June."""
    world.a.week_start = "sunday"
    world.a.save(update_fields=["week_start"])
    member = world.users["member"]
    member.timezone = "Pacific/Auckland"
    member.save(update_fields=["timezone"])
    entry(world, "member", utc(13, 20), 1)
    entry(world, "member", utc(12, 9), 1)  # Fri 12th in Auckland: the week of 7 June
    approved = sheet(world, "member", date(2026, 6, 14), "APPROVED")
    assert approved.period_start == date(2026, 6, 14)
    rows = rows_by_name(world.api("owner").get("/api/v1/reports/team?from=2026-06-07&to=2026-06-20&tz=UTC"))
    weeks = rows["Member"]["approval_weeks"]
    # The range's last UTC day ends at noon on Sunday 21st in Auckland: that week overlaps too.
    assert [(w["period_start"], w["status"], w["seconds"]) for w in weeks] == [
        ("2026-06-07", "OPEN", HOUR),
        ("2026-06-14", "APPROVED", HOUR),
        ("2026-06-21", "OPEN", 0),
    ]
    assert rows["Member"]["approval_status"] == "MIXED"
    approved_only = rows_by_name(
        world.api("owner").get("/api/v1/reports/team?from=2026-06-07&to=2026-06-20&tz=UTC&approved_only=true")
    )
    assert approved_only["Member"]["tracked_seconds"] == HOUR


def test_daily_and_weekly_reports_carry_their_weeks_status(world, weeks):
    api = world.api("member")
    day = api.get("/api/v1/reports/daily?date=2026-06-09&tz=UTC").json()
    assert (day["total_seconds"], day["approval_status"]) == (3 * HOUR, "APPROVED")
    assert api.get("/api/v1/reports/daily?date=2026-06-16&tz=UTC").json()["approval_status"] == "SUBMITTED"
    assert api.get("/api/v1/reports/daily?date=2026-06-23&tz=UTC").json()["approval_status"] == "OPEN"
    # Seven days from Friday the 12th straddle the weeks of the 8th and the 15th.
    week = api.get("/api/v1/reports/weekly?from=2026-06-12&tz=UTC").json()
    assert [d["approval_status"] for d in week["days"]] == ["APPROVED"] * 3 + ["SUBMITTED"] * 4
    assert week["approval_status"] == "MIXED"
    assert api.get("/api/v1/reports/weekly?from=2026-06-08&tz=UTC").json()["approval_status"] == "APPROVED"
    assert api.get("/api/v1/reports/weekly?from=2026-06-22&tz=UTC").json()["approval_status"] == "OPEN"
    # Another member's daily report, read by their lead, shows their status, not the lead's.
    lead_view = world.api("lead").get(f"/api/v1/reports/daily?date=2026-06-16&tz=UTC&user={world.users['member'].id}")
    assert lead_view.json()["approval_status"] == "SUBMITTED"


def test_the_team_report_costs_the_same_queries_for_more_members_and_weeks(world, weeks):
    api = world.api("owner")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert api.get(url).status_code == 200
        return len(captured)

    queries(TEAM)  # the first request of a session also records the device's last use
    before = queries(TEAM)
    for n in range(6):
        membership = MembershipFactory(company=world.a, user__name=f"Extra {n}")
        tracking.entry_create(
            membership=membership,
            data={"project_id": world.project_open.id, "started_at": utc(2, 9), "ended_at": utc(2, 10)},
        )
        Timesheet.objects.create(
            company=world.a,
            user=membership.user,
            period_start=date(2026, 6, 1),
            period_end=date(2026, 6, 7),
            timezone="UTC",
            starts_at=utc(1),
            ends_at=utc(8),
            status="APPROVED",
        )
    assert queries(TEAM) == before
    assert queries("/api/v1/reports/team?from=2026-01-01&to=2026-06-30&tz=UTC") == before  # 26 weeks, not 3
    assert queries(TEAM + "&approved_only=true") == before


def test_the_schema_documents_the_filter_and_the_statuses(world):
    schema = world.api("owner").get("/api/schema/?format=json").json()
    team = schema["paths"]["/api/v1/reports/team"]["get"]
    assert "approved_only" in {p["name"] for p in team["parameters"]}
    components = schema["components"]["schemas"]
    row = components["TeamRow"]["properties"]
    assert {"approval_status", "approval_weeks"} <= set(row)
    assert "approval_status" in components["DailyReport"]["properties"]


# --------------------------------------------------------------------------- exports


def export(world, role: str, report: str, fmt: str = "csv") -> bytes:
    api = world.api(role)
    body = {"report": report, "format": fmt, "from": "2026-06-01", "to": "2026-06-21", "tz": "UTC"}
    asked = api.post("/api/v1/reports/exports", body, format="json")
    assert asked.status_code == 202, asked.content
    services.export_build(export_id=asked.json()["id"])
    status = api.get(f"/api/v1/reports/exports/{asked.json()['id']}").json()
    response = api.get(status["download_url"].replace("http://testserver", ""))
    return b"".join(response.streaming_content)


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.usefixtures("_media")
def test_an_entries_export_has_each_entrys_approval_status(world, weeks):
    rows = list(csv.DictReader(io.StringIO(export(world, "owner", "time_entries").decode("utf-8-sig"))))
    got = [(r["user_name"], r["date"], r["approval_status"]) for r in rows]
    assert got == [
        ("Member", "2026-06-02", "APPROVED"),
        ("Lead", "2026-06-03", "APPROVED"),
        ("Member", "2026-06-09", "APPROVED"),
        ("Manager", "2026-06-10", "OPEN"),
        ("Member", "2026-06-14", "APPROVED"),  # crosses into the SUBMITTED week: counted where it starts
        ("Member", "2026-06-16", "SUBMITTED"),
    ]


@pytest.mark.usefixtures("_media")
def test_a_team_export_has_the_rows_summary_status(world, weeks):
    rows = list(csv.DictReader(io.StringIO(export(world, "owner", "team").decode("utf-8-sig"))))
    assert {r["user_name"]: r["approval_status"] for r in rows} == {
        "Olive Owner": "OPEN",
        "Admin": "OPEN",
        "Manager": "OPEN",
        "Lead": "APPROVED",
        "Member": "MIXED",
        "Loner": "OPEN",
    }
    workbook = load_workbook(io.BytesIO(export(world, "owner", "team", fmt="xlsx")), read_only=True)
    sheet_rows = list(workbook.active.values)
    assert sheet_rows[0][-1] == "approval_status"
    assert next(r for r in sheet_rows[1:] if r[1] == "Member")[-1] == "MIXED"


@pytest.mark.usefixtures("_media")
def test_an_entries_export_reads_statuses_in_a_bounded_number_of_queries(world, weeks):
    from reports.exports import entry_rows
    from reports.models import ExportFilters, ReportExport

    owner = world.users["owner"].memberships.get(company=world.a)
    job = ReportExport(
        company=world.a,
        requested_by=world.users["owner"],
        report="time_entries",
        format="csv",
        params={"from": "2026-06-01", "to": "2026-06-21", "tz": "UTC", "filters": ExportFilters().as_params()},
    )

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert list(entry_rows(job, owner))
        return len(captured)

    before = queries()
    entry(world, "admin", utc(17, 9), 1)
    entry(world, "loner", utc(18, 9), 1)
    sheet(world, "admin", date(2026, 6, 15), "SUBMITTED")
    assert queries() == before
