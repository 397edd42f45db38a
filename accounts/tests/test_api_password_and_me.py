"""Password flows, /me and /me/settings, and login throttling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from accounts.models import DeviceSession, PasswordResetToken
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import hash_token
from tests.support.api import assert_error, bearer

pytestmark = pytest.mark.django_db(transaction=True)
NEW_PASSWORD = "a-brand-new-passphrase-42"


def _reset_token_from_mail() -> str:
    assert len(mail.outbox) == 1
    match = re.search(r"token=([\w-]+)", str(mail.outbox[0].body))
    assert match, mail.outbox[0].body
    return match.group(1)


# --------------------------------------------------------------------------- forgot / reset


@pytest.mark.usefixtures("celery_eager")
def test_forgot_sends_a_single_use_reset_link(api, user, login):
    session = login(user)
    assert api.post("/api/v1/auth/password/forgot", {"email": "ALICE@example.com"}).status_code == 204
    token = _reset_token_from_mail()
    assert mail.outbox[0].to == ["alice@example.com"]
    # hashed at rest
    assert PasswordResetToken.objects.filter(token_hash=hash_token(token)).exists()
    assert not PasswordResetToken.objects.filter(token_hash=token).exists()

    assert api.post("/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}).status_code == 204
    # all sessions revoked, new password works, old does not
    assert bearer(session["access"]).get("/api/v1/me").status_code == 401
    assert api.post("/api/v1/auth/login", {"email": user.email, "password": NEW_PASSWORD}).status_code == 200
    assert api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}).status_code == 401
    # single use
    response = api.post("/api/v1/auth/password/reset", {"token": token, "password": "another-passphrase-43"})
    assert_error(response, 400, attr="token")
    # and the device's refresh token died with its session
    assert api.post("/api/v1/auth/refresh", {"refresh": session["refresh"]}).status_code == 401


@pytest.mark.usefixtures("celery_eager")
def test_a_new_password_voids_every_other_reset_link(api, user, authed):
    api.post("/api/v1/auth/password/forgot", {"email": user.email})
    api.post("/api/v1/auth/password/forgot", {"email": user.email})
    older, newer = (re.search(r"token=([\w-]+)", m.body).group(1) for m in mail.outbox)
    assert api.post("/api/v1/auth/password/reset", {"token": newer, "password": NEW_PASSWORD}).status_code == 204
    assert_error(
        api.post("/api/v1/auth/password/reset", {"token": older, "password": "sneaky-passphrase-99"}), 400, attr="token"
    )

    # a password change voids outstanding links too
    mail.outbox.clear()
    api.post("/api/v1/auth/password/forgot", {"email": user.email})
    pending = _reset_token_from_mail()
    fresh = api.post("/api/v1/auth/login", {"email": user.email, "password": NEW_PASSWORD}).json()
    authed.credentials(HTTP_AUTHORIZATION=f"Bearer {fresh['access']}")
    assert (
        authed.post(
            "/api/v1/auth/password/change", {"current_password": NEW_PASSWORD, "new_password": "third-passphrase-77"}
        ).status_code
        == 204
    )
    assert_error(
        api.post("/api/v1/auth/password/reset", {"token": pending, "password": "sneaky-passphrase-99"}),
        400,
        attr="token",
    )


@pytest.mark.usefixtures("celery_eager")
def test_forgot_for_unknown_email_is_204_and_sends_nothing(api, user):
    response = api.post("/api/v1/auth/password/forgot", {"email": "nobody@example.com"})
    assert response.status_code == 204
    assert response.content == b""
    assert mail.outbox == []
    assert not PasswordResetToken.objects.exists()


def test_forgot_bad_email_is_400(api):
    assert_error(api.post("/api/v1/auth/password/forgot", {"email": "nope"}), 400, attr="email")


@pytest.mark.usefixtures("celery_eager")
def test_reset_token_expires_after_an_hour(api, user):
    api.post("/api/v1/auth/password/forgot", {"email": user.email})
    token = _reset_token_from_mail()
    row = PasswordResetToken.objects.get()
    assert abs((row.expires_at - (timezone.now() + timedelta(hours=1))).total_seconds()) < 60
    PasswordResetToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.post("/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}), 400, attr="token")


@pytest.mark.usefixtures("celery_eager")
def test_reset_refuses_a_weak_password_and_keeps_the_token(api, user):
    api.post("/api/v1/auth/password/forgot", {"email": user.email})
    token = _reset_token_from_mail()
    assert_error(api.post("/api/v1/auth/password/reset", {"token": token, "password": "short"}), 400, attr="password")
    assert api.post("/api/v1/auth/password/reset", {"token": token, "password": NEW_PASSWORD}).status_code == 204


def test_reset_with_unknown_token_is_400(api):
    assert_error(
        api.post("/api/v1/auth/password/reset", {"token": "x" * 43, "password": NEW_PASSWORD}), 400, attr="token"
    )


# --------------------------------------------------------------------------- change


def test_change_password_keeps_this_device_and_signs_out_the_others(authed, user, login):
    phone = login(user, device_name="phone")
    response = authed.post("/api/v1/auth/password/change", {"current_password": PASSWORD, "new_password": NEW_PASSWORD})
    assert response.status_code == 204, response.content
    assert authed.get("/api/v1/me").status_code == 200
    assert bearer(phone["access"]).get("/api/v1/me").status_code == 401
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_change_password_with_wrong_current_is_400(authed, user):
    response = authed.post(
        "/api/v1/auth/password/change", {"current_password": "wrong-one-entirely", "new_password": NEW_PASSWORD}
    )
    assert_error(response, 400, attr="current_password")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_change_password_to_a_weak_one_is_400(authed):
    response = authed.post("/api/v1/auth/password/change", {"current_password": PASSWORD, "new_password": "abc"})
    assert_error(response, 400, attr="new_password")


# --------------------------------------------------------------------------- me


def test_me_shows_the_profile_with_default_settings(authed, user):
    body = authed.get("/api/v1/me").json()
    assert body == {
        "id": str(user.id),
        "email": user.email,
        "name": "Alice",
        "timezone": "UTC",
        "settings": {
            "week_start": "monday",
            "time_format": "24h",
            "date_format": "YYYY-MM-DD",
            "duration_format": "hh:mm",
        },
        "default_company_id": None,
    }


def test_patch_me_changes_name_and_timezone_only(authed, user):
    response = authed.patch("/api/v1/me", {"name": "Alice B", "timezone": "Europe/Berlin"})
    assert response.status_code == 200
    assert response.json()["name"] == "Alice B"
    assert response.json()["timezone"] == "Europe/Berlin"
    user.refresh_from_db()
    assert (user.name, user.timezone, user.email) == ("Alice B", "Europe/Berlin", "alice@example.com")


def test_patch_me_refuses_a_read_only_field_instead_of_ignoring_it(authed, user):
    # #15 item 16: `email` was silently dropped (a 200 that changed nothing the client asked).
    assert_error(authed.patch("/api/v1/me", {"name": "Alice B", "email": "x@evil.co"}), 400, attr="email")
    user.refresh_from_db()
    assert (user.name, user.email) == ("Alice", "alice@example.com")


@pytest.mark.parametrize("tz", ["Mars/Olympus", "utc+2", "", "Europe/Berlin\x00"])
def test_patch_me_rejects_a_non_iana_timezone(authed, user, tz):
    assert_error(authed.patch("/api/v1/me", {"timezone": tz}), 400, attr="timezone")
    user.refresh_from_db()
    assert user.timezone == "UTC"


def test_settings_merge_keeps_other_keys(authed, user):
    assert authed.patch("/api/v1/me/settings", {"week_start": "sunday"}).status_code == 200
    response = authed.patch("/api/v1/me/settings", {"time_format": "12h"})
    assert response.status_code == 200
    assert response.json()["settings"]["week_start"] == "sunday"
    assert response.json()["settings"]["time_format"] == "12h"
    user.refresh_from_db()
    assert user.settings == {"week_start": "sunday", "time_format": "12h"}


@pytest.mark.parametrize(
    ("payload", "attr"),
    [({"week_start": "someday"}, "week_start"), ({"colour": "blue"}, "colour"), ({}, None)],
)
def test_settings_rejects_unknown_or_bad_values(authed, user, payload, attr):
    assert_error(authed.patch("/api/v1/me/settings", payload), 400, attr=attr)
    user.refresh_from_db()
    assert user.settings == {}


# --------------------------------------------------------------------------- throttling


def _fail(api, email, ip="10.0.0.1"):
    return api.post("/api/v1/auth/login", {"email": email, "password": "wrong-password-123"}, REMOTE_ADDR=ip)


def test_five_failures_per_email_then_429_with_retry_after(api, user):
    for i in range(5):
        assert _fail(api, user.email, ip=f"10.0.0.{i + 1}").status_code == 401
    response = _fail(api, user.email, ip="10.0.0.99")
    body = assert_error(response, 429)
    assert body["errors"][0]["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    # even the right password waits out the window
    ok = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.98")
    assert ok.status_code == 429


def test_five_failures_per_ip_then_429_for_any_email(api, user):
    for i in range(5):
        assert _fail(api, f"someone{i}@example.com", ip="10.9.9.9").status_code == 401
    assert _fail(api, user.email, ip="10.9.9.9").status_code == 429
    # another IP and email are unaffected
    ok = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR="10.1.1.1")
    assert ok.status_code == 200


def test_success_clears_the_email_counter(api, user):
    for _ in range(4):
        _fail(api, user.email, ip="10.0.0.5")
    assert (
        api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR="10.0.0.6").status_code
        == 200
    )
    for _ in range(4):
        assert _fail(api, user.email, ip="10.0.0.7").status_code == 401


def test_a_burst_of_parallel_guesses_cannot_pass_the_limit(user):
    """Twenty wrong passwords for one account at the same instant: the attempt is counted
    before the slow password check, so exactly five are checked (401) and fifteen get 429."""
    import threading

    from django.db import connections
    from rest_framework.test import APIClient

    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def guess(i):
        client = APIClient()
        barrier.wait()
        try:
            response = client.post(
                "/api/v1/auth/login",
                {"email": user.email, "password": f"guess-{i}-wrong-pw"},
                REMOTE_ADDR=f"10.3.0.{i}",
            )
            statuses.append(response.status_code)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [401] * 5 + [429] * 15
    assert DeviceSession.objects.count() == 0


def test_a_look_alike_email_neither_signs_in_nor_escapes_the_lock(api, user):
    """PostgreSQL folds 'ı' to 'I' in case-insensitive matches; our exact match does not."""
    for _ in range(5):
        _fail(api, user.email, ip="10.4.0.1")
    assert _fail(api, user.email, ip="10.4.0.2").status_code == 429
    look_alike = api.post(
        "/api/v1/auth/login", {"email": "alıce@example.com", "password": PASSWORD}, REMOTE_ADDR="10.4.0.3"
    )
    assert look_alike.status_code == 401
    assert DeviceSession.objects.count() == 0


def test_email_case_and_spaces_share_one_counter(api, user):
    for variant in [
        "alice@example.com",
        "ALICE@example.com",
        " Alice@Example.com",
        "alice@EXAMPLE.COM",
        "aLiCe@example.com",
    ]:
        assert _fail(api, variant, ip=f"10.5.0.{len(variant)}").status_code == 401
    assert _fail(api, "Alice@example.com", ip="10.5.1.1").status_code == 429


# --------------------------------------------------------------------------- default company (#15 item 17)


def test_default_company_is_set_checked_and_cleared_through_me(authed, user):
    from organizations.services import company_create

    mine = company_create(owner=user, name="Mine")
    theirs = company_create(owner=UserFactory(), name="Theirs")
    response = authed.patch("/api/v1/me", {"default_company_id": str(mine.id)}, format="json")
    assert response.status_code == 200
    assert response.json()["default_company_id"] == str(mine.id)
    assert authed.get("/api/v1/me").json()["default_company_id"] == str(mine.id)
    # a company they are not a member of is 404 (as every company not theirs), a malformed id 400
    assert_error(authed.patch("/api/v1/me", {"default_company_id": str(theirs.id)}, format="json"), 404)
    assert_error(
        authed.patch("/api/v1/me", {"default_company_id": "nope"}, format="json"), 400, attr="default_company_id"
    )
    user.refresh_from_db()
    assert user.default_company_id == mine.id
    assert authed.patch("/api/v1/me", {"default_company_id": None}, format="json").json()["default_company_id"] is None
