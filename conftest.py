"""Fixtures shared by every app's tests: a clean slice of Redis per test, API clients, and
the world of three (owner, member, outsider in another company)."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from common.redis import get_client


@pytest.fixture(autouse=True)
def _clean_redis():
    """Tests share the real Redis; each starts with none of our keys (throttles, caches)."""
    client = get_client()
    keys = list(client.scan_iter(f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def celery_eager(settings):
    """Run .delay() inline, for unit tests of what a task does (a real worker is used in
    integration tests)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False
