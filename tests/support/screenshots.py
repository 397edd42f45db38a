"""Images and uploads for the tests that need a processed screenshot."""

from __future__ import annotations

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from screenshots import services
from screenshots.models import Screenshot

URL = "/api/v1/screenshots"


def png(width=64, height=48, *, exif=False, fmt="PNG") -> bytes:
    image = Image.new("RGB", (width, height))
    for x in range(width):  # sharp stripes, so a blur shows
        for y in range(height):
            image.putpixel((x, y), (255, 255, 255) if x % 2 else (0, 0, 0))
    out = io.BytesIO()
    kwargs = {}
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x8825] = {1: "N"}  # GPS
        kwargs["exif"] = data
    image.save(out, fmt, **kwargs)
    return out.getvalue()


def upload(world, content: bytes, role="member", name="shot.png", **extra):
    body = {"file": SimpleUploadedFile(name, content), "captured_at": timezone.now().isoformat(), **extra}
    return world.api(role).post(URL, body, format="multipart")


def processed(response) -> Screenshot:
    assert response.status_code == 201, response.content
    screenshot_id = response.json()["id"]
    services.screenshot_process(screenshot_id=screenshot_id)
    assert services.screenshot_process(screenshot_id=screenshot_id) is None  # a second delivery: nothing
    return Screenshot.objects.get(pk=screenshot_id)
