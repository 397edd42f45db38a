"""Races against the real PostgreSQL, with real threads and real commits."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from organizations.tests.world import api_as
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _race(calls) -> list:
    """Run the callables at the same instant, each on its own thread and connection."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i, call):
        barrier.wait()
        try:
            results[i] = call()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_ten_concurrent_starts_leave_exactly_one_running(world):
    user = world.users["member"]
    clients = [api_as(user) for _ in range(10)]
    body = {"project_id": str(world.project_open.id)}
    responses = _race([lambda c=c: c.post("/api/v1/time-entries/start", body) for c in clients])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, [r.content for r in responses]
    assert statuses.count(201) >= 1
    live = TimeEntry.objects.filter(user=user, deleted_at__isnull=True)
    assert live.filter(ended_at__isnull=True).count() == 1
    # every started entry still exists, and none overlap (the constraint would have refused it)
    assert live.count() == statuses.count(201)


def test_start_racing_stop_leaves_a_consistent_state(world):
    user = world.users["member"]
    api = api_as(user)
    # an hour ago: stopping it now stays within an entry's 31 days
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": earlier})
    a, b = api_as(user), api_as(user)
    start, stop = _race(
        [
            lambda: a.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id)}),
            lambda: b.post("/api/v1/time-entries/stop", {}),
        ]
    )
    # something always runs when the stop arrives, so both succeed, in either order:
    # stop first -> the new timer runs alone; start first -> the stop stops the new timer
    assert (start.status_code, stop.status_code) == (201, 200)
    running = TimeEntry.objects.filter(user=user, ended_at__isnull=True).count()
    assert running == (0 if stop.json()["id"] == start.json()["id"] else 1)
    assert TimeEntry.objects.filter(user=user).count() == 2


def test_overlapping_manual_entries_in_parallel_exactly_one_survives(world):
    user = world.users["member"]
    clients = [api_as(user) for _ in range(8)]
    calls = []
    for i, c in enumerate(clients):  # eight different but pairwise-overlapping spans
        start = T0 + timedelta(minutes=i)
        body = {
            "project_id": str(world.project_open.id),
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(hours=1)).isoformat(),
        }
        calls.append(lambda c=c, body=body: c.post("/api/v1/time-entries", body))
    responses = _race(calls)
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert TimeEntry.objects.filter(user=user).count() == 1


def test_concurrent_resumes_of_one_pause_start_exactly_one_timer(world):
    user = world.users["member"]
    api = api_as(user)
    earlier = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    api.post("/api/v1/time-entries/start", {"project_id": str(world.project_open.id), "started_at": earlier})
    assert api.post("/api/v1/time-entries/pause", {}).status_code == 200
    clients = [api_as(user) for _ in range(4)]
    responses = _race([lambda c=c: c.post("/api/v1/time-entries/resume", {}) for c in clients])
    # the user's lock serialises them: the first resumes, the rest find the pause used up
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409], [r.content for r in responses]
    assert TimeEntry.objects.filter(user=user, ended_at__isnull=True).count() == 1
    assert TimeEntry.objects.filter(user=user).count() == 2
