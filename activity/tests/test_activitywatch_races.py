"""Heartbeats racing on one bucket (two watchers of one machine restarted at once, a queue
flushing beside a live heartbeat): aw-server serialises them with a process lock; Stint locks
the bucket's row, so across processes no merge is lost or doubled."""

from __future__ import annotations

import contextlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from activity.activitywatch import feed
from activity.models import AwEvent
from tests.support.activitywatch import aw_api, create_bucket, event, heartbeat

pytestmark = pytest.mark.django_db(transaction=True)


def test_two_heartbeats_racing_on_an_empty_bucket_make_one_event(world, monkeypatch):
    """Both requests are held at the point where each has the bucket and is about to read its
    last event: with the row lock the second waits for the first to commit (then merges into
    its event); without it, both would see an empty bucket and insert the same event twice."""
    watcher = aw_api(world.users["member"])
    create_bucket(watcher, "aw-watcher-afk_laptop", type_="afkstatus", client="aw-watcher-afk")
    gate = threading.Barrier(2, timeout=1.0)
    real_private = feed.private

    def held(*args, **kwargs):
        with contextlib.suppress(threading.BrokenBarrierError):  # the lock kept the other one out
            gate.wait()
        return real_private(*args, **kwargs)

    monkeypatch.setattr(feed, "private", held)
    same = event(0, base=datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20), status="not-afk")
    answers = []

    def send() -> None:
        try:
            answers.append(heartbeat(watcher, "aw-watcher-afk_laptop", same).status_code)
        finally:
            connection.close()

    workers = [threading.Thread(target=send) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert answers == [200, 200]
    assert AwEvent.objects.count() == 1  # the second merged into the first, as on aw-server


def test_one_heartbeat_costs_a_bounded_number_of_queries(world, django_assert_max_num_queries):
    """The hot path (docs/trackers-activitywatch.md, "Cost"): token, memberships, privacy
    rules' version, the bucket (locked), its last event, the write, the inbox COPY."""
    watcher = aw_api(world.users["member"])
    create_bucket(watcher, "aw-watcher-window_laptop")
    heartbeat(watcher, "aw-watcher-window_laptop", event(0, app="Code"))
    with django_assert_max_num_queries(12):
        assert heartbeat(watcher, "aw-watcher-window_laptop", event(1, app="Code")).status_code == 200
