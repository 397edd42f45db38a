"""The login-failure limit at the edge of its window (issue #15 item 1), and the one limit the
API, the dashboard's /login/ and the admin's login share (item 5)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from accounts import services
from accounts.tests.factories import PASSWORD
from common.redis import get_client, key

pytestmark = pytest.mark.django_db(transaction=True)

IP = "10.77.0.1"


def _api_login(api, email, password, ip=IP):
    return api.post("/api/v1/auth/login", {"email": email, "password": password}, REMOTE_ADDR=ip)


def _ip_key(ip: str = IP) -> str:
    return key("login-fail", "ip", ip)


def _wait_until_gone(name: str, *, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while get_client().exists(name):
        assert time.monotonic() < deadline, f"{name} never expired"
        time.sleep(0.02)


# --------------------------------------------------------------------------- item 1


def test_a_window_that_ends_during_the_password_check_does_not_lock_the_ip_forever(api, user, settings, monkeypatch):
    """The audit's lockout, reproduced deterministically: the IP's window expires while the
    (slow) password is being checked, then the success gives its slot back. The address must
    still be limited for one window only, and sign in again after it."""
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1
    real_authenticate = services.authenticate

    def authenticate_as_the_window_ends(**credentials):
        _wait_until_gone(_ip_key())  # the window ends mid-check, as it did under Argon2
        return real_authenticate(**credentials)

    monkeypatch.setattr(services, "authenticate", authenticate_as_the_window_ends)
    assert _api_login(api, user.email, PASSWORD).status_code == 200
    monkeypatch.undo()

    # Someone then guesses from that address (in a window long enough for slow hashing):
    # exactly LIMIT failures are let through, then a 429 whose Retry-After is the window's
    # remaining time, and the window does end.
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 30
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        assert _api_login(api, f"guess{n}@example.com", "wrong-password").status_code == 401
    refused = _api_login(api, user.email, PASSWORD)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 30
    assert 0 < get_client().ttl(_ip_key()) <= 30


def test_a_counter_left_without_expiry_gets_one_back_and_ends(api, user, settings):
    """A key the old DECR left behind (-1, no TTL) must not keep the address locked: the next
    attempt gives it a window, which then ends."""
    settings.LOGIN_FAILURE_WINDOW_SECONDS = 1
    redis = get_client()
    redis.set(_ip_key(), 7)  # locked, without expiry, as the audit found it
    refused = _api_login(api, user.email, PASSWORD)
    assert refused.status_code == 429
    assert 0 < redis.ttl(_ip_key()) <= 1
    _wait_until_gone(_ip_key())
    assert _api_login(api, user.email, PASSWORD).status_code == 200


def test_a_success_gives_back_only_its_own_slot(api, user):
    """Four failures, then the owner signs in from the same address: their success is not a
    failure, but the four guesses still count."""
    for n in range(settings.LOGIN_FAILURE_LIMIT - 1):
        assert _api_login(api, f"guess{n}@example.com", "wrong-password").status_code == 401
    assert _api_login(api, user.email, PASSWORD).status_code == 200
    assert _api_login(api, "guess-last@example.com", "wrong-password").status_code == 401
    assert _api_login(api, user.email, PASSWORD).status_code == 429
    assert 0 < get_client().ttl(_ip_key()) <= settings.LOGIN_FAILURE_WINDOW_SECONDS


def test_refused_attempts_are_not_failures_so_the_address_opens_when_its_failures_expire(api, user, settings):
    """SPEC: 5 failures a minute. Attempts refused with 429 checked no password: they must not
    count, or an office's sign-ins refused at a busy moment would keep its address locked."""
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        assert _api_login(api, f"guess{n}@example.com", "wrong-password").status_code == 401
    for _ in range(10):
        assert _api_login(api, user.email, PASSWORD).status_code == 429
    assert int(get_client().get(_ip_key())) == settings.LOGIN_FAILURE_LIMIT  # the failures only
    # One failure's slot freed (as a success in flight gives its own back): the owner gets in.
    get_client().decr(_ip_key())
    assert _api_login(api, user.email, PASSWORD).status_code == 200


def test_the_dashboard_form_counts_against_the_same_address(user):
    client = Client()
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        response = client.post("/login/", {"email": f"guess{n}@example.com", "password": "x"}, REMOTE_ADDR=IP)
        assert response.status_code == 400
    assert client.post("/login/", {"email": user.email, "password": PASSWORD}, REMOTE_ADDR=IP).status_code == 429


# --------------------------------------------------------------------------- item 5


@pytest.fixture
def owner(user):
    """Every registered user owns a company, so every account can sign in to the admin."""
    from organizations.services import company_create

    company_create(owner=user, name="Alice's company")
    return user


def _admin_login(client, email, password, ip=IP):
    return client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"}, REMOTE_ADDR=ip)


def test_the_admin_login_signs_an_owner_in(owner):
    client = Client()
    response = _admin_login(client, owner.email, PASSWORD)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_failures_at_the_api_lock_the_admin_login_too(api, owner):
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        assert _api_login(api, owner.email, "wrong-password", ip=f"10.78.0.{n}").status_code == 401
    client = Client()
    refused = _admin_login(client, owner.email, PASSWORD, ip="10.78.1.1")  # even the right password
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= settings.LOGIN_FAILURE_WINDOW_SECONDS
    assert b"Too many failed sign-in attempts" in refused.content
    assert client.get("/admin/").status_code == 302  # not signed in


def test_failures_at_the_admin_lock_the_api_and_the_admin(api, owner):
    client = Client()
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = _admin_login(client, owner.email, "wrong-password")
        assert response.status_code == 200  # the form again, with Django's error
        assert b"Please enter the correct" in response.content
    assert _admin_login(client, owner.email, PASSWORD, ip="10.78.2.1").status_code == 429
    assert _admin_login(client, "someone-else@example.com", "x").status_code == 429  # the address too
    api_refused = _api_login(api, owner.email, PASSWORD, ip="10.78.2.2")
    assert api_refused.status_code == 429
    assert api_refused.json()["errors"][0]["code"] == "throttled"
