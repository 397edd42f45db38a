"""Plan limits (docs/organizations.md, "Plans and limits"): each limit refused with 402
``plan_limit`` naming it, through the API; ENTERPRISE unlimited; a lower plan keeps what the
company has; concurrent additions at the limit; the admin's actions, ``manage.py set_plan`` and
the retention purges."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import hash_token
from activity import partitions
from activity.models import Heartbeat
from audit.models import AuditEntry
from organizations import plans, services
from organizations.models import Company, Invitation, Membership, Role
from organizations.tests.factories import InvitationFactory
from organizations.tests.world import api_as
from reports import services as reports
from reports.models import ReportExport
from screenshots import services as screenshot_services
from screenshots.models import Screenshot
from tests.support.admin import form_data
from tests.support.api import assert_error
from tests.support.screenshots import URL as SCREENSHOTS_URL
from tests.support.screenshots import png, upload
from tests.support.settings_import import import_settings

pytestmark = pytest.mark.django_db(transaction=True)
EXPORTS_URL = "/api/v1/reports/exports"


def on_plan(company: Company, plan: str) -> Company:
    return services.company_change_plan(company=company, plan=plan)


def assert_plan_limit(response, limit: str, plan: str) -> None:
    body = assert_error(response, 402, attr=limit, code="plan_limit")
    assert body["type"] == "client_error"
    assert plan in body["errors"][0]["detail"]


def invite(world, email: str, role: str = "owner"):
    return world.api(role).post(f"/api/v1/companies/{world.a.id}/invitations", {"email": email, "role": "MEMBER"})


def export(world, role: str = "owner"):
    body = {"report": "time_entries", "format": "csv", "from": "2026-06-01", "to": "2026-06-30", "tz": "UTC"}
    return world.api(role).post(f"{EXPORTS_URL}?company={world.a.id}", body, format="json")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --------------------------------------------------------------------------- the table


def test_new_companies_start_on_trial_with_pro_limits(world):
    created = world.api("member").post("/api/v1/companies", {"name": "Side Gig"}).json()
    assert created["subscription_status"] == "TRIAL"
    assert plans.limits_for(Company.objects.get(pk=created["id"])) == plans.plan_limits("PRO")
    assert plans.plan_limits("FREE") == plans.PlanLimits(
        members=5, screenshots=False, retention_days=90, exports_per_day=5, webhooks=0
    )
    assert plans.plan_limits("ENTERPRISE") == plans.PlanLimits(
        members=None, screenshots=True, retention_days=None, exports_per_day=None, webhooks=None
    )


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"GOLD": {"members": 3}}',  # no such plan
        '{"FREE": {"projects": 3}}',  # no such limit
        '{"FREE": {"members": 0}}',  # a company always has its OWNER
        '{"FREE": {"exports_per_day": -1}}',
        '{"FREE": {"screenshots": "yes"}}',
        '{"FREE": {"retention_days": 1.5}}',
        '{"FREE": 10}',
    ],
)
def test_a_bad_plan_limits_variable_stops_the_process_naming_it(value):
    result = import_settings(PLAN_LIMITS=value)

    assert result.returncode != 0
    assert "PLAN_LIMITS" in result.stderr


def test_plan_limits_overrides_only_the_cells_it_names():
    code = "import config.settings as s; print(s.PLAN_LIMITS['FREE'], s.PLAN_LIMITS['PRO']['members'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": "postgres://u@localhost/x",  # as import_settings: nothing is connected to
            "REDIS_URL": "redis://localhost:1/0",
            "PLAN_LIMITS": '{"FREE": {"members": 10, "screenshots": true, "webhooks": null}}',
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    free, pro_members = result.stdout.strip().splitlines()[-1].rsplit(" ", 1)
    assert free == str(
        {"members": 10, "screenshots": True, "retention_days": 90, "exports_per_day": 5, "webhooks": None}
    ), result.stderr
    assert pro_members == "100"


# --------------------------------------------------------------------------- members


def test_members_a_free_company_fills_five_seats_then_402(world):
    # given: a FREE company of one OWNER
    owner = world.users["owner"]
    company = on_plan(services.company_create(owner=owner, name="Tiny"), "FREE")
    api = api_as(owner)
    url = f"/api/v1/companies/{company.id}/invitations"
    # when: four invitations fill the seats beside the OWNER
    tokens = [api.post(url, {"email": f"p{n}@tiny.co", "role": "MEMBER"}).json()["token"] for n in range(4)]
    refused = api.post(url, {"email": "sixth@tiny.co", "role": "MEMBER"})
    # then: the fifth is refused, naming the limit and the plan, and nothing was stored
    assert_plan_limit(refused, "members", "FREE")
    assert "5" in refused.json()["errors"][0]["detail"]
    assert not Invitation.objects.filter(email="sixth@tiny.co").exists()
    # accepting a sent invitation never finds the company full: its seat was held
    assert api_as(UserFactory()).post(f"/api/v1/invitations/{tokens[0]}/accept").status_code == 200
    # revoking one frees its seat
    pending = Invitation.objects.filter(company=company, accepted_at=None).first()
    api.delete(f"{url}/{pending.id}")
    assert api.post(url, {"email": "sixth@tiny.co", "role": "MEMBER"}).status_code == 201


def test_members_an_invitation_is_refused_over_the_limit_after_a_downgrade(world):
    # given: Company A's six members and one pending invitation, moved to FREE (five seats)
    on_plan(world.a, "FREE")
    token = "downgraded-token"
    Invitation.objects.filter(pk=world.invitation_a.pk).update(token_hash=hash_token(token))
    newcomer = UserFactory()
    # when / then: a new invitation, accepting the old one and registering with it are refused
    assert_plan_limit(invite(world, "late@a.co"), "members", "FREE")
    assert_plan_limit(api_as(newcomer).post(f"/api/v1/invitations/{token}/accept"), "members", "FREE")
    registered = APIClient().post(
        "/api/v1/auth/register",
        {"email": "reg@a.co", "password": PASSWORD, "name": "Reg", "invitation_token": token},
    )
    assert_plan_limit(registered, "members", "FREE")
    # nothing joined, the invitation is still there to accept after an upgrade
    assert not Membership.objects.filter(company=world.a, user=newcomer).exists()
    assert not Membership.objects.filter(company=world.a, user__email="reg@a.co").exists()
    world.invitation_a.refresh_from_db()
    assert world.invitation_a.accepted_at is None
    on_plan(world.a, "PRO")
    assert api_as(newcomer).post(f"/api/v1/invitations/{token}/accept").status_code == 200


def test_members_a_deactivated_member_cannot_come_back_past_the_limit(world):
    on_plan(world.a, "FREE")  # six active members already
    member = Membership.objects.get(company=world.a, user=world.users["loner"])
    services.member_remove(membership=member)
    with pytest.raises(plans.PlanLimitExceeded) as refused:
        services.member_update(membership=member, changes={"is_active": True})
    assert refused.value.attr == "members"
    member.refresh_from_db()
    assert member.is_active is False


# --------------------------------------------------------------------------- screenshots


def test_screenshots_an_upload_on_a_plan_without_screenshots_is_402(world):
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    assert upload(world, png()).status_code == 201  # TRIAL includes them
    on_plan(world.a, "FREE")

    assert_plan_limit(upload(world, png()), "screenshots", "FREE")
    presign = world.api("member").post(
        f"{SCREENSHOTS_URL}/presign",
        {"captured_at": timezone.now().isoformat(), "content_type": "image/png", "size": 100},
        format="json",
    )
    assert_plan_limit(presign, "screenshots", "FREE")
    assert Screenshot.objects.filter(company=world.a).count() == 1  # only the one from before


def test_screenshots_cannot_be_switched_on_without_them_in_the_plan(world):
    on_plan(world.a, "FREE")
    url = f"/api/v1/companies/{world.a.id}"

    assert_plan_limit(world.api("owner").patch(url, {"screenshots_enabled": True}), "screenshots", "FREE")
    member_url = f"{url}/members/{world.users['member'].id}"
    assert_plan_limit(world.api("owner").patch(member_url, {"screenshots_enabled": True}), "screenshots", "FREE")
    world.a.refresh_from_db()
    assert world.a.screenshots_enabled is False
    assert Membership.objects.get(company=world.a, user=world.users["member"]).screenshots_enabled is None
    # switching off, and other settings, still work on FREE
    assert world.api("owner").patch(url, {"idle_timeout_seconds": 600}).status_code == 200
    # an OWNER upgrading and switching on in one request: the plan is applied first
    both = world.api("owner").patch(url, {"subscription_status": "PRO", "screenshots_enabled": True})
    assert both.status_code == 200, both.content
    assert (both.json()["subscription_status"], both.json()["screenshots_enabled"]) == ("PRO", True)


# --------------------------------------------------------------------------- exports


def test_exports_five_a_day_on_free_then_402_and_a_new_utc_day_starts_over(world):
    on_plan(world.a, "FREE")
    ReportExport.objects.create(  # another company's exports do not count
        company=world.b, requested_by=world.users["outsider"], report="team", format="csv"
    )
    for _ in range(5):
        assert export(world).status_code == 202
    assert_plan_limit(export(world, role="member"), "exports_per_day", "FREE")
    assert ReportExport.objects.filter(company=world.a).count() == 5
    # yesterday's (UTC) do not count today
    ReportExport.objects.filter(company=world.a).update(created_at=plans.start_of_utc_day() - timedelta(seconds=1))
    assert export(world).status_code == 202


def test_enterprise_is_unlimited(world):
    # given: a hundred exports today and a hundred pending invitations (PRO's limits reached)
    on_plan(world.a, "PRO")
    ReportExport.objects.bulk_create(
        [
            ReportExport(company=world.a, requested_by=world.users["owner"], report="team", format="csv")
            for _ in range(100)
        ]
    )
    InvitationFactory.create_batch(100, company=world.a)
    assert_plan_limit(export(world), "exports_per_day", "PRO")
    assert_plan_limit(invite(world, "one-more@a.co"), "members", "PRO")
    # when: ENTERPRISE; then: both go through
    on_plan(world.a, "ENTERPRISE")
    assert export(world).status_code == 202
    assert invite(world, "one-more@a.co").status_code == 201
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    assert upload(world, png()).status_code == 201


# --------------------------------------------------------------------------- downgrades


def test_a_downgrade_keeps_everything_and_refuses_only_additions(world):
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    shot = upload(world, png()).json()["id"]
    for _ in range(6):
        assert export(world).status_code == 202
    members = set(Membership.objects.filter(company=world.a, is_active=True).values_list("user_id", flat=True))

    on_plan(world.a, "FREE")

    world.a.refresh_from_db()
    assert world.a.screenshots_enabled is True  # the setting stays, unused
    assert set(Membership.objects.filter(company=world.a, is_active=True).values_list("user_id", flat=True)) == members
    assert ReportExport.objects.filter(company=world.a).count() == 6
    assert world.api("owner").get(f"{SCREENSHOTS_URL}/{shot}").status_code == 200
    assert world.api("member").get("/api/v1/projects").status_code == 200  # members keep working
    assert_plan_limit(upload(world, png()), "screenshots", "FREE")
    assert_plan_limit(export(world), "exports_per_day", "FREE")
    assert_plan_limit(invite(world, "late@a.co"), "members", "FREE")


# --------------------------------------------------------------------------- races


def _race(first, second) -> list[str]:
    """``first`` adds inside a transaction it keeps open a moment after its insert; ``second``
    starts meanwhile. Without the company row lock, ``second`` would count before ``first``
    commits and both would pass."""
    results: list[str] = []
    inserted = threading.Event()

    def run(add, hold: bool) -> None:
        try:
            with transaction.atomic():
                add()
                if hold:
                    inserted.set()
                    time.sleep(0.5)
            results.append("ok")
        except plans.PlanLimitExceeded as exc:
            results.append(exc.attr or "")
        finally:
            inserted.set()
            connection.close()

    a = threading.Thread(target=run, args=(first, True))
    b = threading.Thread(target=run, args=(second, False))
    a.start()
    inserted.wait(5)
    b.start()
    a.join(10)
    b.join(10)
    return results


def test_two_invitations_at_the_last_seat_cannot_both_pass(world):
    owner = world.users["owner"]
    company = on_plan(services.company_create(owner=owner, name="Tiny"), "FREE")
    for n in range(3):
        services.invitation_create(company=company, email=f"p{n}@tiny.co", role=Role.MEMBER, invited_by=owner)

    def add(email):
        return lambda: services.invitation_create(company=company, email=email, role=Role.MEMBER, invited_by=owner)

    results = _race(add("x@tiny.co"), add("y@tiny.co"))

    assert sorted(results) == ["members", "ok"]
    assert plans.usage(company, "members") == 5


def test_two_exports_at_the_last_one_of_the_day_cannot_both_pass(world):
    on_plan(world.a, "FREE")
    membership = Membership.objects.get(company=world.a, user=world.users["member"])
    ReportExport.objects.bulk_create(
        [
            ReportExport(company=world.a, requested_by=world.users["owner"], report="team", format="csv")
            for _ in range(4)
        ]
    )

    def add():
        day = datetime(2026, 6, 1, tzinfo=UTC).date()
        reports.export_request(membership=membership, report="team", fmt="csv", first=day, last=day, tz="UTC")

    assert sorted(_race(add, add)) == ["exports_per_day", "ok"]
    assert ReportExport.objects.filter(company=world.a).count() == 5


# --------------------------------------------------------------------------- changing plans


def test_an_owner_patching_the_plan_is_audited_as_a_plan_change(world):
    response = world.api("owner").patch(f"/api/v1/companies/{world.a.id}", {"subscription_status": "PRO"})
    assert response.status_code == 200
    row = AuditEntry.objects.get(action="company.plan_changed")
    assert (row.changes, row.actor_id, row.company_id) == (
        {"subscription_status": ["TRIAL", "PRO"]},
        world.users["owner"].id,
        world.a.id,
    )
    assert not AuditEntry.objects.filter(action="company.updated").exists()  # nothing else changed


def admin_url(company=None) -> str:
    if company is None:
        return reverse("admin:organizations_company_changelist")
    return reverse("admin:organizations_company_change", args=[company.pk])


def test_admin_shows_the_plan_with_usage_against_its_limits(client, world):
    on_plan(world.a, "FREE")
    client.force_login(world.users["owner"])
    html = client.get(admin_url(world.a)).content.decode()
    # six active members and one pending invitation, against FREE's five
    assert "members (active members and pending invitations): 7 / 5" in html
    assert "report exports per UTC day: 0 / 5" in html
    assert "screenshots: not included" in html
    assert "days activity and screenshots are kept: 90 days" in html
    assert "webhook endpoints: 0 / 0" in html  # counted by integrations (its AppConfig.ready)


def test_admin_action_changes_the_plan_audited_for_owners_and_superusers_only(client, world):
    action = {"action": "change_plan_to_pro", "index": "0", "_selected_action": [str(world.a.pk), str(world.b.pk)]}
    # an ADMIN of A may change settings, not the plan
    client.force_login(world.users["admin"])
    refused = client.post(admin_url(), action, follow=True)
    assert "only an OWNER changes the plan" in refused.content.decode()
    # A's OWNER moves A; Company B is not theirs: untouched
    client.force_login(world.users["owner"])
    done = client.post(admin_url(), action, follow=True)
    assert "Moved 1 company to PRO" in done.content.decode()
    world.a.refresh_from_db()
    world.b.refresh_from_db()
    assert (world.a.subscription_status, world.b.subscription_status) == ("PRO", "TRIAL")
    row = AuditEntry.objects.get(action="company.plan_changed")
    assert (row.actor_id, row.changes) == (world.users["owner"].id, {"subscription_status": ["TRIAL", "PRO"]})
    # a superuser moves any company
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    client.post(admin_url(), {**action, "action": "change_plan_to_enterprise"}, follow=True)
    assert set(
        Company.objects.filter(pk__in=[world.a.pk, world.b.pk]).values_list("subscription_status", flat=True)
    ) == {"ENTERPRISE"}


def test_admin_form_refuses_screenshots_on_free_and_saves_nothing(client, world):
    on_plan(world.a, "FREE")
    client.force_login(world.users["owner"])
    data = form_data(client.get(admin_url(world.a)))
    data.update({"screenshots_enabled": "on", "idle_timeout_seconds": "900"})
    response = client.post(admin_url(world.a), data, follow=True)
    assert "does not include screenshots" in response.content.decode()
    world.a.refresh_from_db()
    assert (world.a.screenshots_enabled, world.a.idle_timeout_seconds) == (False, 300)


def test_set_plan_command(world):
    out = StringIO()
    call_command("set_plan", world.a.slug, "free", stdout=out)
    assert "TRIAL -> FREE" in out.getvalue()
    call_command("set_plan", str(world.a.pk), "ENTERPRISE", stdout=StringIO())
    world.a.refresh_from_db()
    assert world.a.subscription_status == "ENTERPRISE"
    rows = list(AuditEntry.objects.filter(action="company.plan_changed").order_by("at"))
    assert [(r.changes["subscription_status"], r.actor_id) for r in rows] == [
        (["TRIAL", "FREE"], None),
        (["FREE", "ENTERPRISE"], None),
    ]
    again = StringIO()
    call_command("set_plan", world.a.slug, "ENTERPRISE", stdout=again)
    assert "nothing changed" in again.getvalue()
    assert AuditEntry.objects.filter(action="company.plan_changed").count() == 2

    with pytest.raises(CommandError, match="not a plan"):
        call_command("set_plan", world.a.slug, "GOLD")
    with pytest.raises(CommandError, match="No company"):
        call_command("set_plan", "no-such-company", "PRO")
    with pytest.raises(CommandError, match="No company"):
        call_command("set_plan", "01890000-0000-7000-8000-000000000000", "PRO")


# --------------------------------------------------------------------------- retention


def test_screenshot_retention_is_the_shorter_of_the_company_setting_and_the_plan(world, settings):
    Company.objects.filter(pk__in=[world.a.pk, world.b.pk]).update(screenshot_retention_days=365)
    on_plan(world.a, "FREE")  # keeps 90 days
    on_plan(world.b, "PRO")  # keeps 365: the company's setting decides
    old = timezone.now() - timedelta(days=100)
    a_shot = Screenshot.objects.create(company=world.a, user=world.users["member"], captured_at=old)
    b_shot = Screenshot.objects.create(company=world.b, user=world.users["outsider"], captured_at=old)

    assert screenshot_services.screenshots_purge() == 1

    assert not Screenshot.objects.filter(pk=a_shot.pk).exists()
    assert Screenshot.objects.filter(pk=b_shot.pk).exists()
    # an upload older than the plan keeps is refused up front, naming the plan's days
    settings.PLAN_LIMITS = {**settings.PLAN_LIMITS, "PRO": {**settings.PLAN_LIMITS["PRO"], "retention_days": 30}}
    on_plan(world.a, "PRO")
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    body = {"file": SimpleUploadedFile("s.png", png()), "captured_at": old.isoformat()}
    refused = world.api("member").post(SCREENSHOTS_URL, body, format="multipart")
    assert "(30 days)" in assert_error(refused, 400, attr="captured_at")["errors"][0]["detail"]


def test_raw_heartbeats_go_after_the_plan_retention_when_it_is_shorter(world, settings):
    settings.HEARTBEAT_RETENTION_DAYS = 365  # the operator keeps a year
    on_plan(world.a, "FREE")  # 90 days
    now = datetime.now(UTC)
    old, recent = now - timedelta(days=120), now - timedelta(days=10)
    partitions.ensure(partitions.HEARTBEATS, partitions.months_between(old, now))

    def beat(company, user, at):
        return Heartbeat.objects.create(
            company=company, user=user, device_id="laptop", timestamp=at, duration=1.0, app="Code", received_at=at
        )

    gone = beat(world.a, world.users["member"], old)
    kept = [beat(world.a, world.users["member"], recent), beat(world.b, world.users["outsider"], old)]

    assert partitions.purge_by_plan(now=now) == 1
    assert partitions.purge_by_plan(now=now) == 0  # twice: nothing more
    assert not Heartbeat.objects.filter(pk=gone.pk).exists()
    assert Heartbeat.objects.filter(pk__in=[k.pk for k in kept]).count() == 2
    # when the operator keeps less than every plan, the operator's monthly drop decides alone
    assert plans.plans_keeping_less_than(60) == {}
    assert plans.plans_keeping_less_than(None) == {"FREE": 90, "TRIAL": 365, "PRO": 365}


def test_a_counted_limit_is_checked_inside_a_transaction_only(world):
    with pytest.raises(RuntimeError, match="inside the inserting transaction"):
        plans.check(world.a, plans.MEMBERS)
    with pytest.raises(ValueError, match="not a limit"):
        plans.check(world.a, "projects")


def test_the_schema_documents_the_402_where_a_limit_can_refuse(api):
    paths = api.get("/api/schema/?format=json").json()["paths"]
    refusing = [
        ("/api/v1/companies/{id}", "patch"),
        ("/api/v1/companies/{id}/members/{user_id}", "patch"),
        ("/api/v1/companies/{id}/invitations", "post"),
        ("/api/v1/invitations/{token}/accept", "post"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/screenshots", "post"),
        ("/api/v1/screenshots/presign", "post"),
        ("/api/v1/reports/exports", "post"),
    ]
    assert [op for op in refusing if "402" not in paths[op[0]][op[1]]["responses"]] == []
    assert "402" not in paths["/api/v1/projects"]["post"]["responses"]  # no limit there
