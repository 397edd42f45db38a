"""Screenshots: uploaded by trackers, processed by a Celery task (decode, strip metadata, blur,
thumbnail), read through short-lived signed links only (docs/screenshots.md)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.jobs import JobStatus
from common.models import BaseModel
from organizations.models import Company

ScreenshotStatus = JobStatus  # the shared lifecycle (common/jobs.py)


class Screenshot(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    time_entry = models.ForeignKey(
        "tracking.TimeEntry", on_delete=models.SET_NULL, null=True, blank=True, related_name="screenshots"
    )
    captured_at = models.DateTimeField()
    blur_level = models.PositiveSmallIntegerField(default=0)  # the effective level when uploaded
    status = models.CharField(max_length=16, choices=ScreenshotStatus.choices, default=ScreenshotStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    original_key = models.CharField(max_length=255, blank=True)  # deleted once blurred
    image_key = models.CharField(max_length=255, blank=True)
    thumbnail_key = models.CharField(max_length=255, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The presigned flow: what the client declared, checked when it confirms the upload.
    declared_type = models.CharField(max_length=32, blank=True)
    declared_bytes = models.PositiveIntegerField(null=True, blank=True)
    upload_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        ordering = ("-captured_at", "-id")
        indexes = [
            models.Index(fields=["company", "user", "-captured_at"], name="screenshots_user_captured"),
            models.Index(fields=["company", "-captured_at"], name="screenshots_company_captured"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(blur_level__lte=3), name="screenshots_blur_0_3"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.captured_at:%Y-%m-%d %H:%M} {self.status}"
