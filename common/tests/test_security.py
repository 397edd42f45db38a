"""Security settings an operator relies on: Django's deploy checklist with production settings,
headers on every response, CORS for listed browser origins only, body-size limits answered with
413, and no credentials in any log line."""

from __future__ import annotations

import io
import json
import logging
import os
import secrets
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts.tests.factories import PASSWORD, UserFactory
from conftest import database_url_for_subprocess
from organizations.models import Company
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


def production_env(**extra) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if k != "DEBUG"},  # the production default: off
        "STINT_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "stint.example.com",
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": django_settings.REDIS_URL,
        **extra,
    }


def test_deploy_checklist_passes_with_production_settings():
    env = production_env()
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # and what it vouches for, as production settings have it
    code = (
        "import django; django.setup(); from django.conf import settings as s; import json; "
        "print(json.dumps([s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_PROXY_SSL_HEADER, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.DEBUG]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
        capture_output=True,
        text=True,
        timeout=90,
        check=True,
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        31536000,
        True,
        True,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        True,
        True,
        False,
    ]


@pytest.mark.parametrize("path", ["/health/live", "/api/v1/me", "/api/v1/does-not-exist"])
def test_every_response_carries_nosniff_referrer_policy_and_frame_deny(api, path):
    response = api.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


# --------------------------------------------------------------------------- CORS


def preflight(api, origin: str):
    return api.options(
        "/api/v1/me",
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, idempotency-key",
    )


def test_cors_preflight_from_a_listed_origin_is_allowed_with_credentials(api, settings):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = preflight(api, "https://app.example.com")
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert response["Access-Control-Allow-Credentials"] == "true"
    allowed = {h.strip() for h in response["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "idempotency-key"} <= allowed
    # and an actual request from it can read the request id
    actual = api.get("/health/live", HTTP_ORIGIN="https://app.example.com")
    assert "Access-Control-Allow-Origin" not in actual  # CORS covers /api/ only
    api_call = api.get("/api/v1/me", HTTP_ORIGIN="https://app.example.com")
    assert api_call["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "x-request-id" in api_call["Access-Control-Expose-Headers"].lower()


@pytest.mark.parametrize("origin", ["https://evil.example.net", "https://app.example.com.evil.net", "null"])
def test_cors_preflight_from_any_other_origin_gets_no_cors_headers(api, settings, origin):
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    response = preflight(api, origin)
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Allow-Credentials" not in response


def test_no_origin_is_allowed_by_default(api):
    assert django_settings.CORS_ALLOWED_ORIGINS == []
    assert "Access-Control-Allow-Origin" not in preflight(api, "http://localhost:3000")


def test_cors_origins_are_validated_at_start():
    env = production_env(CORS_ALLOWED_ORIGINS="app.example.com")
    out = subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert out.returncode != 0
    assert "CORS_ALLOWED_ORIGINS" in out.stderr


# --------------------------------------------------------------------------- body size


@pytest.mark.parametrize(
    ("path", "headers"),
    [
        ("/api/v1/sync/heartbeats", {}),
        ("/api/v1/sync/batch", {}),
        # read by the Idempotency-Key middleware before DRF: the same 413
        ("/api/v1/sync/heartbeats", {"HTTP_IDEMPOTENCY_KEY": "big-1"}),
    ],
)
def test_json_bodies_over_the_limit_are_413_not_500(world, settings, path, headers):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    body = json.dumps({"device_id": "d", "heartbeats": [], "items": [], "pad": "a" * 4096})
    response = world.api("member").post(path, body, content_type="application/json", **headers)
    error = assert_error(response, 413)
    assert error["errors"][0]["code"] == "payload_too_large"


def test_screenshot_uploads_keep_their_own_limit(world, settings, tmp_path):
    """DATA_UPLOAD_MAX_MEMORY_SIZE counts form fields, not files: an image larger than it is
    still taken (screenshots are refused above SCREENSHOT_MAX_BYTES, in their own test)."""
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(out, "PNG")  # noise: no compression
    image = out.getvalue()
    assert len(image) > 4 * 1024
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "shot-1"}):  # the key's middleware reads the body too
        body = {"file": SimpleUploadedFile("shot.png", image), "captured_at": timezone.now().isoformat()}
        response = world.api("member").post("/api/v1/screenshots", body, format="multipart", **headers)
        assert response.status_code == 201, response.content


def test_a_screenshot_at_its_size_limit_is_taken_with_or_without_a_key(world, settings, tmp_path):
    """The request is the file plus its multipart framing: the view and the idempotency layer
    allow the same request size, so a key never turns a 201 into a 413."""
    from PIL import Image

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)
    out = io.BytesIO()
    Image.frombytes("RGB", (64, 64), os.urandom(64 * 64 * 3)).save(out, "PNG")
    image = out.getvalue()
    settings.SCREENSHOT_MAX_BYTES = len(image)  # the file exactly at the limit
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "shot-at-limit"}):
        body = {"file": SimpleUploadedFile("shot.png", image), "captured_at": timezone.now().isoformat()}
        response = world.api("member").post("/api/v1/screenshots", body, format="multipart", **headers)
        assert response.status_code == 201, response.content


# --------------------------------------------------------------------------- logs


@pytest.fixture
def all_logs():
    """Everything every logger writes through the configured JSON formatter, at DEBUG."""
    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root.handlers[0].formatter)
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream.getvalue
    root.removeHandler(handler)
    root.setLevel(previous)


@pytest.mark.django_db(transaction=True)
def test_no_password_or_token_reaches_any_log_line(api, all_logs):
    user = UserFactory()
    wrong = "Wrong-Guess-" + secrets.token_hex(8)
    new_password = "Brand-New-" + secrets.token_hex(8)
    # a failed and a successful sign-in, each with the password in the body
    assert api.post("/api/v1/auth/login", {"email": user.email, "password": wrong}).status_code == 401
    login = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD, "device_name": "laptop"})
    assert login.status_code == 200, login.content
    access, refresh = login.json()["access"], login.json()["refresh"]
    # a refresh with the refresh token in the body, then calls with the bearer token
    refreshed = api.post("/api/v1/auth/refresh", {"refresh": refresh}).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed['access']}")
    assert api.get("/api/v1/me").status_code == 200
    change = {"current_password": PASSWORD, "new_password": new_password}
    assert api.post("/api/v1/auth/password/change", change).status_code == 204
    # a revoked token presented again (401), and a reused refresh token
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    api.get("/api/v1/me")
    api.credentials()
    api.post("/api/v1/auth/refresh", {"refresh": refresh})
    text = all_logs()
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert any(line.get("event") == "request" and line.get("path") == "/api/v1/auth/login" for line in lines), text
    for secret in (PASSWORD, wrong, new_password, access, refresh, refreshed["access"], refreshed["refresh"]):
        assert secret not in text
