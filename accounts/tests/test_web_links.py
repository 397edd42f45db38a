"""Emailed links land on pages Stint serves (SPEC: Operations): the reset link opens a form that
resets the password, an invitation's accept_url opens a page where the invitee signs in or
registers and joins; both links carry PUBLIC_URL, or else the request's (or make run's) address."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.test import Client

from accounts import services
from accounts.models import DeviceSession, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.web.link_pages import register_and_accept_invitation
from common.exceptions import InvalidInput
from organizations.models import Invitation, Membership, Role

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-much-better-passphrase-2026"


def emailed_link() -> str:
    match = re.search(r"https?://\S+", str(mail.outbox[-1].body))
    assert match, mail.outbox[-1].body
    return match.group(0)


def local(link: str) -> str:
    """The link's path and query, to open it with the test client."""
    parts = urlsplit(link)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def alice():
    return UserFactory(email="alice@example.com", name="Alice")


# --------------------------------------------------------------------------- password reset


def test_the_emailed_reset_link_opens_a_form_that_resets_the_password(client, alice, settings):
    settings.PUBLIC_URL = "https://stint.example.com"
    services.password_reset_request(email=alice.email)  # what POST /auth/password/forgot's task runs
    link = emailed_link()
    assert link.startswith("https://stint.example.com/reset-password?token=")

    page = client.get(local(link))
    assert page.status_code == 200
    assert b'name="password_again"' in page.content
    token = urlsplit(link).query.removeprefix("token=")
    done = client.post("/reset-password", {"token": token, "password": NEW_PASSWORD, "password_again": NEW_PASSWORD})

    assert done.status_code == 200
    assert b'data-testid="reset-done"' in done.content
    assert client.post("/login/", {"email": alice.email, "password": NEW_PASSWORD}).status_code == 302
    # single use: the same link again is refused, with the service's reason
    again = Client().post(
        "/reset-password", {"token": token, "password": "x" + NEW_PASSWORD, "password_again": "x" + NEW_PASSWORD}
    )
    assert again.status_code == 400
    assert b"This reset link is invalid, used or expired." in again.content


def test_the_reset_form_refuses_a_weak_or_mistyped_password_and_keeps_the_old_one(client, alice):
    services.password_reset_request(email=alice.email)
    token = urlsplit(emailed_link()).query.removeprefix("token=")
    mistyped = client.post("/reset-password", {"token": token, "password": NEW_PASSWORD, "password_again": "other"})
    assert mistyped.status_code == 400
    assert b"The two passwords differ." in mistyped.content
    weak = client.post("/reset-password", {"token": token, "password": "123", "password_again": "123"})
    assert weak.status_code == 400
    assert b'class="field-error"' in weak.content
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


def test_guessing_reset_tokens_on_the_form_hits_the_login_limit(client, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        body = {"token": f"guess-{n}", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
        assert client.post("/reset-password", body).status_code == 400
    refused = client.post(
        "/reset-password", {"token": "guess-x", "password": NEW_PASSWORD, "password_again": NEW_PASSWORD}
    )
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS


def test_without_public_url_the_reset_link_is_on_the_port_make_run_serves(alice, settings):
    settings.PUBLIC_URL, settings.PORT = "", 9000
    services.password_reset_request(email=alice.email)
    assert emailed_link().startswith("http://127.0.0.1:9000/reset-password?token=")


def test_under_port_9000_and_no_public_url_every_process_links_to_9000():
    """What `PORT=9000 make run` gives its web processes and worker (runstack passes the
    environment on): links on 9000, not a fixed 8000."""
    env = {k: v for k, v in os.environ.items() if k != "PUBLIC_URL"}
    env.update(PORT="9000", DJANGO_SETTINGS_MODULE="config.settings")
    code = (
        "import django; django.setup(); from common.links import public_url; "
        "from django.conf import settings; print(public_url('/reset-password')); "
        "print('http://127.0.0.1:9000' in settings.REALTIME_ALLOWED_ORIGINS)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=django_settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["http://127.0.0.1:9000/reset-password", "True"]


# --------------------------------------------------------------------------- invitations


@pytest.fixture
def invite(world, django_capture_on_commit_callbacks):
    """The owner invites over the API; the email goes out on commit, as in production."""

    def _invite(email="newcomer@example.com", role=Role.MANAGER) -> dict:
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = world.api("owner").post(
                f"/api/v1/companies/{world.a.id}/invitations", {"email": email, "role": role}, format="json"
            )
        assert response.status_code == 201, response.content
        body = response.json()
        assert emailed_link() == body["accept_url"]  # the email and the API give the same link
        return body

    return _invite


def test_accept_url_uses_public_url_when_set_else_the_request_host(world, settings, invite):
    settings.PUBLIC_URL = "https://stint.example.com"
    assert invite()["accept_url"].startswith("https://stint.example.com/invitations/")
    settings.PUBLIC_URL = ""
    body = invite(email="second@example.com")
    assert body["accept_url"] == f"http://testserver/invitations/{body['token']}/accept"


def test_a_newcomer_registers_on_the_invitation_page_and_joins_the_company(client, world, settings, invite):
    invited = invite()
    page = client.get(local(invited["accept_url"]))
    assert page.status_code == 200
    assert b"Join Company A" in page.content

    response = client.post(
        local(invited["accept_url"]),
        {
            "action": "register",
            "register-name": "Nina Newcomer",
            "register-email": "newcomer@example.com",
            "register-password": NEW_PASSWORD,
        },
    )

    assert response.status_code == 302
    assert response["Location"] == f"/dashboard/?company={world.a.id}"
    user = User.objects.get(email="newcomer@example.com")
    assert Membership.objects.get(company=world.a, user=user).role == Role.MANAGER
    assert Invitation.objects.get(pk=invited["id"]).accepted_by == user
    assert client.get(response["Location"]).status_code == 200  # signed in with the session
    # no company of their own: the invitation's company is theirs, and their default
    assert list(Membership.objects.filter(user=user).values_list("company_id", flat=True)) == [world.a.id]
    assert user.default_company_id == world.a.id
    # the only live device is this browser (no API session left behind by the registration)
    live = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    assert list(live.values_list("device_name", flat=True)) == ["Web browser"]


def test_a_spent_invitation_registers_no_one(client, world, settings, invite):
    invited = invite()
    Invitation.objects.filter(pk=invited["id"]).update(revoked_at=world.a.created_at)
    body = {
        "action": "register",
        "register-name": "N",
        "register-email": "n@example.com",
        "register-password": NEW_PASSWORD,
    }
    response = client.post(local(invited["accept_url"]), body)
    assert response.status_code == 404
    assert b'data-testid="invitation-gone"' in response.content
    assert not User.objects.filter(email="n@example.com").exists()
    # and when it is spent between the page's check and the accept (a race), the registration
    # rolls back with it
    with pytest.raises(InvalidInput) as refused:
        register_and_accept_invitation(token=invited["token"], email="n@example.com", password=NEW_PASSWORD, name="N")
    assert (refused.value.attr, refused.value.code) == ("invitation_token", "invitation_revoked")
    assert not User.objects.filter(email="n@example.com").exists()


def test_an_existing_user_signs_in_on_the_invitation_page_and_joins(client, world, settings, alice, invite):
    invited = invite(email=alice.email)
    wrong = client.post(
        local(invited["accept_url"]), {"action": "signin", "signin-email": alice.email, "signin-password": "nope"}
    )
    assert wrong.status_code == 400
    assert b"Email or password is wrong." in wrong.content
    assert not Membership.objects.filter(company=world.a, user=alice).exists()

    response = client.post(
        local(invited["accept_url"]), {"action": "signin", "signin-email": alice.email, "signin-password": PASSWORD}
    )

    assert response["Location"] == f"/dashboard/?company={world.a.id}"
    assert Membership.objects.get(company=world.a, user=alice).role == Role.MANAGER
    # used once: the link now says so
    assert client.get(local(invited["accept_url"])).status_code == 404


def test_the_invitation_sign_in_shares_the_login_limit(client, world, settings, alice, invite):
    invited = invite(email=alice.email)
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        client.post(
            local(invited["accept_url"]), {"action": "signin", "signin-email": alice.email, "signin-password": "x"}
        )
    refused = client.post(
        local(invited["accept_url"]), {"action": "signin", "signin-email": alice.email, "signin-password": PASSWORD}
    )
    assert refused.status_code == 429
    assert "Retry-After" in refused
    assert client.post("/login/", {"email": alice.email, "password": PASSWORD}).status_code == 429  # one limit


def test_a_signed_in_user_accepts_with_one_button(client, world, settings, alice, invite):
    invited = invite(email=alice.email, role=Role.MEMBER)
    client.force_login(alice)
    page = client.get(local(invited["accept_url"]))
    assert b'data-testid="invitation-accept"' in page.content
    response = client.post(local(invited["accept_url"]), {"action": "accept"})
    assert response["Location"] == f"/dashboard/?company={world.a.id}"
    assert Membership.objects.get(company=world.a, user=alice).role == Role.MEMBER


def test_the_pages_need_the_csrf_token(world, settings, alice, invite):
    invited = invite(email=alice.email)
    client = Client(enforce_csrf_checks=True)
    body = {"action": "signin", "signin-email": alice.email, "signin-password": PASSWORD}
    assert client.post(local(invited["accept_url"]), body).status_code == 403
    assert client.post("/reset-password", {"token": "t", "password": "p", "password_again": "p"}).status_code == 403


def test_registering_on_the_invitation_page_counts_against_the_apis_per_ip_register_limit(
    client, world, invite, settings
):
    # given the address has used up its registrations at the API (the limit bounds probing
    # which emails are taken: docs/security.md)
    settings.THROTTLE_RATES = {**settings.THROTTLE_RATES, "register": (2, 3600)}
    api = Client()
    for i in range(2):
        api.post(
            "/api/v1/auth/register",
            {"email": f"probe{i}@example.com", "password": NEW_PASSWORD, "name": "P"},
            content_type="application/json",
        )
    invited = invite()
    body = {
        "action": "register",
        "register-name": "N",
        "register-email": "n@example.com",
        "register-password": NEW_PASSWORD,
    }

    response = client.post(local(invited["accept_url"]), body)

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert not User.objects.filter(email="n@example.com").exists()
