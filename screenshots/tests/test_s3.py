"""The same screenshot flows on an S3-compatible store: a real S3-protocol server (moto's
server mode, over HTTP on loopback) started by the test, not a patched boto3."""

from __future__ import annotations

import io
import urllib.request
import uuid

import boto3
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from conftest import free_port
from organizations.models import Company
from screenshots import services, storage
from screenshots.models import Screenshot, ScreenshotStatus
from tests.support.screenshots import png

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]
URL = "/api/v1/screenshots"


@pytest.fixture
def s3(settings, world):
    import logging

    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the server's access log

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    creds = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing", "region_name": "us-east-1"}
    bucket = f"stint-test-{uuid.uuid4().hex[:8]}"  # moto's state is per process: a bucket per test
    boto3.client("s3", endpoint_url=endpoint, **creds).create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "querystring_auth": True,
                "querystring_expire": 300,
                "signature_version": "s3v4",
                "file_overwrite": False,
                "default_acl": None,
            },
        },
    }
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=1)
    client = boto3.client("s3", endpoint_url=endpoint, **creds)
    client.bucket = bucket
    yield client
    server.stop()


def keys(client) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=client.bucket).get("Contents", []))


def test_a_direct_upload_lands_in_the_bucket_under_its_company_and_is_read_by_presigned_links(world, s3):
    assert storage.on_s3()
    body = {"file": SimpleUploadedFile("s.png", png()), "captured_at": timezone.now().isoformat()}
    created = world.api("member").post(URL, body, format="multipart").json()
    prefix = f"screenshots/{world.a.id}/{world.users['member'].id}/{created['id']}/"
    assert keys(s3) == [prefix + "original.png"]
    services.screenshot_process(screenshot_id=created["id"])
    assert keys(s3) == [prefix + "image.webp", prefix + "thumbnail.webp"]  # the original is gone
    detail = world.api("member").get(f"{URL}/{created['id']}").json()
    assert "X-Amz-Expires=300" in detail["image_url"]
    with urllib.request.urlopen(detail["thumbnail_url"]) as response:  # noqa: S310 - loopback test server
        assert Image.open(io.BytesIO(response.read())).width == 320


def test_the_presigned_flow_puts_straight_into_the_bucket(world, s3):
    content = png()
    presigned = (
        world.api("member")
        .post(
            f"{URL}/presign",
            {"captured_at": timezone.now().isoformat(), "content_type": "image/png", "size": len(content)},
            format="json",
        )
        .json()
    )
    upload = presigned["upload"]
    assert upload["url"].startswith(s3.meta.endpoint_url)
    request = urllib.request.Request(upload["url"], data=content, method="PUT", headers=upload["headers"])
    with urllib.request.urlopen(request) as response:  # noqa: S310 - loopback test server
        assert response.status == 200
    assert world.api("member").post(f"{URL}/{presigned['id']}/confirm").status_code == 202
    services.screenshot_process(screenshot_id=presigned["id"])
    shot = Screenshot.objects.get(pk=presigned["id"])
    assert shot.status == ScreenshotStatus.READY
    assert default_storage.exists(shot.image_key)
    services.screenshot_delete(screenshot=shot)
    assert keys(s3) == []
