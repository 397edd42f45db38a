"""Browser apps keep the refresh token in an HttpOnly cookie (issue 22): login with
``cookie: true``, refresh from the cookie behind a header a cross-site form cannot send, rotation
and reuse revocation as in the JSON form, and logout clears it."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import DeviceSession
from accounts.tests.factories import PASSWORD
from tests.support.api import assert_error, bearer

pytestmark = pytest.mark.django_db(transaction=True)

GUARD = {"HTTP_X_STINT_REFRESH": "cookie"}


def _cookie_login(client: APIClient, user) -> dict:
    response = client.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD, "cookie": True})
    assert response.status_code == 200, response.content
    return {"body": response.json(), "cookie": response.cookies["stint_refresh"]}


def test_login_with_cookie_sets_a_locked_down_cookie_and_returns_no_refresh_token(api, user):
    signed_in = _cookie_login(api, user)
    cookie = signed_in["cookie"]

    assert signed_in["body"]["refresh"] is None
    assert bearer(signed_in["body"]["access"]).get("/api/v1/me").status_code == 200
    assert cookie["httponly"] is True
    assert cookie["secure"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth/"
    assert 23 * 3600 < int(cookie["max-age"]) <= 24 * 3600  # the session's lifetime (not stay_logged_in)


def test_refresh_from_the_cookie_rotates_it(api, user):
    first = _cookie_login(api, user)["cookie"].value

    response = api.post("/api/v1/auth/refresh", {}, **GUARD)

    assert response.status_code == 200, response.content
    assert response.json()["refresh"] is None
    rotated = response.cookies["stint_refresh"].value
    assert rotated != first
    assert bearer(response.json()["access"]).get("/api/v1/me").status_code == 200
    assert api.post("/api/v1/auth/refresh", {}, **GUARD).status_code == 200  # the client sends the new one


def test_a_cookie_refresh_without_the_header_is_refused_and_rotates_nothing(api, user):
    _cookie_login(api, user)

    assert_error(api.post("/api/v1/auth/refresh", {}), 403, code="csrf_header_missing")
    assert_error(api.post("/api/v1/auth/refresh", {}, HTTP_X_STINT_REFRESH="yes"), 403, code="csrf_header_missing")
    assert api.post("/api/v1/auth/refresh", {}, **GUARD).status_code == 200  # the cookie was still good


def test_replaying_a_rotated_cookie_revokes_every_session(api, user):
    old = _cookie_login(api, user)["cookie"].value
    assert api.post("/api/v1/auth/refresh", {}, **GUARD).status_code == 200

    thief = APIClient()
    thief.cookies["stint_refresh"] = old
    assert_error(thief.post("/api/v1/auth/refresh", {}, **GUARD), 401)

    assert not DeviceSession.objects.filter(user=user, revoked_at__isnull=True).exists()
    assert_error(api.post("/api/v1/auth/refresh", {}, **GUARD), 401)


def test_logout_clears_the_cookie(api, user):
    signed_in = _cookie_login(api, user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in['body']['access']}")

    response = api.post("/api/v1/auth/logout")

    assert response.status_code == 204
    assert response.cookies["stint_refresh"].value == ""
    assert int(response.cookies["stint_refresh"]["max-age"]) == 0


def test_the_json_form_is_unchanged_and_sets_no_cookie(api, user):
    response = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert response.json()["refresh"]
    assert "stint_refresh" not in response.cookies
    # with neither a body token nor a cookie: which field is missing
    assert_error(APIClient().post("/api/v1/auth/refresh", {}, **GUARD), 400, attr="refresh")
