"""Change-log entries for screenshots, in the API's output shape (ARCHITECTURE: 8). Called by
the services inside their transaction; published after commit by the change log."""

from __future__ import annotations

from changelog import recording
from screenshots.api.serializers import ScreenshotSerializer
from screenshots.models import Screenshot


def screenshot_ready(screenshot: Screenshot) -> None:
    recording.record_change(
        company_id=screenshot.company_id,
        entity="screenshot",
        entity_id=screenshot.pk,
        action="upsert",
        event="screenshot.ready",
        payload=dict(ScreenshotSerializer(screenshot).data),  # links come from GET: they are short-lived
        user_id=screenshot.user_id,
    )
