"""Faults, with real processes and real services: a Celery worker SIGKILLed with hundreds of
jobs queued, Redis restarted under traffic, PostgreSQL stopped. Each uses servers of its own
where it kills one (a private redis-server, a private PostgreSQL), never the shared ones."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import UserFactory
from config.celery import app as celery_app
from conftest import database_url_for_subprocess
from organizations import services as org_services
from organizations.models import Company
from screenshots import services as screenshot_services
from screenshots.models import Screenshot, ScreenshotStatus
from sync.models import Change

ROOT = Path(django_settings.BASE_DIR)


def _wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(interval)
    return value


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process and every child it forked (it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# --------------------------------------------------------------------------- a killed worker

JOBS = 500


def _tiny_png(seed: int) -> bytes:
    image = Image.new("RGB", (24, 16), (seed % 256, (seed * 7) % 256, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _worker(queue: str, data_dir: Path, visibility_timeout: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": django_settings.REDIS_URL,
        "DATA_DIR": str(data_dir),  # its MEDIA_ROOT is this test's
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "LOG_LEVEL": "ERROR",
    }
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "prefork"]
    argv += ["--concurrency", "2", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_worker_leaves_every_screenshot_ready_exactly_once(settings, tmp_path):
    # given 500 uploads queued for processing on a private queue
    settings.MEDIA_ROOT = tmp_path / "media"
    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    visibility_timeout = 2  # seconds before Redis hands a dead worker's messages out again
    owner = UserFactory()
    company = org_services.company_create(owner=owner, name="Shots")
    Company.objects.filter(pk=company.pk).update(screenshots_enabled=True, screenshot_blur_level=1)
    membership = owner.memberships.get()
    previous_queue = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    workers = []
    try:
        with transaction.atomic():  # one commit: the 500 tasks are sent together, after it
            for i in range(JOBS):
                screenshot_services.screenshot_upload(
                    membership=membership,
                    fileobj=SimpleUploadedFile(f"{i}.png", _tiny_png(i)),
                    captured_at=timezone.now(),
                )
        ready = Screenshot.objects.filter(status=ScreenshotStatus.READY)

        # when a worker is SIGKILLed (the main process and its pool) part-way through
        workers.append(_worker(queue, tmp_path, visibility_timeout))
        _wait_for(lambda: ready.count() >= 40, timeout=60, what="the first worker to make progress")
        _kill_group(workers[-1])
        done_at_kill = ready.count()
        assert done_at_kill < JOBS, "the worker finished before it was killed: nothing was tested"
        time.sleep(visibility_timeout + 0.5)  # its reserved messages become visible again

        # and a new worker starts
        workers.append(_worker(queue, tmp_path, visibility_timeout))
        _wait_for(lambda: ready.count() == JOBS, timeout=120, interval=0.5, what="every screenshot to be READY")
        time.sleep(1)  # a duplicate delivery, had there been one, would show now
    finally:
        for worker in workers:
            _kill_group(worker)
        celery_app.conf.task_default_queue = previous_queue

    # then every job completed exactly once
    shots = list(Screenshot.objects.all())
    assert len(shots) == JOBS
    assert {s.status for s in shots} == {ScreenshotStatus.READY}
    # at most the messages the killed worker held (2 processes x prefetch 1, plus the one
    # each was running) took a second attempt; nothing took three
    attempts = sorted(s.attempts for s in shots)
    assert set(attempts) <= {1, 2}
    assert attempts.count(2) <= 4
    ready_events = Change.objects.filter(entity="screenshot", event="screenshot.ready")
    assert ready_events.count() == JOBS
    assert ready_events.values("entity_id").distinct().count() == JOBS
    # and each left exactly its image and thumbnail: no original, no second copy
    media = tmp_path / "media" / "screenshots"
    files = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    expected = sorted(
        f"{s.company_id}/{s.user_id}/{s.pk}/{name}" for s in shots for name in ("image.webp", "thumbnail.webp")
    )
    assert files == expected
