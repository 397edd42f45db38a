from __future__ import annotations

import pytest

from accounts.tests.factories import PASSWORD, UserFactory


@pytest.fixture
def user(transactional_db):
    return UserFactory(email="alice@example.com", name="Alice")


@pytest.fixture
def login(api):
    """Sign ``user`` in through the API; returns the login response body."""

    def _login(user, *, device_name="laptop", stay_logged_in=False, client=None):
        client = client or api
        response = client.post(
            "/api/v1/auth/login",
            {"email": user.email, "password": PASSWORD, "device_name": device_name, "stay_logged_in": stay_logged_in},
        )
        assert response.status_code == 200, response.content
        return response.json()

    return _login


@pytest.fixture
def authed(api, user, login):
    """An API client signed in as ``user``, with the tokens on ``authed.tokens``."""
    tokens = login(user)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    api.tokens = tokens
    return api
