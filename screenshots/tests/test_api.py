"""Screenshots: validated uploads, processing (EXIF gone, blurred, thumbnail), role-scoped reads
and deletes, signed links. The task is called directly (twice: the second does nothing)."""

from __future__ import annotations

import io
import time
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from changelog.models import Change
from changelog.sequencer import number_pending
from organizations.models import Company, Membership
from screenshots import services
from screenshots.models import Screenshot, ScreenshotStatus
from tests.support.api import assert_error
from tests.support.screenshots import URL, png, processed, upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media_and_policy(settings, tmp_path, world):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=2)


def fetch(api, url: str) -> bytes:
    response = api.get(url.replace("http://testserver", ""))
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


def test_an_upload_is_processed_blurred_stripped_and_thumbnailed(world):
    response = upload(world, png(exif=True, fmt="JPEG"), name="shot.jpg", metadata='{"os": "macOS 15"}')
    original = Screenshot.objects.get(pk=response.json()["id"]).original_key
    with default_storage.open(original, "rb") as stored:
        assert Image.open(stored).getexif()[0x010F] == "SecretCam"  # what the tracker sent
    shot = processed(response)
    assert (shot.status, shot.width, shot.height, shot.blur_level) == (ScreenshotStatus.READY, 64, 48, 2)
    assert shot.metadata == {"os": "macOS 15"}
    assert not shot.original_key
    assert not default_storage.exists(original)  # the unblurred original, and its EXIF, are gone
    detail = world.api("member").get(f"{URL}/{shot.id}").json()
    image = Image.open(io.BytesIO(fetch(world.api("member"), detail["image_url"])))
    thumb = Image.open(io.BytesIO(fetch(world.api("member"), detail["thumbnail_url"])))
    assert image.format == thumb.format == "WEBP"
    assert thumb.width == 320
    assert not image.getexif()
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    # blurred: neighbouring stripes are no longer black and white
    a, b = image.convert("L").getpixel((30, 20)), image.convert("L").getpixel((31, 20))
    assert abs(a - b) < 60


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"#!/bin/sh\nrm -rf /\n", "evil.png"),  # a script named .png
        (b"GIF89a" + b"\x00" * 100, "anim.gif"),  # not a format we take
        (png()[:40], "cut.png"),  # damaged
    ],
)
def test_anything_but_a_png_jpeg_or_webp_is_refused(world, content, name):
    assert_error(upload(world, content, name=name), 400, attr="file")
    assert not Screenshot.objects.exists()


def test_a_decompression_bomb_is_refused_from_its_header(world):
    bomb = io.BytesIO()
    Image.new("1", (8000, 6000)).save(bomb, "PNG")  # 48 megapixels, a few kilobytes
    assert_error(upload(world, bomb.getvalue()), 400, attr="file")
    assert not Screenshot.objects.exists()


def test_oversize_bodies_are_413_before_they_are_read(world):
    response = world.api("member").post(URL, data=b"x", content_type="multipart/form-data; boundary=x",
                                        CONTENT_LENGTH=str(11 * 1024 * 1024))  # fmt: skip
    assert_error(response, 413)


def test_screenshots_off_for_the_company_or_the_member_are_403(world):
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=False)
    assert_error(upload(world, png()), 403)
    Membership.objects.filter(user=world.users["member"], company=world.a).update(screenshots_enabled=True)
    assert upload(world, png()).status_code == 201  # the member's override wins


def test_a_time_entry_must_be_the_uploaders_own(world):
    from tracking import services as tracking

    theirs = tracking.entry_create(
        membership=world.users["loner"].memberships.get(company=world.a),
        data={
            "project_id": world.project_open.id,
            "started_at": timezone.now() - timedelta(hours=2),
            "duration_seconds": 60,
        },
    )
    assert_error(upload(world, png(), time_entry_id=str(theirs.id)), 400, attr="time_entry_id")


def test_who_sees_and_who_deletes_whose_screenshots(world):
    shot = processed(upload(world, png()))
    path = f"{URL}/{shot.id}"
    for role in ("member", "lead", "manager", "owner", "admin"):
        assert world.api(role).get(path).status_code == 200, role
    for role in ("loner", "outsider"):
        assert_error(world.api(role).get(path), 404)
        assert str(shot.id) not in [s["id"] for s in world.api(role).get(URL).json()["results"]]
    assert_error(world.api("manager").delete(path), 403)  # sees, may not delete
    Screenshot.objects.filter(pk=shot.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert_error(world.api("member").delete(path), 403)  # their own, but uploaded over 10 minutes ago
    assert world.api("admin").delete(path).status_code == 204
    assert not default_storage.exists(shot.image_key)
    assert not default_storage.exists(shot.thumbnail_key)


def test_a_member_deletes_their_own_within_ten_minutes(world):
    shot = processed(upload(world, png()))
    assert world.api("member").delete(f"{URL}/{shot.id}").status_code == 204


def test_screenshot_ready_reaches_those_who_may_see_it(world):
    shot = processed(upload(world, png()))
    number_pending()
    change = Change.objects.get(entity="screenshot", entity_id=shot.id)
    assert change.event == "screenshot.ready"
    before = change.cursor - 1
    for role, sees in [("member", True), ("manager", True), ("lead", True), ("loner", False), ("outsider", False)]:
        ids = [c["id"] for c in world.api(role).get(f"/api/v1/sync/changes?cursor={before}").json()["changes"]]
        assert (str(shot.id) in ids) is sees, role


def test_links_are_signed_for_one_variant_and_expire(world, settings):
    shot = processed(upload(world, png()))
    detail = world.api("member").get(f"{URL}/{shot.id}").json()
    url = detail["image_url"].replace("http://testserver", "")
    anonymous = type(world.api("member"))()
    assert anonymous.get(url).status_code == 200
    assert_error(anonymous.get(url.replace("/image?", "/thumbnail?")), 404)  # another variant
    settings.SCREENSHOT_LINK_SECONDS = 0
    time.sleep(1.1)
    assert_error(anonymous.get(url), 404)


def test_a_failing_processing_is_retried_then_failed_with_the_reason(world, monkeypatch):
    from screenshots import images

    response = upload(world, png())
    screenshot_id = response.json()["id"]

    def broken(*args, **kwargs):
        raise OSError("storage down")

    monkeypatch.setattr(images, "process", broken)
    for _ in range(2):
        with pytest.raises(OSError, match="storage down"):
            services.screenshot_process(screenshot_id=screenshot_id)
    assert services.screenshot_process(screenshot_id=screenshot_id) is None
    shot = Screenshot.objects.get(pk=screenshot_id)
    assert (shot.status, shot.attempts) == (ScreenshotStatus.FAILED, 3)
    assert "storage down" in shot.error


def test_screenshots_past_their_companys_retention_are_purged_with_their_files(world):
    Company.objects.filter(pk=world.a.pk).update(screenshot_retention_days=30)
    old, recent = processed(upload(world, png())), processed(upload(world, png()))
    Screenshot.objects.filter(pk=old.pk).update(captured_at=timezone.now() - timedelta(days=31))
    assert services.screenshots_purge() == 1
    assert list(Screenshot.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not default_storage.exists(old.image_key)
    assert default_storage.exists(recent.image_key)


def test_owner_sees_thumbnails_of_their_company_only_in_the_admin(client, world):
    from django.urls import reverse

    from accounts.tests.factories import PASSWORD

    ours = processed(upload(world, png()))
    theirs = Screenshot.objects.create(company=world.b, user=world.users["outsider"], captured_at=timezone.now())
    assert client.login(email=world.users["owner"].email, password=PASSWORD)
    html = client.get(reverse("admin:screenshots_screenshot_changelist")).content.decode()
    assert f"/api/v1/screenshots/{ours.pk}/thumbnail?token=" in html
    assert reverse("admin:screenshots_screenshot_change", args=[theirs.pk]) not in html
    assert client.get(reverse("admin:screenshots_screenshot_change", args=[theirs.pk])).status_code == 302


# --------------------------------------------------------------------------- presigned uploads


def presign(world, content: bytes, role="member", content_type="image/png", **extra):
    body = {"captured_at": timezone.now().isoformat(), "content_type": content_type, "size": len(content), **extra}
    return world.api(role).post(f"{URL}/presign", body, format="json")


def put(upload: dict, content: bytes, client=None):
    from rest_framework.test import APIClient

    client = client or APIClient()
    return client.put(
        upload["url"].replace("http://testserver", ""), data=content, content_type=upload["headers"]["Content-Type"]
    )


def test_the_presigned_flow_uploads_confirms_and_processes(world):
    content = png()
    presigned = presign(world, content)
    assert presigned.status_code == 201, presigned.content
    body = presigned.json()
    assert body["upload"]["method"] == "PUT"
    assert body["upload"]["headers"] == {"Content-Type": "image/png", "Content-Length": str(len(content))}
    assert put(body["upload"], content).status_code == 204
    assert_error(put(body["upload"], content), 409)  # single use
    confirmed = world.api("member").post(f"{URL}/{body['id']}/confirm")
    assert confirmed.status_code == 202, confirmed.content
    services.screenshot_process(screenshot_id=body["id"])
    assert Screenshot.objects.get(pk=body["id"]).status == ScreenshotStatus.READY


def test_a_presigned_upload_must_be_what_was_declared(world):
    content = png()
    # a script declared as a PNG of its own length
    script = b"#!/bin/sh\necho pwned\n"
    body = presign(world, script).json()
    assert put(body["upload"], script).status_code == 204
    assert_error(world.api("member").post(f"{URL}/{body['id']}/confirm"), 400, attr="file")
    # a JPEG declared as PNG
    jpeg = png(fmt="JPEG")
    body = presign(world, jpeg, content_type="image/png").json()
    put(body["upload"], jpeg)
    assert_error(world.api("member").post(f"{URL}/{body['id']}/confirm"), 400, attr="file")
    # more bytes than declared
    body = presign(world, content).json()
    assert_error(put(body["upload"], content + b"extra"), 400, attr="size")
    # confirming before uploading
    body = presign(world, content).json()
    assert_error(world.api("member").post(f"{URL}/{body['id']}/confirm"), 400)
    assert not Screenshot.objects.filter(status=ScreenshotStatus.READY).exists()


def test_presign_refuses_what_a_direct_upload_would(world):
    assert_error(presign(world, b"x" * 10, content_type="image/gif"), 400, attr="content_type")
    big = presign(world, b"", size=11 * 1024 * 1024)
    assert_error(big, 400, attr="size")
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=False)
    assert_error(presign(world, png()), 403)


def test_upload_links_are_signed_per_screenshot_and_only_the_uploader_confirms(world):
    content = png()
    first, second = presign(world, content).json(), presign(world, content).json()
    forged = dict(first["upload"], url=first["upload"]["url"].replace(first["id"], second["id"]))
    assert_error(put(forged, content), 404)
    put(first["upload"], content)
    assert_error(world.api("owner").post(f"{URL}/{first['id']}/confirm"), 403)  # sees it, not theirs to confirm
    assert_error(world.api("outsider").post(f"{URL}/{first['id']}/confirm"), 404)


KILLED_MID_TASK = r"""
import sys, time
import django
django.setup()
from screenshots import images, services
real = images.process
def slow(*args, **kwargs):
    out = real(*args, **kwargs)
    print("processing, not stored", flush=True)
    time.sleep(60)  # killed here, after the claim, before anything is stored
    return out
images.process = slow
services.screenshot_process(screenshot_id=sys.argv[1])
"""


@pytest.mark.slow
def test_a_worker_killed_mid_task_still_ends_ready_exactly_once(world, settings):
    import os
    import signal
    import subprocess
    import sys

    from conftest import database_url_for_subprocess

    response = upload(world, png())
    screenshot_id = response.json()["id"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATA_DIR": str(settings.MEDIA_ROOT.parent),  # so its MEDIA_ROOT is this test's
    }
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_MID_TASK, screenshot_id], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "processing, not stored"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    stuck = Screenshot.objects.get(pk=screenshot_id)
    assert (stuck.status, stuck.attempts) == (ScreenshotStatus.PROCESSING, 1)
    # acks_late + reject_on_worker_lost: the broker delivers the task again after the restart
    services.screenshot_process(screenshot_id=screenshot_id)
    services.screenshot_process(screenshot_id=screenshot_id)  # and a duplicate delivery does nothing
    shot = Screenshot.objects.get(pk=screenshot_id)
    assert (shot.status, shot.attempts) == (ScreenshotStatus.READY, 2)
    number_pending()
    assert Change.objects.filter(entity="screenshot", entity_id=shot.id, event="screenshot.ready").count() == 1


def test_one_file_per_request(world):
    body = {
        "file": [SimpleUploadedFile("a.png", png()), SimpleUploadedFile("b.png", png())],
        "captured_at": timezone.now().isoformat(),
    }
    assert_error(world.api("member").post(URL, body, format="multipart"), 400, attr="file")
    assert not Screenshot.objects.exists()


def test_another_companys_screenshots_cannot_be_written_to(world):
    shot = processed(upload(world, png()))
    outsider = world.api("outsider")
    body = {"file": SimpleUploadedFile("s.png", png()), "captured_at": timezone.now().isoformat()}
    assert_error(outsider.post(f"{URL}?company={world.a.id}", body, format="multipart"), 404)
    presign_body = {"captured_at": timezone.now().isoformat(), "content_type": "image/png", "size": 10}
    assert_error(outsider.post(f"{URL}/presign?company={world.a.id}", presign_body, format="json"), 404)
    assert_error(outsider.delete(f"{URL}/{shot.id}"), 404)
    assert_error(outsider.post(f"{URL}/{shot.id}/confirm"), 404)
    assert list(Screenshot.objects.values_list("pk", flat=True)) == [shot.pk]
    assert default_storage.exists(shot.image_key)


def test_an_attempt_killed_after_storing_leaves_no_second_copy(world, settings):
    # The SIGKILL fault test asks for no file twice: an attempt that stored the image and died
    # before its commit left them behind; the retry saved beside them under new names.
    response = upload(world, png())
    shot = Screenshot.objects.get(pk=response.json()["id"])
    folder = f"screenshots/{shot.company_id}/{shot.user_id}/{shot.pk}"
    default_storage.save(f"{folder}/image.webp", io.BytesIO(b"left by the killed attempt"))
    default_storage.save(f"{folder}/thumbnail.webp", io.BytesIO(b"left by the killed attempt"))
    Screenshot.objects.filter(pk=shot.pk).update(status=ScreenshotStatus.PROCESSING, attempts=1)

    shot = services.screenshot_process(screenshot_id=shot.pk)

    assert (shot.status, shot.attempts) == (ScreenshotStatus.READY, 2)
    assert sorted(default_storage.listdir(folder)[1]) == ["image.webp", "thumbnail.webp"]
    assert (shot.image_key, shot.thumbnail_key) == (f"{folder}/image.webp", f"{folder}/thumbnail.webp")
    with default_storage.open(shot.image_key) as stored:
        assert stored.read(4) == b"RIFF"  # the new WebP, not the leftover


def test_a_process_killed_after_ready_before_deleting_the_original_leaves_it_to_the_redelivery(world):
    # Found by the SIGKILL fault test (tests/test_faults.py): the original was deleted in an
    # on-commit hook after its key was cleared, so a worker killed between the two left the
    # unblurred original on disk for good, with nothing pointing at it.
    shot = Screenshot.objects.get(pk=upload(world, png()).json()["id"])
    original = shot.original_key
    Screenshot.objects.filter(pk=shot.pk).update(status=ScreenshotStatus.READY, attempts=1)  # committed, then killed
    assert default_storage.exists(original)

    assert services.screenshot_process(screenshot_id=shot.pk) is None  # the redelivered task

    assert not default_storage.exists(original)
    shot.refresh_from_db()
    assert (shot.status, shot.attempts, shot.original_key) == (ScreenshotStatus.READY, 1, "")


# --------------------------------------------------------------------------- #15 items 10 and 12


def test_a_file_just_over_the_limit_is_413_like_a_larger_body(world, settings):
    over = b"\x89PNG" + b"x" * (settings.SCREENSHOT_MAX_BYTES - 3)  # one byte over, form within the ceiling
    assert_error(upload(world, over), 413)
    assert not Screenshot.objects.exists()


def test_the_self_delete_window_counts_from_upload_not_from_captured_at(world):
    # captured_at a little ahead (a tracker's clock) must not keep the window open
    shot = processed(upload(world, png(), captured_at=(timezone.now() + timedelta(minutes=50)).isoformat()))
    Screenshot.objects.filter(pk=shot.pk).update(created_at=timezone.now() - timedelta(minutes=11))
    assert_error(world.api("member").delete(f"{URL}/{shot.id}"), 403)
    assert world.api("owner").delete(f"{URL}/{shot.id}").status_code == 204


@pytest.mark.parametrize("ahead", [timedelta(hours=2), timedelta(days=3650)])
def test_captured_at_far_ahead_is_refused(world, ahead):
    captured_at = (timezone.now() + ahead).isoformat()
    assert_error(upload(world, png(), captured_at=captured_at), 400, attr="captured_at")
    assert_error(presign(world, png(), captured_at=captured_at), 400, attr="captured_at")
    assert not Screenshot.objects.exists()


def test_captured_at_older_than_the_retention_is_refused(world):
    captured_at = (timezone.now() - timedelta(days=91)).isoformat()  # the default retention is 90 days
    assert_error(upload(world, png(), captured_at=captured_at), 400, attr="captured_at")
    assert_error(presign(world, png(), captured_at=captured_at), 400, attr="captured_at")


def _nested(depth: int) -> dict:
    value: dict = {"os": "macOS"}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_presign_metadata_is_bounded_in_size_and_depth(world):
    assert_error(presign(world, png(), metadata={"os": "x" * 5000}), 400, attr="metadata")
    assert_error(presign(world, png(), metadata=_nested(10)), 400, attr="metadata")
    assert presign(world, png(), metadata={"os": "macOS 15", "displays": [{"w": 1920}]}).status_code == 201


def test_deeply_nested_metadata_is_400_not_500(world):
    import json

    deep = "[" * 2000 + "]" * 2000  # within the 4,096 characters, too deep to decode
    assert_error(upload(world, png(), metadata=deep), 400, attr="metadata")
    assert_error(upload(world, png(), metadata=json.dumps(_nested(40))), 400, attr="metadata")
    body = '{"captured_at": "2026-01-01T00:00:00Z", "content_type": "image/png", "size": 10, "metadata": '
    body += '{"a":' * 5000 + "1" + "}" * 5000 + "}"
    response = world.api("member").post(f"{URL}/presign", data=body, content_type="application/json")
    assert_error(response, 400)
    assert not Screenshot.objects.exists()
