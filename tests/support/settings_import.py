"""Importing the settings in a fresh process, under a given environment."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings as django_settings


def import_settings(**overrides: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": "postgres://u@localhost/x", "REDIS_URL": "redis://localhost:1/0", **overrides}
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        cwd=django_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
