"""Fixtures shared by every app's tests: a clean slice of Redis per test, API clients, and
the world of three (owner, member, outsider in another company)."""

from __future__ import annotations

import subprocess
import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from common.redis import get_client
from config import embedded
from organizations.tests.world import expired, world  # noqa: F401  (fixtures for every app)


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


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the database this test session uses (the test database), so a
    child process (a Celery worker, runstack) sees what the test wrote."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")  # a unix-socket dir is percent-encoded
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A real `celery -A config worker` on the real broker, reading the test database. Its
    queue is private to this test so nothing else's tasks reach it."""
    import os
    import subprocess
    import sys
    import time
    import uuid

    from config.celery import app

    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(tmp_path),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            "--pool",
            "solo",
            "-n",
            f"{queue}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while not app.control.ping(destination=[f"{queue}@{os.uname().nodename}"], timeout=0.5):
        assert proc.poll() is None, proc.stdout.read().decode()[-3000:]
        assert time.monotonic() < deadline, "the celery worker did not come up"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    yield proc
    app.conf.task_default_queue = previous
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded PostgreSQL/Redis if this test run started them (a running `make run`
    keeps its own)."""
    from config import embedded

    stopped = embedded.stop_started_here(settings.DATA_DIR)
    if stopped:
        session.config.get_terminal_writer().line(f"stopped embedded {', '.join(stopped)}")


@pytest.fixture
def throwaway_redis(tmp_path):
    """A redis-server of our own on a unix socket, so killing it harms nothing else."""
    sock = tmp_path / "r.sock"
    proc = subprocess.Popen(
        [
            str(embedded.redis_server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not sock.exists():
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    yield proc, sock
    proc.kill()
    proc.wait()
