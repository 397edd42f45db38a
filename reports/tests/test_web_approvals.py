"""The dashboard's timesheet pages (docs/dashboard.md): the Approvals page (who may open it,
which week, its hooks), My timesheet on the Week panel (status, Submit), My audit trail, and the
Team panel's approval column. The rows of Approvals and of the audit trail come from the REST
API in the browser (tests/test_dashboard_browser.py drives them)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from organizations.models import Membership
from tracking import services as tracking
from tracking.models import Timesheet
from tracking.weeks import week_containing

pytestmark = pytest.mark.django_db


def get(user, path):
    client = Client()
    client.force_login(user)
    return client.get(path)


def html_of(user, path) -> str:
    response = get(user, path)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


@pytest.mark.parametrize("role", ["owner", "admin", "manager", "lead"])
def test_approvers_open_the_approvals_page_and_see_its_link(world, role):
    html = html_of(world.users[role], "/dashboard/approvals/")
    assert 'data-testid="approvals-board"' in html
    assert f'data-company-id="{world.a.id}"' in html
    assert 'data-testid="approvals-link"' in html_of(world.users[role], "/dashboard/")


@pytest.mark.parametrize("role", ["member", "loner"])
def test_members_get_no_approvals_page_nor_link(world, role):
    assert get(world.users[role], "/dashboard/approvals/").status_code == 404
    html = html_of(world.users[role], "/dashboard/")
    assert 'data-testid="approvals-link"' not in html
    assert 'data-testid="audit-link"' in html  # everyone has an audit trail


def test_another_companys_approvals_page_is_404(world):
    assert get(world.users["owner"], f"/dashboard/approvals/?company={world.b.id}").status_code == 404
    assert get(world.users["outsider"], f"/dashboard/approvals/?company={world.a.id}").status_code == 404
    html = html_of(world.users["outsider"], "/dashboard/approvals/")  # their own company
    assert f'data-company-id="{world.b.id}"' in html


def test_signed_out_visitors_go_to_the_login_page(client):
    for path in ("/dashboard/approvals/", "/dashboard/audit/"):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_page_shows_the_week_of_the_week_parameter_on_the_companys_week_start(world):
    html = html_of(world.users["owner"], "/dashboard/approvals/?week=2026-06-10")
    assert 'data-from="2026-06-08"' in html  # Monday
    assert 'data-to="2026-06-14"' in html
    assert "week=2026-06-01" in html  # previous
    assert "week=2026-06-15" in html  # next
    world.a.week_start = "sunday"
    world.a.save(update_fields=["week_start"])
    html = html_of(world.users["owner"], "/dashboard/approvals/?week=2026-06-10")
    assert 'data-from="2026-06-07"' in html
    assert get(world.users["owner"], "/dashboard/approvals/?week=junk").status_code == 404


def test_the_default_week_is_the_current_one(world):
    from zoneinfo import ZoneInfo

    today = timezone.now().astimezone(ZoneInfo(world.a.timezone)).date()
    week = week_containing(today, week_start=world.a.week_start, timezone=world.a.timezone)
    assert f'data-from="{week.period_start.isoformat()}"' in html_of(world.users["owner"], "/dashboard/approvals/")


@pytest.mark.parametrize("role", ["owner", "member", "loner"])
def test_everyone_has_an_audit_trail_page(world, role):
    html = html_of(world.users[role], "/dashboard/audit/")
    assert 'data-testid="audit-trail"' in html
    assert f'data-company-id="{world.a.id}"' in html
    assert get(world.users[role], f"/dashboard/audit/?company={world.b.id}").status_code == 404


# --------------------------------------------------------------------------- My timesheet


def last_week_of(user, company):
    from zoneinfo import ZoneInfo

    today = timezone.now().astimezone(ZoneInfo(user.timezone)).date()
    this_week = week_containing(today, week_start=company.week_start, timezone=user.timezone)
    return week_containing(
        this_week.period_start - timedelta(days=1), week_start=company.week_start, timezone=user.timezone
    ), this_week


def track_last_week(world, role="member"):
    user = world.users[role]
    last_week, this_week = last_week_of(user, world.a)
    membership = Membership.objects.get(user=user, company=world.a)
    tracking.entry_create(
        membership=membership,
        data={
            "project_id": world.project_open.id,
            "started_at": last_week.starts_at + timedelta(days=1, hours=9),
            "ended_at": last_week.starts_at + timedelta(days=1, hours=11),
        },
    )
    return last_week, this_week


def week_panel(user) -> str:
    return html_of(user, "/dashboard/panels/week/")


def test_my_timesheet_shows_this_and_last_week_with_submit_for_a_week_with_time(world):
    last_week, this_week = track_last_week(world)
    html = week_panel(world.users["member"])
    states = {start: status for status, start in re.findall(r'data-status="(\w+)" data-period-start="([\d-]+)"', html)}
    assert states == {this_week.period_start.isoformat(): "OPEN", last_week.period_start.isoformat(): "OPEN"}
    assert re.findall(r'data-submit-week="([\d-]+)"', html) == [last_week.period_start.isoformat()]  # not the empty one
    assert "2h 00m" in html


def test_a_submitted_week_has_no_submit_button_and_a_rejected_one_shows_its_reason(world):
    last_week, _ = track_last_week(world)
    sheet = Timesheet.objects.create(
        company=world.a,
        user=world.users["member"],
        period_start=last_week.period_start,
        period_end=last_week.period_end,
        timezone=last_week.timezone,
        starts_at=last_week.starts_at,
        ends_at=last_week.ends_at,
        status="SUBMITTED",
    )
    html = week_panel(world.users["member"])
    assert f'data-status="SUBMITTED" data-period-start="{last_week.period_start.isoformat()}"' in html
    assert "data-submit-week" not in html
    sheet.status, sheet.comment = "REJECTED", "Tuesday is a holiday <b>"
    sheet.save(update_fields=["status", "comment"])
    html = week_panel(world.users["member"])
    assert f'data-submit-week="{last_week.period_start.isoformat()}"' in html  # submit again
    assert "Rejected: Tuesday is a holiday &lt;b&gt;" in html  # escaped


def test_my_timesheet_is_mine_only(world):
    track_last_week(world, role="member")
    html = week_panel(world.users["owner"])  # the owner tracked nothing
    assert "data-submit-week" not in html
    assert set(re.findall(r'data-status="(\w+)" data-period-start', html)) == {"OPEN"}


def test_the_team_panel_shows_each_members_approval_status(world):
    from datetime import UTC, datetime, time

    # Yesterday (UTC, the world's zone) is inside the panel's last seven days whatever today is.
    yesterday = timezone.now().astimezone(UTC).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(9), tzinfo=UTC)
    membership = Membership.objects.get(user=world.users["member"], company=world.a)
    tracking.entry_create(
        membership=membership,
        data={"project_id": world.project_open.id, "started_at": start, "ended_at": start + timedelta(hours=1)},
    )
    week = week_containing(yesterday, week_start=world.a.week_start, timezone=world.users["member"].timezone)
    Timesheet.objects.create(
        company=world.a,
        user=world.users["member"],
        period_start=week.period_start,
        period_end=week.period_end,
        timezone=week.timezone,
        starts_at=week.starts_at,
        ends_at=week.ends_at,
        status="APPROVED",
    )
    html = html_of(world.users["owner"], "/dashboard/panels/team/")
    pills = dict(re.findall(r'data-testid="team-row" data-user-id="([^"]+)".*?data-status="(\w+)"', html, re.S))
    # The panel's days may reach into another week where the member has no time: still APPROVED.
    assert pills[str(world.users["member"].id)] == "APPROVED"
    assert pills[str(world.users["loner"].id)] == "OPEN"
