"""The dashboard page and its panels (SPEC: Web dashboard), through the Django test client:
who sees whom by role, the stable test hooks, tenant isolation, and the REST calls the page
makes with its session (CSRF required)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone

from organizations.models import Company, Membership
from reports.selectors.days import local_day_bounds
from tests.support.screenshots import png, processed, upload
from tracking import services as tracking
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db


def page_as(user, path="/dashboard/", client=None) -> str:
    client = client or Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def row_ids(html: str) -> set[str]:
    return set(re.findall(r'data-testid="member-row" data-user-id="([^"]+)"', html))


def start(world, role, project=None, description="Designing"):
    from organizations.models import Membership

    membership = Membership.objects.get(user=world.users[role], company=world.a)
    return tracking.timer_start(
        membership=membership, project_id=(project or world.project_open).pk, description=description
    )


def test_an_owner_sees_every_member_of_their_company_and_nobody_elses(world):
    start(world, "member")
    tracking.timer_start(
        membership=world.b.memberships.get(user=world.users["outsider"]), project_id=world.project_b.pk
    )  # someone in the other company is tracking too

    html = page_as(world.users["owner"])

    a_users = {str(world.users[r].pk) for r in ["owner", "admin", "manager", "lead", "member", "loner"]}
    assert row_ids(html) == a_users
    assert 'data-testid="now-board"' in html
    assert 'data-testid="week-chart"' in html
    assert "Oscar Outsider" not in html
    assert world.project_b.name not in html
    assert "Company B" not in html
    assert html.count('data-testid="running-timer"') == 1
    assert html.count('data-testid="today-total"') == 6
    assert html.count('data-testid="team-row"') == 6


def test_a_member_sees_only_themselves_and_no_team_panel(world):
    start(world, "lead")  # their lead is tracking: not the member's business

    html = page_as(world.users["member"])

    assert row_ids(html) == {str(world.users["member"].pk)}
    assert 'data-testid="running-timer"' not in html
    assert 'data-testid="team-row"' not in html
    assert 'data-panel="team" aria-labelledby="team-title" hidden' in html


def test_a_lead_sees_their_team_and_themselves(world):
    html = page_as(world.users["lead"])
    assert row_ids(html) == {str(world.users["lead"].pk), str(world.users["member"].pk)}
    assert html.count('data-testid="team-row"') == 2


def test_a_running_timer_shows_in_its_row_with_the_project_and_todays_total(world):
    entry = start(world, "member", description="Wireframes")
    started = timezone.now() - timezone.timedelta(minutes=90)
    TimeEntry.objects.filter(pk=entry.pk).update(started_at=started)
    # Today is the company's local day: a timer started before midnight counts from midnight.
    midnight = local_day_bounds(
        timezone.now().astimezone(ZoneInfo(world.a.timezone)).date(), ZoneInfo(world.a.timezone)
    )[0]
    expected_today = (timezone.now() - max(started, midnight)).total_seconds()

    html = page_as(world.users["owner"])

    row = re.search(rf'data-user-id="{world.users["member"].pk}">(.*?)</li>', html, re.S).group(1)
    assert 'data-testid="running-timer"' in row
    assert "Open" in row
    assert "Wireframes" in row
    assert re.search(r">1:3\d:\d\d</time>", row)  # about 1:30:00, and the script keeps it ticking
    today = int(re.search(r'data-testid="today-total" data-seconds="(\d+)" data-running', row).group(1))
    assert abs(today - expected_today) < 30


def test_the_week_chart_has_seven_bars_from_the_weekly_report(world):
    # Two hours that ended ten minutes ago: the chart ends today, so an entry ending in the
    # future would lose what falls after midnight when the test runs late in the day.
    membership = Membership.objects.get(user=world.users["owner"], company=world.a)
    begun = timezone.now() - timezone.timedelta(hours=2, minutes=10)
    entry = tracking.timer_start(membership=membership, project_id=world.project_open.pk, started_at=begun)
    tracking.timer_stop(user=world.users["owner"], ended_at=entry.started_at + timezone.timedelta(hours=2))

    html = page_as(world.users["owner"], "/dashboard/panels/week/")

    bars = re.findall(r'<g class="bar[^"]*" data-date="[^"]+" data-seconds="(\d+)"', html)
    assert len(bars) == 7
    assert sum(int(s) for s in bars) == 7200
    assert "2h 00m" in html
    assert "<svg" in html


def test_panels_render_alone_and_unknown_ones_are_404(world):
    client = Client()
    client.force_login(world.users["owner"])
    for name in ["now", "week", "team", "exports"]:
        response = client.get(f"/dashboard/panels/{name}/")
        assert response.status_code == 200
        assert b"<html" not in response.content  # a fragment, swapped into the page
    assert client.get("/dashboard/panels/admin/").status_code == 404


def test_another_companys_id_is_404_and_a_second_company_can_be_chosen(world):
    owner = world.users["owner"]
    client = Client()
    client.force_login(owner)
    assert client.get(f"/dashboard/?company={world.b.pk}").status_code == 404
    assert client.get(f"/dashboard/panels/now/?company={world.b.pk}").status_code == 404
    assert client.get("/dashboard/?company=not-a-uuid").status_code == 404
    assert client.get("/dashboard/?company=").status_code == 404  # empty is malformed, as in the API

    from organizations import services as org

    mine_too = org.company_create(owner=owner, name="Side Gig")
    html = client.get(f"/dashboard/?company={mine_too.pk}").content.decode()
    assert row_ids(html) == {str(owner.pk)}
    assert f'data-company-id="{mine_too.pk}"' in html
    assert "Company A" in html  # the switcher names both


def test_the_outsider_sees_their_own_company_only(world):
    start(world, "owner")
    html = page_as(world.users["outsider"])
    assert row_ids(html) == {str(world.users["outsider"].pk)}
    assert "Olive Owner" not in html
    assert world.project_open.name not in html


@pytest.mark.django_db(transaction=True)
def test_team_panel_shows_todays_screenshots_as_signed_thumbnails(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=2)
    shot = processed(upload(world, png(), role="member"))

    owner_html = page_as(world.users["owner"], "/dashboard/panels/team/")
    thumbs = re.findall(r'<a href="([^"]+)"[^>]*>\s*<img data-testid="screenshot-thumb" src="([^"]+)"', owner_html)
    assert len(thumbs) == 1
    image, thumbnail = (link.replace("&amp;", "&") for link in thumbs[0])
    assert f"/api/v1/screenshots/{shot.pk}/thumbnail?token=" in thumbnail
    assert f"/api/v1/screenshots/{shot.pk}/image?token=" in image
    response = Client().get(thumbnail.replace("http://testserver", ""))  # the link alone opens it
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert 'data-testid="screenshot-thumb"' not in page_as(world.users["loner"])


@pytest.mark.django_db(transaction=True)
def test_team_panel_shows_no_thumbnail_before_a_screenshot_is_processed(world, settings, tmp_path):
    """An upload is PENDING until the worker has made its thumbnail: it had no link yet, and
    the panel rendered <img src="None"> for it (a broken image, and a request to ./None)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=2)
    assert upload(world, png(), role="member").status_code == 201  # not processed yet
    html = page_as(world.users["owner"], "/dashboard/panels/team/")
    assert 'src="None"' not in html
    assert 'data-testid="screenshot-thumb"' not in html
    shot = processed(upload(world, png(), role="member"))  # a second one, processed: only it shows
    srcs = re.findall(
        r'<img data-testid="screenshot-thumb" src="([^"]+)"', page_as(world.users["owner"], "/dashboard/panels/team/")
    )
    assert len(srcs) == 1
    assert f"/api/v1/screenshots/{shot.pk}/thumbnail?token=" in srcs[0]


# --------------------------------------------------------------------------- the page's REST calls


def test_the_api_takes_the_dashboard_session_only_with_the_csrf_header(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["member"])
    body = {"project_id": str(world.project_open.pk), "description": "From the page"}

    refused = client.post("/api/v1/time-entries/start", body, content_type="application/json")
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["errors"][0]["detail"]
    assert not TimeEntry.objects.filter(user=world.users["member"]).exists()

    token = str(client.get("/dashboard/").context["csrf_token"])
    started = client.post("/api/v1/time-entries/start", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert started.status_code == 201, started.content
    assert client.get("/api/v1/time-entries/current").json()["description"] == "From the page"
    stopped = client.post("/api/v1/time-entries/stop", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert stopped.status_code == 200


def test_without_a_session_or_token_the_api_still_answers_401(api):
    response = api.get("/api/v1/time-entries/current")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_exports_panel_lists_only_my_exports_with_a_download_link_when_ready(world):
    from reports.models import ReportExport

    mine = ReportExport.objects.create(
        company=world.a, requested_by=world.users["admin"], report="time_entries", format="csv",
        params={"from": "2026-01-01", "to": "2026-01-07"}, status="READY", file_key="exports/x.csv",
    )  # fmt: skip
    ReportExport.objects.create(
        company=world.a, requested_by=world.users["owner"], report="team", format="xlsx", params={}
    )
    html = page_as(world.users["admin"], "/dashboard/panels/exports/")
    assert re.findall(r'data-export-id="([^"]+)"', html) == [str(mine.pk)]
    assert f"/api/v1/reports/exports/{mine.pk}/download?token=" in html
    assert 'data-testid="export-download"' in html


def test_the_page_costs_the_same_queries_for_a_bigger_team(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.tests.factories import MembershipFactory

    client = Client()
    client.force_login(world.users["owner"])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/dashboard/").status_code == 200
        return len(captured)

    before = queries()
    for _ in range(8):  # eight more people, all tracking
        membership = MembershipFactory(company=world.a)
        tracking.timer_start(membership=membership, project_id=world.project_open.pk)
    assert queries() == before
