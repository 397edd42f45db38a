"""The sequencer's hand-offs: a committer's own changes are numbered when its numbering call
returns (also while another process holds the numbering lock), and publishing is handed to a
worker once per queued run, not once per commit."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from celery.signals import before_task_publish
from django.db import connection, connections, transaction
from django.utils import timezone

from changelog import sequencer, tasks
from changelog.models import Change, SyncState
from tests.support.changes import unnumbered_change

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_committer_numbers_its_own_change_even_while_another_holds_the_lock(world):
    sequencer.number_pending()
    held, release, done = threading.Event(), threading.Event(), threading.Event()

    def holder() -> None:  # another numberer, mid-round, whose snapshot predates our commit
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [sequencer.NUMBER_LOCK])
                held.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    change = unnumbered_change(world)
    numbered: list[int] = []

    def committer() -> None:
        try:
            numbered.append(sequencer.number_pending())
        finally:
            done.set()
            connections.close_all()

    threading.Thread(target=committer).start()
    assert not done.wait(0.5)  # it waits for the holder instead of leaving its change to it
    release.set()  # the holder ends without looking again (as a round that found nothing would)
    thread.join(10)
    assert done.wait(10)
    change.refresh_from_db()
    assert numbered == [1]
    assert change.cursor == SyncState.objects.get(pk=1).head  # numbered, the newest


def test_a_round_with_nothing_to_number_writes_nothing(world):
    unnumbered_change(world)
    sequencer.number_pending()
    with connection.cursor() as cursor:
        cursor.execute("SELECT xmin::text FROM sync_syncstate WHERE id = 1")
        version = cursor.fetchone()[0]
        assert sequencer.number_pending() == 0
        cursor.execute("SELECT xmin::text FROM sync_syncstate WHERE id = 1")
        assert cursor.fetchone()[0] == version  # the state row was not rewritten


@pytest.fixture
def published_runs():
    """The sequence_changes runs this process hands to the broker (Celery's own signal)."""
    runs: list[str] = []

    def seen(sender=None, **kwargs) -> None:
        if sender == tasks.sequence_changes.name:
            runs.append(sender)

    before_task_publish.connect(seen, weak=False)
    yield runs
    before_task_publish.disconnect(seen)


def test_commits_while_a_run_is_queued_queue_no_more_and_the_run_clears_the_mark_first(world, published_runs):
    for _ in range(3):  # three batches finish before a worker starts the run
        tasks.publish_soon()
    assert len(published_runs) == 1
    change = unnumbered_change(world)
    tasks.sequence_changes()  # the worker's run: clears the mark, then numbers and publishes
    change.refresh_from_db()
    assert change.cursor is not None
    state = SyncState.objects.get(pk=1)
    assert state.published_upto == state.head  # the commits before it are published by it
    tasks.publish_soon()  # a commit after the run started queues the next one
    assert len(published_runs) == 2


def test_a_run_is_queued_even_when_the_mark_cannot_be_set(world, published_runs, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens: the mark fails, the broker does not
    tasks.publish_soon()
    tasks.publish_soon()
    assert len(published_runs) == 2  # without the mark, every commit queues (as before it)


def test_a_batch_pushed_while_another_process_numbers_answers_with_its_own_cursor(world):
    """Before, a batch that found the numbering lock taken left its changes to the holder and
    answered at once, before they had cursors: ``cursor`` null although they exist."""
    held = threading.Event()
    member = world.api("member")

    def holder() -> None:  # another process mid-round, ending without looking again
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [sequencer.NUMBER_LOCK])
                held.set()
                time.sleep(2)  # longer than the batch takes
        finally:
            connection.close()

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(10)
    entry_id = str(uuid.uuid4())
    start = timezone.now() - timedelta(days=2)
    item = {
        "idempotency_key": f"k-{entry_id}",
        "entity": "time_entry",
        "action": "upsert",
        "client_updated_at": start.isoformat(),
        "data": {
            "id": entry_id,
            "project_id": str(world.project_open.id),
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(hours=1)).isoformat(),
        },
    }
    answer = member.post("/api/v1/sync/batch", {"device_id": "laptop", "items": [item]}, format="json")
    thread.join(10)
    assert answer.status_code == 200, answer.content
    assert answer.json()["processed"] == 1
    assert answer.json()["cursor"] == Change.objects.get(entity_id=entry_id).cursor is not None
