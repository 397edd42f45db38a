"""A job whose task message the broker lost is sent again once its queue is empty
(common.jobs.requeue_lost, beat every minute): Redis loses a message when the worker that
popped it is SIGKILLed before recording it as unacknowledged, and the job stayed PENDING for
good (seen once in tests/test_faults.py's SIGKILL test)."""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from kombu import Connection

from common.broker import queue_lengths
from conftest import celery_worker, routed
from organizations.models import Company
from reports import services as report_services
from reports.models import ExportStatus, ReportExport
from screenshots import services
from screenshots.models import Screenshot, ScreenshotStatus
from tests.support.screenshots import png, upload

pytestmark = pytest.mark.django_db(transaction=True)
LONG_AGO = timedelta(minutes=10)
AFTER = timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _media_and_policy(settings, tmp_path, world):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)


def _lose_messages(queue: str) -> None:
    """What a worker SIGKILLed between Redis's BRPOP and its unacked record does to them."""
    from django.conf import settings

    with Connection(settings.CELERY_BROKER_URL) as conn:
        conn.default_channel.queue_purge(queue)


def _age(model, pk) -> None:
    model.objects.filter(pk=pk).update(updated_at=timezone.now() - LONG_AGO)


@pytest.mark.slow
def test_a_lost_screenshot_message_is_sent_again_once_the_queue_is_empty_and_the_upload_ends_ready(world, tmp_path):
    queue = f"test-lost-{uuid.uuid4().hex[:8]}"
    with routed({"media": queue}):
        lost = upload(world, png()).json()["id"]
        _lose_messages(queue)
        # a fresh PENDING upload may just be waiting for a worker: left alone
        assert services.screenshots_requeue_lost(older_than=AFTER) == 0
        _age(Screenshot, lost)
        # another upload waits in the queue: a backlog, not a loss, so nothing is sent
        waiting = upload(world, png()).json()["id"]
        assert queue_lengths([queue])[queue] == 1
        assert services.screenshots_requeue_lost(older_than=AFTER) == 0
        _lose_messages(queue)  # (the waiting one is young: it is not sent either)

        assert services.screenshots_requeue_lost(older_than=AFTER) == 1
        assert queue_lengths([queue])[queue] == 1
        # sent once per interval, not at every beat
        assert services.screenshots_requeue_lost(older_than=AFTER) == 0
        assert queue_lengths([queue])[queue] == 1
        assert Screenshot.objects.get(pk=waiting).status == ScreenshotStatus.PENDING

    with celery_worker(tmp_path, queue=queue):
        deadline = time.monotonic() + 60
        while Screenshot.objects.get(pk=lost).status != ScreenshotStatus.READY:
            assert time.monotonic() < deadline, Screenshot.objects.get(pk=lost).status
            time.sleep(0.2)
    shot = Screenshot.objects.get(pk=lost)
    assert (shot.status, shot.attempts, shot.original_key) == (ScreenshotStatus.READY, 1, "")


def test_a_presigned_upload_not_yet_confirmed_is_never_sent_for_processing(world, settings):
    queue = f"test-lost-{uuid.uuid4().hex[:8]}"
    membership = world.users["member"].memberships.get(company=world.a)
    shot = services.screenshot_presign(
        membership=membership, captured_at=timezone.now(), content_type="image/png", size=len(png())
    )
    Screenshot.objects.filter(pk=shot.pk).update(original_key="uploaded-not-confirmed.png")
    _age(Screenshot, shot.pk)
    with routed({"media": queue}):
        assert services.screenshots_requeue_lost(older_than=AFTER) == 0
        assert queue_lengths([queue])[queue] == 0
    # the client confirming again is what queues it (confirm is idempotent until the first attempt)


def _take_message(queue: str) -> tuple[str, list]:
    """The task name and arguments of the one message waiting in ``queue`` (taken off it)."""
    from django.conf import settings

    with Connection(settings.CELERY_BROKER_URL) as conn:
        simple = conn.SimpleQueue(queue)
        message = simple.get(timeout=5)
        message.ack()
        simple.close()
    return message.headers["task"], message.headers["argsrepr"]


def test_a_lost_export_message_is_sent_again_and_the_export_builds(world):
    queue = f"test-lost-{uuid.uuid4().hex[:8]}"
    membership = world.users["owner"].memberships.get(company=world.a)
    with routed({"jobs": queue}):
        export = report_services.export_request(
            membership=membership, report="full", fmt="json", first=None, last=None, tz="UTC"
        )
        _lose_messages(queue)
        assert report_services.exports_requeue_lost(older_than=AFTER) == 0  # young: may be waiting
        _age(ReportExport, export.pk)
        assert report_services.exports_requeue_lost(older_than=AFTER) == 1
        task, args = _take_message(queue)
    assert (task, args) == ("reports.tasks.build_export", repr((str(export.pk),)))
    report_services.export_build(export_id=export.pk)  # what the jobs worker does with it
    assert ReportExport.objects.get(pk=export.pk).status == ExportStatus.READY
