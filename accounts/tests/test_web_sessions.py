"""A browser signed in with the Django session (the dashboard's /login/, the admin) is a device
session (issue #15 item 4): listed with the user's devices, ended by sign-out and by every
revocation, and required for the Django session to stay signed in."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import DeviceSession
from accounts.tests.factories import PASSWORD
from accounts.tokens import WEB_SESSION_KEY
from tests.support.api import bearer

pytestmark = pytest.mark.django_db(transaction=True)


def _dashboard(user) -> Client:
    client = Client(HTTP_USER_AGENT="Firefox/140")
    assert client.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
    return client


def _sessions(authed) -> list[dict]:
    body = authed.get("/api/v1/auth/sessions").json()
    return body["results"] if isinstance(body, dict) else body


def test_a_dashboard_sign_in_is_one_of_the_users_devices_until_it_signs_out(authed, user):
    dashboard = _dashboard(user)
    [browser] = [s for s in _sessions(authed) if not s["current"]]
    assert browser["device_name"] == "Web browser"
    assert browser["user_agent"] == "Firefox/140"
    assert dashboard.post("/logout/").status_code == 302
    assert [s for s in _sessions(authed) if not s["current"]] == []
    assert DeviceSession.objects.get(id=browser["id"]).revoked_reason == "logout"


def test_logout_all_signs_the_dashboard_out(authed, user):
    dashboard = _dashboard(user)
    assert dashboard.get("/dashboard/").status_code == 200
    assert authed.post("/api/v1/auth/logout-all").status_code == 204
    response = dashboard.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    # and the API no longer takes its cookie either
    assert dashboard.get("/api/v1/me").status_code in (401, 403)


def test_the_api_logout_from_the_dashboard_signs_out_that_browser_only(authed, user):
    dashboard = _dashboard(user)
    assert dashboard.post("/api/v1/auth/logout").status_code == 204
    assert dashboard.get("/dashboard/").status_code == 302
    assert authed.get("/api/v1/me").status_code == 200


def test_a_password_change_on_the_dashboard_signs_out_the_other_devices(user):
    """Called with the dashboard's session, the API's password change keeps the browser's
    device session (the calling device) and signs the user's other devices out."""
    from rest_framework.test import APIClient

    other = APIClient()
    tokens = other.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}).json()
    dashboard = _dashboard(user)
    changed = dashboard.post(
        "/api/v1/auth/password/change",
        {"current_password": PASSWORD, "new_password": "a-brand-new-passphrase-42"},
        content_type="application/json",
    )
    assert changed.status_code == 204
    browser = DeviceSession.objects.get(id=dashboard.session[WEB_SESSION_KEY])
    assert browser.revoked_at is None
    assert bearer(tokens["access"]).get("/api/v1/me").status_code == 401


def test_a_django_session_django_itself_ends_takes_its_device_session_along(user):
    """A deactivated user's Django session is refused by Django itself: the browser must not
    stay listed as a live device."""
    dashboard = _dashboard(user)
    browser = DeviceSession.objects.get(id=dashboard.session[WEB_SESSION_KEY])
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert dashboard.get("/dashboard/").status_code == 302
    browser.refresh_from_db()
    assert browser.revoked_reason == "signed_out"


def test_signing_in_again_replaces_the_browsers_device_session(user):
    dashboard = _dashboard(user)
    first = dashboard.session[WEB_SESSION_KEY]
    assert dashboard.post("/login/", {"email": user.email, "password": PASSWORD}).status_code == 302
    assert dashboard.session[WEB_SESSION_KEY] != first
    assert DeviceSession.objects.filter(user=user, revoked_at__isnull=True).count() == 1


def test_a_django_session_without_a_device_session_is_signed_out(user):
    """Signed in before browsers had device sessions: it must sign in once more, rather than
    stay out of reach of logout-all and password changes."""
    dashboard = _dashboard(user)
    session = dashboard.session
    del session[WEB_SESSION_KEY]
    session.save()
    assert dashboard.get("/dashboard/").status_code == 302


def test_with_redis_down_a_browser_session_is_refused_with_503_not_served(user, settings):
    """Its liveness lives in Redis, as a token's does: unknown, the request is refused."""
    dashboard = _dashboard(user)
    settings.CACHES = {
        **settings.CACHES,
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:1/0"},
    }
    response = dashboard.get("/dashboard/")
    assert response.status_code == 503
    assert response.json()["errors"][0]["code"] == "service_unavailable"


def test_the_admin_sign_in_and_sign_out_open_and_revoke_a_device_session(user):
    from organizations.services import company_create

    company_create(owner=user, name="Alice's company")
    admin = Client()
    response = admin.post("/admin/login/", {"username": user.email, "password": PASSWORD, "next": "/admin/"})
    assert response.status_code == 302
    [browser] = DeviceSession.objects.filter(user=user, revoked_at__isnull=True)
    assert admin.post("/admin/logout/").status_code == 200
    browser.refresh_from_db()
    assert browser.revoked_reason == "logout"
