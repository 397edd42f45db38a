"""Inviting a file's unknown people (issue 20: "unknown people are error rows unless the
request asks to invite them"): OWNER/ADMIN only; the invited person gets an account (or keeps
theirs) with an inactive membership and a pending invitation, and their rows import; a dry
run counts the invites and sends none; accepting makes them a member who owns the entries."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command

from accounts.models import User
from accounts.tests.factories import MembershipFactory, UserFactory
from accounts.tokens import hash_token
from imports import services
from imports.models import ImportJob, ImportStatus
from organizations import plans
from organizations import services as organizations
from organizations.models import Invitation, Membership, Role
from tests.support.api import assert_error
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/imports"
HEADER = "user_email,start,end,project,description\n"
ROWS = (
    "ana@example.com,2026-03-02T08:00:00Z,2026-03-02T09:00:00Z,Web,known\n"
    "Ghost@Example.com,2026-03-02T08:00:00Z,2026-03-02T10:00:00Z,Web,new person\n"
    "ghost@example.com,2026-03-03T08:00:00Z,2026-03-03T09:00:00Z,Web,new person again\n"
    "not-an-email,2026-03-02T08:00:00Z,2026-03-02T09:00:00Z,Web,broken\n"
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ana(world):
    return MembershipFactory(company=world.a, role=Role.MEMBER, user__email="ana@example.com").user


def upload(api, *, expect: int = 202, rows: str = ROWS, **fields) -> dict:
    body = {"source": "solidtime_csv", "invite_unknown": "true", **fields}
    body["file"] = SimpleUploadedFile("export.csv", (HEADER + rows).encode(), content_type="text/csv")
    response = api.post(URL, body, format="multipart")
    assert response.status_code == expect, response.content
    return response.json()


def run(job_id) -> ImportJob:
    services.import_run(job_id=job_id)
    return ImportJob.objects.get(pk=job_id)


def test_a_dry_run_counts_the_invites_and_sends_none_then_the_import_invites(world, ana, mailoutbox):
    api = world.api("owner")
    dry = run(upload(api, dry_run="true")["id"])

    assert dry.status == ImportStatus.READY
    assert dry.summary["created"]["members"] == 1
    assert dry.summary["created"]["entries"] == 3
    assert dry.summary["invited"] == ["ghost@example.com"]
    assert [(e["row"], e["field"]) for e in dry.summary["errors"]] == [(5, "user_email")]
    assert "'not-an-email' is not an email address to invite" in dry.summary["errors"][0]["detail"]
    assert not User.objects.filter(email="ghost@example.com").exists()
    assert not Invitation.objects.filter(email="ghost@example.com").exists()
    assert not TimeEntry.objects.exists()
    assert not [m for m in mailoutbox if "ghost@example.com" in m.to]

    real = run(upload(api)["id"])

    assert real.summary == dry.summary
    ghost = User.objects.get(email="ghost@example.com")
    assert not ghost.has_usable_password()
    membership = Membership.objects.get(company=world.a, user=ghost)
    assert (membership.is_active, membership.role) == (False, Role.MEMBER)
    assert TimeEntry.objects.filter(company=world.a, user=ghost).count() == 2
    assert [m.to for m in mail.outbox if "ghost@example.com" in m.to] == [["ghost@example.com"]]
    assert not Membership.objects.filter(company=world.b, user=ghost).exists()  # another company: untouched

    again = run(upload(api)["id"])  # invited, not yet accepted: matched, not invited twice
    assert (again.summary["created"]["members"], again.summary["invited"], again.summary["duplicates"]) == (0, [], 3)
    assert Invitation.objects.filter(company=world.a, email="ghost@example.com").count() == 1
    assert len([m for m in mail.outbox if "ghost@example.com" in m.to]) == 1


def test_accepting_the_invitation_makes_them_a_member_owning_their_entries(world, ana):
    run(upload(world.api("admin"))["id"])
    ghost = User.objects.get(email="ghost@example.com")
    invitation = Invitation.objects.get(company=world.a, email="ghost@example.com")
    token = "unknown"  # the mailed token is not stored: accept through a fresh one of the same invitation
    invitation.token_hash = hash_token(token)
    invitation.save(update_fields=["token_hash"])

    membership = organizations.invitation_accept(token=token, user=ghost)

    assert (membership.is_active, membership.role) == (True, Role.MEMBER)
    assert TimeEntry.objects.filter(company=world.a, user=ghost).count() == 2


def _fresh_token(company, email: str) -> str:
    """The mailed token is not stored: a fresh one for the same invitation."""
    invitation = Invitation.objects.get(company=company, email=email)
    token = f"token-for-{email}"
    invitation.token_hash = hash_token(token)
    invitation.save(update_fields=["token_hash"])
    return token


def register(api, *, email: str, token: str, password: str = "A long enough passphrase 42"):
    return api.post(
        "/api/v1/auth/register",
        {"email": email, "password": password, "name": "Ghost Writer", "invitation_token": token},
        format="json",
    )


def test_the_invitee_registers_with_the_mailed_link_and_the_account_made_for_them_becomes_theirs(world, ana, api):
    # given an import that invited ghost@ (an account with no password was made for the rows)
    run(upload(world.api("owner"))["id"])
    ghost = User.objects.get(email="ghost@example.com")

    # when they register through the invitation, as the email tells them to
    response = register(api, email="Ghost@Example.com", token=_fresh_token(world.a, "ghost@example.com"))

    # then it is the same account, now with their password and name, an active member owning the rows
    assert response.status_code == 201, response.content
    assert response.json()["user"]["id"] == str(ghost.pk)
    assert User.objects.filter(email__iexact="ghost@example.com").count() == 1
    ghost.refresh_from_db()
    assert ghost.check_password("A long enough passphrase 42")
    assert ghost.name == "Ghost Writer"
    assert Membership.objects.get(company=world.a, user=ghost).is_active is True
    me = api.get("/api/v1/time-entries", HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    assert me.status_code == 200
    assert {e["description"] for e in me.json()["results"]} == {"new person", "new person again"}
    login = api.post("/api/v1/auth/login", {"email": "ghost@example.com", "password": "A long enough passphrase 42"})
    assert login.status_code == 200, login.content


def test_another_invitation_cannot_claim_a_passwordless_account(world, ana, api):
    run(upload(world.api("owner"))["id"])
    _invitation, token = organizations.invitation_create(
        company=world.a, email="someone-else@example.com", role=Role.MEMBER, invited_by=world.users["owner"]
    )

    response = register(api, email="ghost@example.com", token=token)

    assert_error(response, 400, code="unique", attr="email")
    assert not User.objects.get(email="ghost@example.com").has_usable_password()
    assert Invitation.objects.get(email="someone-else@example.com").accepted_at is None


def test_an_invitation_to_the_same_address_from_another_company_claims_nothing(world, ana, api):
    # given ghost@'s passwordless account, made by company A's import
    run(upload(world.api("owner"))["id"])
    # when the owner of another company invites that address and reads the token back (the
    # invitations API returns it to the inviter), then registers with it as ghost@
    invited = world.api("outsider").post(
        f"/api/v1/companies/{world.b.id}/invitations", {"email": "ghost@example.com", "role": "MEMBER"}, format="json"
    )
    assert invited.status_code == 201, invited.content
    response = register(api, email="ghost@example.com", token=invited.json()["token"])

    # then the account is not theirs: refused as any taken email, nothing changed
    assert_error(response, 400, code="unique", attr="email")
    ghost = User.objects.get(email="ghost@example.com")
    assert not ghost.has_usable_password()
    assert not Membership.objects.filter(company=world.b, user=ghost).exists()
    assert Invitation.objects.get(company=world.b, email="ghost@example.com").accepted_at is None


def test_an_account_with_a_password_is_never_claimed_by_its_invitation(world, ana, api):
    other = UserFactory(email="ghost@example.com")  # a real account, invited by the import
    run(upload(world.api("owner"))["id"])
    password_hash = User.objects.get(pk=other.pk).password

    response = register(api, email="ghost@example.com", token=_fresh_token(world.a, "ghost@example.com"))

    assert_error(response, 400, code="unique", attr="email")
    assert User.objects.get(pk=other.pk).password == password_hash
    assert Membership.objects.get(company=world.a, user=other).is_active is False


def test_an_existing_account_of_another_company_is_invited_not_duplicated(world, ana):
    other = UserFactory(email="ghost@example.com")
    MembershipFactory(company=world.b, user=other, role=Role.OWNER)

    run(upload(world.api("owner"))["id"])

    assert User.objects.filter(email__iexact="ghost@example.com").count() == 1
    assert Membership.objects.get(company=world.a, user=other).is_active is False
    assert TimeEntry.objects.filter(company=world.a, user=other).count() == 2
    assert not TimeEntry.objects.filter(company=world.b).exists()


@pytest.mark.parametrize("role", ["manager", "member"])
def test_only_owner_and_admin_may_invite(world, role):
    response = world.api(role).post(
        URL,
        {"source": "solidtime_csv", "invite_unknown": "true", "file": SimpleUploadedFile("x.csv", HEADER.encode())},
        format="multipart",
    )

    assert_error(response, 403, code="permission_denied")
    assert not ImportJob.objects.exists()


def test_without_the_flag_unknown_people_stay_error_rows(world, ana):
    job = run(upload(world.api("owner"), invite_unknown="false")["id"])

    assert job.summary["created"] == {
        "clients": 0,
        "projects": 1,
        "tasks": 0,
        "entries": 1,
        "app_usage": 0,
        "coding_heartbeats": 0,
    }
    assert "invited" not in job.summary
    assert job.summary["error_count"] == 3
    assert not User.objects.filter(email="ghost@example.com").exists()


def test_a_full_plan_makes_the_unknown_rows_error_rows_saying_why(world, ana, settings):
    plan = world.a.subscription_status  # its seats all taken
    settings.PLAN_LIMITS = {
        **settings.PLAN_LIMITS, plan: {**settings.PLAN_LIMITS[plan], "members": plans.usage(world.a, plans.MEMBERS)}
    }  # fmt: skip
    api = world.api("owner")
    dry = run(upload(api, dry_run="true")["id"])
    real = run(upload(api)["id"])

    assert dry.summary == real.summary
    assert real.summary["created"]["members"] == 0
    ghost_errors = [e for e in real.summary["errors"] if e["row"] in (3, 4)]
    assert len(ghost_errors) == 2
    assert "Not invited: The" in ghost_errors[0]["detail"]
    assert not User.objects.filter(email="ghost@example.com").exists()


def test_the_command_invites_with_invite_unknown(world, ana, tmp_path, capsys):
    path = tmp_path / "export.csv"
    path.write_text(HEADER + ROWS)

    call_command(
        "import_data", str(path), "--source", "solidtime_csv", "--company", str(world.a.pk),
        "--user", world.users["owner"].email, "--invite-unknown", verbosity=0,
    )  # fmt: skip

    assert "1 members" in capsys.readouterr().out
    assert Membership.objects.filter(company=world.a, user__email="ghost@example.com", is_active=False).exists()


def test_a_requester_demoted_before_the_run_invites_nobody(world, ana):
    job_id = upload(world.api("admin"))["id"]
    Membership.objects.filter(company=world.a, user=world.users["admin"]).update(role=Role.MEMBER)

    job = run(job_id)

    assert job.summary["created"].get("members", 0) == 0
    # Every row is an error now: ana's is not theirs to import, the others name unknown people.
    assert job.summary["error_count"] == 4
    assert not TimeEntry.objects.exists()
    assert not User.objects.filter(email="ghost@example.com").exists()
