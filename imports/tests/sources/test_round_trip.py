"""Issue 20's round trip over the demo data: Studio Co exported as stint_json (report "full")
and imported into an empty company of the same people gives equal weekly, daily and team
report totals.

A person's entries never overlap, whatever the company: the move is what a team does when it
switches instances — Studio Co's reports are read, its entries go, the file comes in."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db.models import Max, Min

from accounts.models import User
from activity import partitions
from imports import services
from organizations import services as org
from organizations.models import Company, Membership
from organizations.tests.world import api_as
from reports import services as reports
from tracking import services as tracking
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _partitions():
    partitions.forget_known()  # as tests/test_seed_demo.py: seed_demo makes monthly partitions


def _team(api, company: Company, first, last) -> dict[str, tuple[int, int]]:
    body = api.get(f"/api/v1/reports/team?from={first}&to={last}&company={company.pk}&limit=200").json()
    return {r["user"]["email"]: (r["tracked_seconds"], r["billable_seconds"]) for r in body["results"]}


def _weekly(api, company: Company, user: User, first) -> tuple:
    body = api.get(f"/api/v1/reports/weekly?from={first}&user={user.pk}&company={company.pk}").json()
    days = [(d["date"], d["seconds"]) for d in body["days"]]
    return days, sorted((p["name"], p["seconds"]) for p in body["projects"])


def _daily(api, company: Company, user: User, first, last) -> list:
    body = api.get(f"/api/v1/reports/daily?from={first}&to={last}&user={user.pk}&company={company.pk}").json()

    def project(p: dict) -> tuple:
        return p["name"], p["seconds"], sorted((t["title"], t["seconds"]) for t in p["tasks"])

    return [(d["date"], d["total_seconds"], sorted(project(p) for p in d["projects"])) for d in body["days"]]


def test_the_demo_company_exported_and_imported_into_an_empty_one_reports_the_same(world):
    call_command("seed_demo")
    alex = User.objects.get(email="alex@studio.co")
    studio = Company.objects.get(name="Studio Co")
    tracking.timer_stop(user=alex)  # a running timer is no entry yet: stopped, it is one
    owner = Membership.objects.get(company=studio, user=alex)
    export = reports.export_request(
        membership=owner, report="full", fmt="json", first=None, last=None, tz=studio.timezone
    )
    export = reports.export_build(export_id=export.pk)
    assert export is not None
    assert export.rows == TimeEntry.objects.filter(company=studio, deleted_at__isnull=True).count()

    zone = ZoneInfo(studio.timezone)
    span = TimeEntry.objects.filter(company=studio).aggregate(first=Min("started_at"), last=Max("ended_at"))
    first = span["first"].astimezone(zone).date() - timedelta(days=1)
    last = span["last"].astimezone(zone).date() + timedelta(days=1)
    assert (last - first).days < 31
    api = api_as(alex)
    people = [alex, *(m.user for m in Membership.objects.filter(company=studio).exclude(user=alex))]
    before = _reports(api, studio, people, first, last)
    assert sum(tracked for tracked, _ in before["team"].values()) > 0
    TimeEntry.objects.filter(company=studio).delete()

    empty = org.company_create(owner=alex, name="Studio Two", timezone=studio.timezone)
    for user in people[1:]:
        role = Membership.objects.get(company=studio, user=user).role
        Membership.objects.create(company=empty, user=user, role=role)
    job = services.import_file(
        membership=Membership.objects.get(company=empty, user=alex),
        path=default_storage.path(export.file_key),
        source="stint_json",
        dry_run=False,
        tz=studio.timezone,
    )
    assert (job.status, job.summary["errors"]) == ("READY", [])
    assert job.summary["created"]["entries"] == export.rows

    after = _reports(api, empty, people, first, last)
    assert after["team"] == before["team"]
    for user in people:
        assert after["daily", user.email] == before["daily", user.email], user.email
        assert after["weekly", user.email] == before["weekly", user.email], user.email


def _reports(api, company: Company, people: list[User], first, last) -> dict:
    """The team report of the range, and each person's daily and weekly reports over it."""
    out: dict = {"team": _team(api, company, first, last)}
    for user in people:
        out["daily", user.email] = _daily(api, company, user, first, last)
        out["weekly", user.email] = [
            _weekly(api, company, user, first + timedelta(days=7 * n)) for n in range((last - first).days // 7 + 1)
        ]
    return out
