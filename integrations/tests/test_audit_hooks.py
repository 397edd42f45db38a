"""Each kind of change outside tracking leaves its audit row (SPEC's list): who did it, what,
to which object and whose data it was, in the same transaction; over HTTP with the request's
IP and id. Time entries, timesheets and company settings have their own tests in tracking/ and
organizations/."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import PersonalAccessToken
from accounts.personal_tokens import personal_token_create
from accounts.tests.factories import UserFactory
from activity import services as activity_services
from activity.models import PrivacyRule
from audit.models import AuditEntry
from common.signed_links import link_token
from organizations import services as org_services
from organizations.models import Company, Membership, Role, TeamMember, TeamRole
from organizations.tests.world import api_as
from reports import services as report_services
from tests.support.admin import form_data
from tests.support.screenshots import png, processed, upload

REQUEST_ID = "req-hook-1"


@pytest.fixture(autouse=True)
def _no_earlier_rows(world):
    """Only the rows a test makes (the world's team memberships wrote some): the purge's
    switch on for this one statement, then off again."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.audit_purge = 'on'")
        AuditEntry.objects.all().delete()
        cursor.execute("SET LOCAL stint.audit_purge = 'off'")


def only_row(**filters) -> AuditEntry:
    rows = list(AuditEntry.objects.filter(**filters))
    assert len(rows) == 1, [(r.action, r.target_id) for r in AuditEntry.objects.all()]
    return rows[0]


def assert_row(row: AuditEntry, *, action, actor, target_type, target_id, company, subject, changes, http=True):
    assert row.action == action
    assert (row.actor_id, row.actor_email, row.actor_name) == (actor.pk, actor.email, actor.name)
    assert (row.target_type, row.target_id) == (target_type, str(target_id))
    assert row.company_id == company.pk
    assert row.subject_user_id == (subject.pk if subject is not None else None)
    assert row.changes == changes
    if http:
        assert (row.ip, row.request_id) == ("127.0.0.1", REQUEST_ID)


def membership(world, role) -> Membership:
    return Membership.objects.get(user=world.users[role], company=world.a)


def members_url(world, role) -> str:
    return f"/api/v1/companies/{world.a.pk}/members/{world.users[role].pk}"


# --------------------------------------------------------------------------- memberships


def test_a_role_change_is_recorded(world):
    response = world.api("owner").patch(
        members_url(world, "member"), {"role": Role.MANAGER, "hourly_rate_cents": 5000}, HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert response.status_code == 200, response.content

    assert_row(
        only_row(),
        action="membership.role_changed",
        actor=world.users["owner"],
        target_type="membership",
        target_id=membership(world, "member").pk,
        company=world.a,
        subject=world.users["member"],
        changes={"role": ["MEMBER", "MANAGER"], "hourly_rate_cents": [None, 5000]},
    )


def test_other_member_settings_are_recorded_as_an_update(world):
    world.api("admin").patch(members_url(world, "member"), {"screenshots_enabled": True}, HTTP_X_REQUEST_ID=REQUEST_ID)

    row = only_row()
    assert (row.action, row.changes) == ("membership.updated", {"screenshots_enabled": [None, True]})


def test_a_patch_that_changes_nothing_writes_nothing(world):
    world.api("admin").patch(members_url(world, "member"), {"role": Role.MEMBER})

    assert not AuditEntry.objects.exists()


def test_a_removal_is_recorded(world):
    response = world.api("admin").delete(members_url(world, "member"), HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 204

    assert_row(
        only_row(),
        action="membership.removed",
        actor=world.users["admin"],
        target_type="membership",
        target_id=membership(world, "member").pk,
        company=world.a,
        subject=world.users["member"],
        changes={"is_active": [True, False]},
    )


def test_a_refused_change_leaves_no_row(world):
    # The last OWNER cannot be demoted: the change and its row roll back together.
    response = world.api("owner").patch(members_url(world, "owner"), {"role": Role.MEMBER})

    assert response.status_code == 409
    assert not AuditEntry.objects.exists()


def test_an_accepted_invitation_is_recorded_as_the_invitees(world):
    invitation, token = org_services.invitation_create(
        company=world.a, email="joiner@example.com", role=Role.MANAGER, invited_by=world.users["owner"]
    )
    joiner = UserFactory(email="joiner@example.com")

    response = api_as(joiner).post(f"/api/v1/invitations/{token}/accept", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 200, response.content

    assert_row(
        only_row(),
        action="membership.added",
        actor=joiner,
        target_type="membership",
        target_id=Membership.objects.get(user=joiner, company=world.a).pk,
        company=world.a,
        subject=joiner,
        changes={"role": [None, "MANAGER"], "invitation_id": [None, str(invitation.pk)]},
    )


def test_team_membership_changes_are_recorded(world):
    api, url = world.api("owner"), f"/api/v1/teams/{world.team.pk}/members"
    loner = world.users["loner"]

    assert api.post(url, {"user_id": str(loner.pk)}, HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 201
    team_member = TeamMember.objects.get(team=world.team, user=loner)
    assert api.patch(f"{url}/{loner.pk}", {"role": TeamRole.LEAD}, HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 200
    assert api.delete(f"{url}/{loner.pk}", HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 204

    rows = list(AuditEntry.objects.order_by("at"))
    assert [(r.action, r.changes) for r in rows] == [
        ("team_member.added", {"team_id": [None, str(world.team.pk)], "role": [None, "MEMBER"]}),
        ("team_member.role_changed", {"role": ["MEMBER", "LEAD"]}),
        ("team_member.removed", {"team_id": [str(world.team.pk), None], "role": ["LEAD", None]}),
    ]
    for row in rows:
        assert (row.actor_id, row.subject_user_id, row.company_id) == (world.users["owner"].pk, loner.pk, world.a.pk)
        assert (row.target_type, row.target_id) == ("team_member", str(team_member.pk))
        assert (row.ip, row.request_id) == ("127.0.0.1", REQUEST_ID)


def test_a_role_change_in_the_admin_is_recorded_as_the_admins(client, world):
    # The admin's form carries the new role on its instance; the row must still say MEMBER -> ADMIN.
    client.force_login(world.users["owner"])
    url = reverse("admin:organizations_membership_change", args=[membership(world, "member").pk])
    data = form_data(client.get(url))
    data["role"] = Role.ADMIN

    assert client.post(url, data, HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 302

    row = only_row()
    assert (row.action, row.actor_id, row.changes) == (
        "membership.role_changed",
        world.users["owner"].pk,
        {"role": ["MEMBER", "ADMIN"]},
    )
    assert (row.ip, row.request_id) == ("127.0.0.1", REQUEST_ID)


def test_team_changes_in_the_admin_inline_record_what_was_stored(client, world):
    # The inline hands the service instances its form already changed: the rows must still say
    # what the team membership was before (the member's MEMBER), and whom it was about.
    client.force_login(world.users["owner"])
    url = reverse("admin:organizations_team_change", args=[world.team.pk])
    data = form_data(client.get(url))
    member = str(world.users["member"].pk)
    [user_key] = [k for k, v in data.items() if k.endswith("-user") and v == member]
    data[user_key.removesuffix("user") + "role"] = TeamRole.LEAD

    assert client.post(url, data, HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 302

    row = only_row()
    assert (row.action, row.changes) == ("team_member.role_changed", {"role": ["MEMBER", "LEAD"]})
    assert (row.actor_id, row.subject_user_id) == (world.users["owner"].pk, world.users["member"].pk)
    assert (row.ip, row.request_id) == ("127.0.0.1", REQUEST_ID)


# --------------------------------------------------------------------------- privacy rules


def test_privacy_rule_changes_are_recorded(world):
    api, url = world.api("admin"), "/api/v1/privacy-rules"
    created = api.post(url, {"field": "app", "pattern": "bank", "action": "drop"}, HTTP_X_REQUEST_ID=REQUEST_ID)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert api.patch(f"{url}/{rule_id}", {"action": "redact"}, HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 200
    assert api.delete(f"{url}/{rule_id}", HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 204

    rows = list(AuditEntry.objects.order_by("at"))
    assert [(r.action, r.changes) for r in rows] == [
        ("privacy_rule.created", {"field": [None, "app"], "pattern": [None, "bank"], "action": [None, "drop"]}),
        ("privacy_rule.updated", {"action": ["drop", "redact"]}),
        ("privacy_rule.deleted", {"field": ["app", None], "pattern": ["bank", None], "action": ["redact", None]}),
    ]
    for row in rows:
        assert_row(
            row,
            action=row.action,
            actor=world.users["admin"],
            target_type="privacy_rule",
            target_id=rule_id,
            company=world.a,
            subject=None,
            changes=row.changes,
        )


def test_a_privacy_rule_edited_in_the_admin_records_what_it_was(client, world):
    rule = activity_services.privacy_rule_create(company=world.a, field="app", pattern="bank", action="drop")
    client.force_login(world.users["owner"])
    url = reverse("admin:activity_privacyrule_change", args=[rule.pk])
    data = form_data(client.get(url))
    data["pattern"] = "casino"
    assert client.post(url, data).status_code == 302

    row = only_row(action="privacy_rule.updated")
    assert (row.actor_id, row.changes) == (world.users["owner"].pk, {"pattern": ["bank", "casino"]})
    assert PrivacyRule.objects.get(pk=rule.pk).pattern == "casino"


# --------------------------------------------------------------------------- personal tokens


def test_token_creation_and_revocation_are_recorded_without_the_secret(world):
    api, member = world.api("member"), world.users["member"]
    response = api.post(
        "/api/v1/auth/tokens",
        {"name": "laptop", "scopes": ["read"], "company_id": str(world.a.pk)},
        format="json",
        HTTP_X_REQUEST_ID=REQUEST_ID,
    )
    assert response.status_code == 201, response.content
    raw, token = response.json()["token"], PersonalAccessToken.objects.get(pk=response.json()["id"])
    assert api.delete(f"/api/v1/auth/tokens/{token.pk}", HTTP_X_REQUEST_ID=REQUEST_ID).status_code == 204

    created, revoked = AuditEntry.objects.order_by("at")
    assert_row(
        created,
        action="personal_token.created",
        actor=member,
        target_type="personal_token",
        target_id=token.pk,
        company=world.a,
        subject=member,
        changes={
            "name": [None, "laptop"],
            "scopes": [None, ["read"]],
            "company": [None, str(world.a.pk)],
        },
    )
    assert (revoked.action, revoked.actor_id, revoked.subject_user_id) == (
        "personal_token.revoked",
        member.pk,
        member.pk,
    )
    assert set(revoked.changes) == {"revoked_at", "revoked_reason"}
    for row in (created, revoked):
        text = repr(AuditEntry.objects.filter(pk=row.pk).values().get())
        assert raw not in text
        assert raw[:8] not in text  # its prefix
        assert token.token_hash not in text


def test_an_admin_revoking_a_members_token_is_in_the_members_trail(client, world):
    member = world.users["member"]
    token, _ = personal_token_create(user=member, name="cli", scopes=["read"])  # bound to no company
    client.force_login(world.users["owner"])

    data = {"action": "revoke_tokens", "index": "0", "_selected_action": [str(token.pk)]}
    client.post(reverse("admin:accounts_personalaccesstoken_changelist"), data, follow=True)

    row = only_row(action="personal_token.revoked")
    assert (row.actor_id, row.subject_user_id, row.company_id) == (world.users["owner"].pk, member.pk, world.a.pk)
    trail = world.api("member").get("/api/v1/audit-log", {"mine": "true"}).json()["results"]
    assert [r["action"] for r in trail] == ["personal_token.revoked"]


# --------------------------------------------------------------------------- exports


@pytest.fixture
def member_export(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    export = report_services.export_request(
        membership=membership(world, "member"),
        report="time_entries",
        fmt="csv",
        first=date(2026, 6, 1),
        last=date(2026, 6, 30),
        tz="UTC",
    )
    report_services.export_build(export_id=export.pk)
    return export


def download(api, export):
    link = api.get(f"/api/v1/reports/exports/{export.pk}").json()["download_url"]
    # The link is followed without credentials, as a browser does.
    response = api_as(UserFactory()).get(link.replace("http://testserver", ""), HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 200
    b"".join(response.streaming_content)


@pytest.mark.parametrize("who", ["member", "owner"])
def test_an_export_download_is_recorded_as_the_downloaders(world, member_export, who):
    download(world.api(who), member_export)

    assert_row(
        only_row(),
        action="report_export.downloaded",
        actor=world.users[who],
        target_type="report_export",
        target_id=member_export.pk,
        company=world.a,
        subject=world.users["member"],
        changes={},
    )


def test_a_link_made_outside_a_request_downloads_as_the_systems(world, member_export):
    # A link signed without a downloader (made outside a request, or before links named one):
    # the download is still recorded, with no actor rather than a guessed one.
    token = link_token(salt="report-export", value=str(member_export.pk))
    response = api_as(UserFactory()).get(f"/api/v1/reports/exports/{member_export.pk}/download?token={token}")

    assert response.status_code == 200
    b"".join(response.streaming_content)
    row = only_row()
    assert (row.action, row.actor_id, row.subject_user_id) == (
        "report_export.downloaded",
        None,
        world.users["member"].pk,
    )


# --------------------------------------------------------------------------- screenshots


@pytest.fixture
def members_shot(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    return processed(upload(world, png()))


@pytest.mark.parametrize("who", ["owner", "manager", "lead"])
def test_a_screenshot_opened_by_someone_else_is_recorded(world, members_shot, who):
    response = world.api(who).get(f"/api/v1/screenshots/{members_shot.pk}", HTTP_X_REQUEST_ID=REQUEST_ID)
    assert response.status_code == 200
    assert response.json()["image_url"]

    assert_row(
        only_row(),
        action="screenshot.viewed",
        actor=world.users[who],
        target_type="screenshot",
        target_id=members_shot.pk,
        company=world.a,
        subject=world.users["member"],
        changes={},
    )
    trail = world.api("member").get("/api/v1/audit-log", {"mine": "true"}).json()["results"]
    assert [(r["action"], r["actor"]["id"]) for r in trail] == [("screenshot.viewed", str(world.users[who].pk))]


def test_the_owner_opening_their_own_screenshot_writes_nothing(world, members_shot):
    assert world.api("member").get(f"/api/v1/screenshots/{members_shot.pk}").status_code == 200

    assert not AuditEntry.objects.exists()


def test_a_screenshot_others_may_not_see_is_404_and_unrecorded(world, members_shot):
    assert world.api("loner").get(f"/api/v1/screenshots/{members_shot.pk}").status_code == 404
    assert world.api("outsider").get(f"/api/v1/screenshots/{members_shot.pk}").status_code == 404

    assert not AuditEntry.objects.exists()
