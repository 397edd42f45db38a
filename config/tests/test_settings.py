"""Settings fail loudly, naming the variable, on a bad value (ARCHITECTURE: 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from tests.support.settings_import import import_settings


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"STINT_ENV": "prod"}, "STINT_ENV"),
        ({"ACCESS_TOKEN_MINUTES": "soon"}, "ACCESS_TOKEN_MINUTES"),
        ({"ACCESS_TOKEN_MINUTES": "0"}, "ACCESS_TOKEN_MINUTES"),
        ({"TIME_ZONE": "Mars/Base"}, "TIME_ZONE"),
        ({"REDIS_URL": "http://localhost"}, "REDIS_URL"),
        ({"DATABASE_URL": "mysql://u@localhost/x"}, "PostgreSQL"),
        ({"STINT_ENV": "production", "SECRET_KEY": ""}, "SECRET_KEY"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
    ],
)
def test_bad_configuration_stops_the_process_naming_the_variable(overrides, message):
    result = import_settings(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_good_configuration_imports():
    result = import_settings()
    assert result.returncode == 0, result.stderr


def _printed(expression: str, **overrides: str) -> str:
    env = {**os.environ, "DATABASE_URL": "postgres://u@localhost/x", "REDIS_URL": "redis://localhost:1/0", **overrides}
    result = subprocess.run(
        [sys.executable, "-c", f"from config import settings as s; print({expression})"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_desktop_and_mobile_webview_origins_are_accepted():
    """Capacitor (mobile) and Tauri (desktop) webviews send Origin capacitor://localhost and
    tauri://localhost; listing them must not stop the server at start."""
    origins = "capacitor://localhost,tauri://localhost,https://App.example.com:443"
    printed = _printed(
        "(s.CORS_ALLOWED_ORIGINS, s.REALTIME_ALLOWED_ORIGINS)",
        CORS_ALLOWED_ORIGINS=origins,
        REALTIME_ALLOWED_ORIGINS=origins,
    )
    expected = ["capacitor://localhost", "https://app.example.com", "tauri://localhost"]
    assert printed == repr((expected, expected))


@pytest.mark.parametrize("origin", ["ftp://files.example.com", "capacitor://", "tauri://localhost/index.html"])
def test_other_schemes_and_non_origins_still_stop_the_process(origin):
    result = import_settings(CORS_ALLOWED_ORIGINS=origin)
    assert result.returncode != 0
    assert "CORS_ALLOWED_ORIGINS" in result.stderr


def test_the_database_password_can_come_apart_from_the_url():
    """docker compose takes it from the environment (DATABASE_PASSWORD), so no password is
    committed in DATABASE_URL and characters such as @ or / need no URL escaping."""
    assert _printed("s.DATABASES['default']['PASSWORD']", DATABASE_PASSWORD="p@ss/w:rd") == "p@ss/w:rd"
    assert _printed("s.DATABASES['default']['PASSWORD']", DATABASE_URL="postgres://u:inurl@localhost/x") == "inurl"


def test_public_url_must_be_an_absolute_http_url():
    result = import_settings(PUBLIC_URL="stint.example.com")
    assert result.returncode != 0
    assert "PUBLIC_URL" in result.stderr
    assert _printed("s.PUBLIC_URL", PUBLIC_URL="https://stint.example.com/") == "https://stint.example.com"


def test_each_parallel_test_process_keeps_to_its_own_redis_keys_and_queue():
    """pytest-xdist's processes share one Redis database: each one's cache keys, channel layer
    and Celery queue carry its name, so one process's clean-up never deletes another's keys."""
    expression = "s.CACHE_KEY_PREFIX, s.CHANNEL_LAYERS['default']['CONFIG']['prefix'], s.CELERY_TASK_DEFAULT_QUEUE"
    worker = _printed(expression, STINT_ENV="test", PYTEST_XDIST_WORKER="gw3")
    assert worker == "stint-test-gw3 stint-test-gw3:asgi stint-test-gw3-default"
    assert _printed("s.CACHE_KEY_PREFIX", STINT_ENV="test", PYTEST_XDIST_WORKER="") == "stint-test"
    # outside the tests the variable means nothing
    assert _printed("s.CACHE_KEY_PREFIX", STINT_ENV="development", PYTEST_XDIST_WORKER="gw3") == "stint"
