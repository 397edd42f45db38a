"""Settings fail loudly, naming the variable, on a bad value (ARCHITECTURE: 1)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings


def _import_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": "postgres://u@localhost/x", "REDIS_URL": "redis://localhost:1/0", **overrides}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


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
    result = _import_settings(**overrides)
    assert result.returncode != 0
    assert message in result.stderr


def test_good_configuration_imports():
    result = _import_settings()
    assert result.returncode == 0, result.stderr
