"""Change-log entries for screenshots, in the API's output shape; the event itself is
``changelog.catalogue``'s. Called by the services inside their transaction."""

from __future__ import annotations

from typing import cast

from changelog import catalogue, recording
from screenshots.models import Screenshot


def screenshot_ready(screenshot: Screenshot) -> None:
    from screenshots.api.serializers import ScreenshotSerializer

    recording.record(
        catalogue.SCREENSHOT_READY,
        company_id=screenshot.company_id,
        entity_id=screenshot.pk,
        # No links: they are short-lived, a client GETs the screenshot for fresh ones.
        payload=cast(catalogue.ScreenshotPayload, dict(ScreenshotSerializer(screenshot).data)),
        user_id=screenshot.user_id,
    )
