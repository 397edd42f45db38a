"""Register, login, refresh, logout and sessions, through the whole HTTP stack."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import DeviceSession, RefreshToken, User
from accounts.tests.factories import PASSWORD, UserFactory
from accounts.tokens import hash_token
from organizations.models import Membership, Role
from tests.support.api import assert_error, bearer

# Real commits: revocation reaches the auth cache on commit, as in production.
pytestmark = pytest.mark.django_db(transaction=True)


# --------------------------------------------------------------------------- register


def test_register_creates_user_company_and_owner_membership(api):
    response = api.post(
        "/api/v1/auth/register",
        {"email": "New.Person@Example.com", "password": PASSWORD, "name": "New Person", "company_name": "Acme"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= {"user", "company", "access", "refresh"}
    assert body["user"]["email"] == "new.person@example.com"
    assert body["user"]["timezone"] == "UTC"
    assert body["user"]["settings"]["week_start"] == "monday"
    assert body["company"]["name"] == "Acme"
    membership = Membership.objects.get(user__email="new.person@example.com")
    assert membership.role == Role.OWNER
    assert str(membership.company_id) == body["company"]["id"]
    # the tokens work straight away
    assert bearer(body["access"]).get("/api/v1/me").json()["email"] == "new.person@example.com"
    # Argon2id at rest
    assert User.objects.get(email="new.person@example.com").password.startswith("argon2$argon2id$")


def test_register_without_company_name_names_it_after_the_user(api):
    response = api.post("/api/v1/auth/register", {"email": "a@b.co", "password": PASSWORD, "name": "Kim"})
    assert response.status_code == 201
    assert response.json()["company"]["name"] == "Kim's company"


def test_register_email_is_unique_case_insensitively(api, user):
    response = api.post("/api/v1/auth/register", {"email": "ALICE@example.com", "password": PASSWORD, "name": "A"})
    assert_error(response, 400, attr="email", code="unique")
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("payload", "attr"),
    [
        ({"email": "x@y.co", "password": "short", "name": "X"}, "password"),
        ({"email": "x@y.co", "password": "123456789012345", "name": "X"}, "password"),  # numeric only
        ({"email": "not-an-email", "password": PASSWORD, "name": "X"}, "email"),
        ({"email": "x@y.co", "password": PASSWORD}, "name"),
        ({"email": "x@y.co", "password": PASSWORD, "name": "x" * 151}, "name"),
        ({"email": "x@y.co", "password": "p" * 300, "name": "X"}, "password"),
    ],
)
def test_register_rejects_bad_input(api, payload, attr):
    assert_error(api.post("/api/v1/auth/register", payload), 400, attr=attr)
    assert not User.objects.exists()


def test_register_rejects_non_json_body_with_standard_shape(api):
    response = api.post("/api/v1/auth/register", "{not json", content_type="application/json")
    assert_error(response, 400)


# --------------------------------------------------------------------------- login


def test_login_returns_tokens_session_and_user(api, user):
    response = api.post(
        "/api/v1/auth/login",
        {"email": "Alice@Example.com", "password": PASSWORD, "device_name": "MacBook"},
        HTTP_USER_AGENT="StintDesktop/1.0",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh", "session_id", "user"}
    assert body["user"] == {
        "id": str(user.id),
        "email": "alice@example.com",
        "name": "Alice",
        "timezone": "UTC",
        "settings": body["user"]["settings"],
        "default_company_id": None,
    }
    session = DeviceSession.objects.get(id=body["session_id"])
    assert (session.device_name, session.user_agent, session.ip) == ("MacBook", "StintDesktop/1.0", "127.0.0.1")


@pytest.mark.parametrize(("stay", "days"), [(False, 1), (True, 90)])
def test_login_refresh_lifetime_depends_on_stay_logged_in(user, login, stay, days):
    body = login(user, stay_logged_in=stay)
    session = DeviceSession.objects.get(id=body["session_id"])
    expected = timezone.now() + timedelta(days=days)
    assert abs((session.expires_at - expected).total_seconds()) < 60


@pytest.mark.parametrize("email", ["alice@example.com", "nobody@example.com"])
def test_login_wrong_credentials_is_401(api, user, email):
    response = api.post("/api/v1/auth/login", {"email": email, "password": "wrong-password-123"})
    assert_error(response, 401)
    assert not DeviceSession.objects.exists()


def test_login_inactive_user_is_401(api, user):
    user.is_active = False
    user.save()
    assert_error(api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}), 401)


def test_login_bad_input_is_400(api):
    assert_error(api.post("/api/v1/auth/login", {"email": "alice@example.com"}), 400, attr="password")


# --------------------------------------------------------------------------- refresh


def test_refresh_rotates_and_keeps_the_session(api, user, login):
    first = login(user)
    response = api.post("/api/v1/auth/refresh", {"refresh": first["refresh"]})
    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert bearer(second["access"]).get("/api/v1/me").status_code == 200
    # and the new one rotates again
    assert api.post("/api/v1/auth/refresh", {"refresh": second["refresh"]}).status_code == 200


def test_refresh_tokens_are_stored_only_as_hashes(user, login):
    body = login(user)
    stored = RefreshToken.objects.get(session_id=body["session_id"])
    assert stored.token_hash == hash_token(body["refresh"])
    assert not RefreshToken.objects.filter(token_hash=body["refresh"]).exists()


def test_reusing_a_rotated_refresh_token_revokes_every_session(api, user, login):
    laptop = login(user, device_name="laptop")
    phone = login(user, device_name="phone")
    rotated = api.post("/api/v1/auth/refresh", {"refresh": laptop["refresh"]}).json()

    # the old laptop token is presented again: theft or replay
    assert_error(api.post("/api/v1/auth/refresh", {"refresh": laptop["refresh"]}), 401)

    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    for access in (laptop["access"], phone["access"], rotated["access"]):
        assert bearer(access).get("/api/v1/me").status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refresh": rotated["refresh"]}).status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refresh": phone["refresh"]}).status_code == 401


def test_refresh_with_unknown_token_is_401(api):
    assert_error(api.post("/api/v1/auth/refresh", {"refresh": "made-up"}), 401)


def test_refresh_after_absolute_expiry_is_401(api, user, login):
    body = login(user)
    DeviceSession.objects.filter(id=body["session_id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert_error(api.post("/api/v1/auth/refresh", {"refresh": body["refresh"]}), 401)


def test_refresh_never_extends_the_absolute_expiry(api, user, login):
    body = login(user)
    before = DeviceSession.objects.get(id=body["session_id"]).expires_at
    api.post("/api/v1/auth/refresh", {"refresh": body["refresh"]})
    assert DeviceSession.objects.get(id=body["session_id"]).expires_at == before


# --------------------------------------------------------------------------- logout, sessions


def test_logout_revokes_the_current_session_at_once(authed, user, login):
    other = login(user, device_name="phone")
    assert authed.post("/api/v1/auth/logout").status_code == 204
    assert authed.get("/api/v1/me").status_code == 401  # the same access token, not expired
    assert authed.post("/api/v1/auth/refresh", {"refresh": authed.tokens["refresh"]}).status_code == 401
    assert bearer(other["access"]).get("/api/v1/me").status_code == 200  # the phone stays in


def test_logout_all_revokes_every_session(authed, user, login):
    other = login(user, device_name="phone")
    assert authed.post("/api/v1/auth/logout-all").status_code == 204
    assert authed.get("/api/v1/me").status_code == 401
    assert bearer(other["access"]).get("/api/v1/me").status_code == 401


def test_sessions_lists_only_my_live_devices(authed, user, login):
    login(user, device_name="phone")
    outsider = UserFactory()
    login(outsider, device_name="theirs")
    revoked = login(user, device_name="old")
    DeviceSession.objects.filter(id=revoked["session_id"]).update(revoked_at=timezone.now())

    response = authed.get("/api/v1/auth/sessions")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"results", "next", "previous"}
    names = sorted(s["device_name"] for s in body["results"])
    assert names == ["laptop", "phone"]
    current = [s for s in body["results"] if s["current"]]
    assert [s["id"] for s in current] == [authed.tokens["session_id"]]


def test_revoke_one_session(authed, user, login):
    phone = login(user, device_name="phone")
    assert authed.delete(f"/api/v1/auth/sessions/{phone['session_id']}").status_code == 204
    assert bearer(phone["access"]).get("/api/v1/me").status_code == 401
    assert authed.get("/api/v1/me").status_code == 200


def test_revoking_another_users_session_is_404_and_changes_nothing(authed, login):
    outsider = login(UserFactory(), device_name="theirs")
    response = authed.delete(f"/api/v1/auth/sessions/{outsider['session_id']}")
    assert_error(response, 404)
    assert bearer(outsider["access"]).get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/auth/logout"),
        ("post", "/api/v1/auth/logout-all"),
        ("get", "/api/v1/auth/sessions"),
        ("delete", "/api/v1/auth/sessions/0190c9b4-7f1e-7000-8000-000000000000"),
        ("post", "/api/v1/auth/password/change"),
        ("get", "/api/v1/me"),
        ("patch", "/api/v1/me"),
        ("patch", "/api/v1/me/settings"),
    ],
)
@pytest.mark.parametrize("auth", [None, "Bearer not-a-jwt", "Basic Zm9vOmJhcg=="])
def test_protected_endpoints_need_a_valid_token(api, method, path, auth):
    if auth:
        api.credentials(HTTP_AUTHORIZATION=auth)
    assert_error(getattr(api, method)(path, {}), 401)


def test_expired_access_token_is_401(user, login, settings):
    from rest_framework_simplejwt.tokens import AccessToken

    body = login(user)
    token = AccessToken(body["access"])
    token.set_exp(lifetime=timedelta(seconds=-1))
    assert_error(bearer(str(token)).get("/api/v1/me"), 401)


# --------------------------------------------------------------------------- review findings


def test_a_revoked_sessions_token_gets_one_clear_error(authed):
    authed.post("/api/v1/auth/logout")
    body = assert_error(authed.get("/api/v1/me"), 401)
    assert body == {
        "type": "client_error",
        "errors": [{"code": "session_revoked", "detail": "This session has been signed out.", "attr": None}],
    }


def test_a_garbage_token_gets_one_clear_error(api):
    api.credentials(HTTP_AUTHORIZATION="Bearer abc.def.ghi")
    body = assert_error(api.get("/api/v1/me"), 401)
    assert len(body["errors"]) == 1
    assert body["errors"][0]["code"] == "token_not_valid"
    assert body["errors"][0]["attr"] is None


def test_a_token_naming_another_users_session_is_refused(user, login):
    """Even with the signing key, pairing a victim's user id with one's own session fails."""
    from rest_framework_simplejwt.tokens import AccessToken

    mine = login(UserFactory())
    forged = AccessToken.for_user(user)
    forged["sid"] = mine["session_id"]
    assert_error(bearer(str(forged)).get("/api/v1/me"), 401)


@pytest.mark.parametrize(
    ("method", "path"),
    [("post", "/api/v1/auth/logout-all"), ("post", "/api/v1/auth/logout"), ("delete", "/api/v1/auth/sessions/{sid}")],
)
def test_revocations_kill_refresh_tokens_too(api, authed, method, path):
    tokens = authed.tokens
    assert getattr(authed, method)(path.format(sid=tokens["session_id"])).status_code == 204
    assert_error(api.post("/api/v1/auth/refresh", {"refresh": tokens["refresh"]}), 401)


def test_login_refuses_form_encoded_bodies(api, user):
    response = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}, format="multipart")
    assert_error(response, 415)


def test_same_company_name_registered_concurrently_all_succeed():
    import threading

    from django.db import connections

    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def register(i):
        barrier.wait()
        try:
            statuses.append(
                APIClient()
                .post(
                    "/api/v1/auth/register",
                    {"email": f"p{i}@example.com", "password": PASSWORD, "name": f"P{i}", "company_name": "Studio"},
                )
                .status_code
            )
        finally:
            connections.close_all()

    threads = [threading.Thread(target=register, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [201] * 8
    from organizations.models import Company

    assert len(set(Company.objects.filter(name="Studio").values_list("slug", flat=True))) == 8
