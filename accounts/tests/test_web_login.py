"""The dashboard's sign-in and sign-out (SPEC: Web dashboard): the Django session, CSRF on
every form, the API's login-failure limit, safe cookies and headers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from accounts.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice():
    return UserFactory(email="alice@example.com", name="Alice")


def sign_in(client: Client, email: str, password: str, **extra):
    return client.post("/login/", {"email": email, "password": password, **extra})


def test_root_sends_a_visitor_to_sign_in_and_a_member_to_the_dashboard(client, alice):
    assert client.get("/")["Location"] == "/login/"
    client.force_login(alice)
    assert client.get("/")["Location"] == "/dashboard/"


def test_the_dashboard_asks_a_visitor_to_sign_in_first(client):
    response = client.get("/dashboard/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/dashboard/"
    assert client.get("/dashboard/panels/now/")["Location"].startswith("/login/")


def test_signing_in_starts_a_session_with_safe_cookies_and_goes_to_the_dashboard(client, alice):
    page = client.get("/login/")
    assert page.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in page.content

    response = sign_in(client, "ALICE@example.com", PASSWORD)  # emails are case-insensitive

    assert response.status_code == 302
    assert response["Location"] == "/dashboard/"
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert client.get("/dashboard/").status_code == 200


def test_a_wrong_password_shows_an_error_and_signs_nobody_in(client, alice):
    response = sign_in(client, alice.email, "not-the-password")
    assert response.status_code == 400
    assert b"Email or password is wrong." in response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get("/dashboard/").status_code == 302


def test_sign_in_without_the_csrf_token_is_refused(alice):
    client = Client(enforce_csrf_checks=True)
    response = sign_in(client, alice.email, PASSWORD)
    assert response.status_code == 403
    assert client.get("/dashboard/").status_code == 302


def test_failures_on_the_form_and_the_api_share_one_limit(client, api, alice):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert sign_in(client, alice.email, "wrong").status_code == 400

    refused = sign_in(client, alice.email, PASSWORD)  # even the right password, for now
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert b"Too many failed sign-in attempts" in refused.content
    # The API counts the same failures for the same email.
    api_refused = api.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD})
    assert api_refused.status_code == 429


def test_behind_a_proxy_failures_count_against_the_client_not_the_proxy(client, alice, settings):
    settings.NUM_PROXIES = 1

    def from_(address: str, email: str, password: str):
        return Client().post("/login/", {"email": email, "password": password}, HTTP_X_FORWARDED_FOR=address)

    for n in range(settings.LOGIN_FAILURE_LIMIT):  # someone guessing, from one address
        assert from_("203.0.113.7", f"guess{n}@example.com", "wrong").status_code == 400
    assert from_("203.0.113.7", alice.email, PASSWORD).status_code == 429
    # Everyone else behind the same proxy still signs in.
    assert from_("198.51.100.4", alice.email, PASSWORD).status_code == 302


def test_next_is_followed_on_this_site_only(client, alice):
    assert sign_in(client, alice.email, PASSWORD, next="/admin/")["Location"] == "/admin/"
    client.logout()
    assert sign_in(client, alice.email, PASSWORD, next="https://evil.example/")["Location"] == "/dashboard/"


def test_sign_out_is_a_post_with_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/logout/").status_code == 405  # a link or an image cannot sign anyone out
    assert client.post("/logout/").status_code == 403  # nor a foreign form
    assert client.get("/dashboard/").status_code == 200

    token = client.get("/dashboard/").context["csrf_token"]
    response = client.post("/logout/", {"csrfmiddlewaretoken": str(token)})
    assert response["Location"] == "/login/"
    assert client.get("/dashboard/").status_code == 302


def test_pages_carry_a_strict_csp_and_refuse_framing(client, alice):
    for path in ["/login/", "/dashboard/"]:
        if path == "/dashboard/":
            client.force_login(alice)
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", policy
        assert directives["style-src"] == "'self'", policy
        assert directives["frame-ancestors"] == "'none'", policy
        assert directives["object-src"] == "'none'", policy
        assert "unsafe" not in policy
        assert response["X-Frame-Options"] == "DENY"
        assert b"<script>" not in response.content
        assert b" style=" not in response.content


def test_only_the_api_docs_relax_the_policy_and_the_admin_keeps_it(client):
    assert "'unsafe-inline'" in client.get("/docs")["Content-Security-Policy"]
    assert "'unsafe-inline'" in client.get("/redoc")["Content-Security-Policy"]
    admin = client.get("/admin/login/")
    assert admin.status_code == 200
    assert "unsafe" not in admin["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in client.get("/docs")["Content-Security-Policy"]
