"""`make run`'s engine end to end: `manage.py runstack` serves /health/ready and /docs over a
real socket with a worker and beat beside it, and one SIGINT stops all of them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families

from conftest import database_url_for_subprocess, free_port

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_runstack_serves_health_and_docs_and_stops_on_one_sigint(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port), "--no-seed"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.5)
        assert status == 200, body
        assert _get(f"http://127.0.0.1:{port}/docs")[0] == 200
        # /metrics sums every process: each request is a new connection, spread by the kernel
        # over the daphne processes, and one scrape (answered by one of them) counts them all.
        for _ in range(20):
            assert _get(f"http://127.0.0.1:{port}/health/live")[0] == 200
        status, body = _get(f"http://127.0.0.1:{port}/metrics")
        assert status == 200, body
        served = {
            tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body.decode())
            for sample in family.samples
            if sample.name == "django_http_responses_total_by_status_view_method_total"
        }
        assert served[(("method", "GET"), ("status", "200"), ("view", "health-live"))] == 20, served
        writers = {path.stem.rsplit("_", 1)[-1] for path in (tmp_path / "prometheus").glob("counter_*.db")}
        assert len(writers) >= 2, writers  # more than one process wrote counters
        children = psutil.Process(proc.pid).children()
        commands = [" ".join(c.cmdline()) for c in children]
        # One daphne per web process (WEB_CONCURRENCY, default 2), all on the one port.
        web_processes = int(env.get("WEB_CONCURRENCY", "2"))
        assert sum("daphne" in c for c in commands) == web_processes, commands
        assert any("worker" in c for c in commands), commands
        assert any("beat" in c for c in commands), commands
        # Webhook deliveries have a worker of their own, reading only their queue.
        assert any(f"-Q {settings.CELERY_WEBHOOK_QUEUE}" in c for c in commands), commands
        # Heartbeat merging and socket publishing have a worker of their own; the rest another.
        assert any(f"-Q {settings.CELERY_REALTIME_QUEUE}" in c for c in commands), commands
        rest = f"{settings.CELERY_MEDIA_QUEUE},{settings.CELERY_JOBS_QUEUE},{settings.CELERY_EMAIL_QUEUE}"
        assert any(f"-Q {rest},{settings.CELERY_TASK_DEFAULT_QUEUE}" in c for c in commands), commands
        # Background work yields the CPU to the web processes answering clients, and the rest
        # of it to the realtime worker too.
        nice = {" ".join(c.cmdline()): c.nice() for c in children}
        workers = {c: n for c, n in nice.items() if "celery" in c and " worker" in c}
        assert {n for c, n in workers.items() if settings.CELERY_REALTIME_QUEUE in c} == {10}, nice
        assert {n for c, n in workers.items() if settings.CELERY_JOBS_QUEUE in c} == {15}, nice
        assert {n for c, n in nice.items() if "daphne" in c} == {0}, nice
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read().decode()[-3000:]
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def _runstack_refuses(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", "runstack", "--port", str(free_port()), *args],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, result.stdout
    return result.stderr


def test_a_joining_node_without_database_and_redis_urls_refuses_and_starts_nothing(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"DATA_DIR": str(tmp_path / "data"), "LOG_LEVEL": "WARNING"})
    error = _runstack_refuses(env, "--no-services", "--no-beat")
    assert "--no-services joins an existing stack: set DATABASE_URL and REDIS_URL" in error
    assert not (tmp_path / "data" / "pg").exists()  # no embedded server was started for it
    assert not (tmp_path / "data" / "redis").exists()


def test_a_joining_node_refuses_a_database_that_is_not_migrated(tmp_path):
    import psycopg
    from django.db import connection

    # an empty database on the test's PostgreSQL: nobody migrated it
    name = f"{connection.settings_dict['NAME']}_unmigrated"
    admin = database_url_for_subprocess().rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        env = {
            **os.environ,
            "DATABASE_URL": admin.rsplit("/", 1)[0] + f"/{name}",
            "REDIS_URL": settings.REDIS_URL,
            "DATA_DIR": str(tmp_path),
            "LOG_LEVEL": "WARNING",
        }
        error = _runstack_refuses(env, "--no-services", "--no-beat")
        assert "migration(s) not applied" in error
        assert "run `manage.py migrate` once" in error
        with psycopg.connect(env["DATABASE_URL"]) as conn:  # and it migrated nothing itself
            assert conn.execute("SELECT to_regclass('django_migrations')").fetchone() == (None,)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
