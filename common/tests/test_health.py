"""Health endpoints against real dependencies: a real redis-server is started, then killed."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_live_is_200(api):
    response = api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_everything_answers(api):
    response = api.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}


def test_ready_is_503_naming_redis_and_broker_when_redis_dies(api, settings, throwaway_redis):
    proc, sock = throwaway_redis
    settings.REDIS_URL = f"unix://{sock}?db=0"
    settings.CELERY_BROKER_URL = f"redis+socket://{sock}"
    assert api.get("/health/ready").status_code == 200

    proc.kill()
    proc.wait()
    response = api.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "server_error"
    assert {e["attr"] for e in body["errors"]} == {"redis", "broker"}
    assert body["checks"] == {"database": "ok", "redis": "down", "broker": "down"}


@pytest.mark.django_db(transaction=True)
def test_api_answers_503_not_500_while_redis_is_down(settings, throwaway_redis):
    from rest_framework.test import APIClient

    from accounts.tests.factories import PASSWORD, UserFactory

    # 5xx are reported through got_request_exception (for Sentry); look at the response.
    api = APIClient(raise_request_exception=False)

    proc, sock = throwaway_redis
    user = UserFactory()
    settings.REDIS_URL = f"unix://{sock}?db=0"
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": settings.REDIS_URL}}
    login = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD})
    assert login.status_code == 200
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login.json()['access']}")

    proc.kill()
    proc.wait()

    for response in (api.get("/api/v1/me"), api.post("/api/v1/auth/login", {"email": user.email, "password": "x"})):
        assert response.status_code == 503, response.content
        assert response.json() == {
            "type": "server_error",
            "errors": [
                {"code": "service_unavailable", "detail": "A service this request needs is unavailable.", "attr": None}
            ],
        }
    # logout cannot record the revocation: it fails whole, and the session is still live in the database
    assert api.post("/api/v1/auth/logout").status_code == 503
    from accounts.models import DeviceSession

    assert DeviceSession.objects.get(id=login.json()["session_id"]).revoked_at is None
