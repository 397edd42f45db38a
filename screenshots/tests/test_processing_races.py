"""Two deliveries of one screenshot's task at once: a slow attempt outlasting the broker's
visibility timeout gets its message handed out again while it still runs (found by the SIGKILL
fault test in tests/test_faults.py, whose worker uses a 2 s timeout on a loaded machine)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from django.core.files.storage import default_storage
from django.db import connection

from changelog.models import Change
from changelog.sequencer import number_pending
from conftest import database_url_for_subprocess
from organizations.models import Company
from screenshots import services
from screenshots.models import Screenshot, ScreenshotStatus
from tests.support.screenshots import png, upload

pytestmark = pytest.mark.django_db(transaction=True)

# The first delivery, in a process of its own: it has claimed the screenshot and rendered the
# image, and waits (for a line on stdin) before storing anything: a slow attempt, mid-way.
SLOW_ATTEMPT = r"""
import sys
import django
django.setup()
from screenshots import images, services
real = images.process
def slow(*args, **kwargs):
    out = real(*args, **kwargs)
    print("rendered", flush=True)
    sys.stdin.readline()
    return out
images.process = slow
shot = services.screenshot_process(screenshot_id=sys.argv[1])
print("stored" if shot is not None else "nothing", flush=True)
"""


def _someone_waits_on_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_redelivery_during_a_slow_attempt_waits_for_it_and_the_screenshot_ends_ready_once(world, settings, tmp_path):
    # given a screenshot whose first attempt is mid-way in another process
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=2)
    screenshot_id = upload(world, png()).json()["id"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(tmp_path),  # its MEDIA_ROOT is this test's
    }
    first = subprocess.Popen(
        [sys.executable, "-c", SLOW_ATTEMPT, screenshot_id],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout.readline().strip() == "rendered"

        # when the broker hands the same task out again meanwhile
        second: dict = {}

        def redelivery():
            try:
                second["result"] = services.screenshot_process(screenshot_id=screenshot_id)
            finally:
                connection.close()

        thread = threading.Thread(target=redelivery)
        thread.start()
        deadline = time.monotonic() + 30
        while thread.is_alive() and not _someone_waits_on_a_lock():
            assert time.monotonic() < deadline, "the redelivery neither finished nor waited"
            time.sleep(0.05)
        # and the first attempt then stores its files and commits
        first.stdin.write("go on\n")
        first.stdin.flush()
        assert first.stdout.readline().strip() == "stored"
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        first.kill()
        first.wait(timeout=10)

    # then the redelivery found the work done, and the screenshot is READY once, from one attempt
    assert second["result"] is None
    shot = Screenshot.objects.get(pk=screenshot_id)
    assert (shot.status, shot.attempts, shot.error, shot.original_key) == (ScreenshotStatus.READY, 1, "", "")
    number_pending()
    assert Change.objects.filter(entity="screenshot", entity_id=shot.id, event="screenshot.ready").count() == 1
    folder = f"screenshots/{shot.company_id}/{shot.user_id}/{shot.pk}"
    assert sorted(default_storage.listdir(folder)[1]) == ["image.webp", "thumbnail.webp"]
    with default_storage.open(shot.image_key) as stored:
        assert stored.read(4) == b"RIFF"
