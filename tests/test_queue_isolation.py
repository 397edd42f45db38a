"""Queues that never block each other (docs/operations.md "Queues"): with an export in flight
on the jobs worker for 30 s, heartbeats sent meanwhile are merged by the realtime worker in
under 2 s. Real workers (conftest.celery_worker, one per queue group as runstack runs them),
real Redis, real PostgreSQL.

The export is made long honestly, without a test hook in its code: this test holds an ACCESS
EXCLUSIVE lock on the time-entry table, so the real build_export task, on its real path, sits in
its query until the lock goes (what a huge export's query looks like to the worker: busy for
as long as it takes). Routing every group to one queue and worker makes this test fail: the
merges wait behind the export."""

from __future__ import annotations

import time
import uuid

import psycopg
import pytest

from activity.models import AppUsage
from conftest import celery_worker, database_url_for_subprocess
from reports.models import ExportStatus, ReportExport
from tests.support.heartbeats import hb, send

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

EXPORT_SECONDS = 30
LAG_BUDGET = 2.0


def _export_waits_on_the_lock(db: psycopg.Connection) -> bool:
    """Is a backend (the jobs worker's) blocked on a lock while reading time entries?"""
    row = db.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE %s",
        ["%tracking_timeentry%"],
    ).fetchone()
    return bool(row and row[0])


def _merge_lag(api, device: str) -> float:
    """Seconds from a heartbeat's 202 to its merged interval being visible (or past budget)."""
    sent = time.monotonic()
    response = send(api, [hb(1)], device=device)
    assert response.status_code == 202, response.content
    while not AppUsage.objects.filter(device_id=device).exists():
        lag = time.monotonic() - sent
        if lag > LAG_BUDGET * 3:  # clearly over: stop waiting, report it
            return lag
        time.sleep(0.05)
    return time.monotonic() - sent


def test_heartbeats_merge_within_2_s_while_a_30_s_export_runs(world, tmp_path):
    prefix = f"test-{uuid.uuid4().hex[:8]}"
    # As runstack and compose: realtime alone; media, jobs, email and default on another worker.
    routing = dict.fromkeys(("media", "jobs", "email", "default"), f"{prefix}-rest")
    routing["realtime"] = f"{prefix}-realtime"
    member = world.api("member")
    with (
        psycopg.connect(database_url_for_subprocess(), autocommit=False) as locker,
        celery_worker(tmp_path, queue=routing["jobs"], routing=routing),
        celery_worker(tmp_path, queue=routing["realtime"], routing=routing),
    ):
        locker.execute("LOCK TABLE tracking_timeentry IN ACCESS EXCLUSIVE MODE")
        body = {"report": "time_entries", "format": "csv", "from": "2026-06-01", "to": "2026-06-30", "tz": "UTC"}
        response = member.post("/api/v1/reports/exports", body, format="json")
        assert response.status_code == 202, response.content
        export_id = response.json()["id"]
        with psycopg.connect(database_url_for_subprocess(), autocommit=True) as watcher:
            deadline = time.monotonic() + 30
            while not _export_waits_on_the_lock(watcher):
                assert time.monotonic() < deadline, "the export never started on the jobs worker"
                time.sleep(0.1)
            in_flight = time.monotonic()
            lags = []
            while time.monotonic() - in_flight < EXPORT_SECONDS:
                lags.append(_merge_lag(member, f"laptop-{len(lags)}"))
                time.sleep(1)
            # The export was in flight the whole time: still blocked, not READY.
            assert _export_waits_on_the_lock(watcher)
            assert ReportExport.objects.get(pk=export_id).status != ExportStatus.READY
        locker.rollback()  # the lock goes: the export finishes
        deadline = time.monotonic() + 30
        while (export := ReportExport.objects.get(pk=export_id)).status != ExportStatus.READY:
            assert time.monotonic() < deadline, export.error
            time.sleep(0.2)
    assert max(lags) < LAG_BUDGET, f"merge lag with an export in flight: {[round(lag, 2) for lag in lags]}"
    assert len(lags) >= 10, lags  # measured throughout the 30 s
