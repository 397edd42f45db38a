"""Report exports: asked for over the API, built by a Celery task, downloaded through a short
signed link, gone after EXPORT_RETENTION_DAYS."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.jobs import JobStatus
from common.models import BaseModel
from organizations.models import Company


class ExportReport(models.TextChoices):
    TIME_ENTRIES = "time_entries"
    TEAM = "team"


class ExportFormat(models.TextChoices):
    CSV = "csv"
    XLSX = "xlsx"


ExportStatus = JobStatus  # the shared lifecycle (common/jobs.py)


class ReportExport(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    report = models.CharField(max_length=16, choices=ExportReport.choices)
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    params = models.JSONField(default=dict)  # from, to, tz, filters: what the rows were chosen by
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    file_key = models.CharField(max_length=255, blank=True)  # in the default storage
    size_bytes = models.BigIntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        indexes = [
            models.Index(fields=["company", "requested_by", "-created_at"], name="reports_export_requester"),
            models.Index(fields=["expires_at"], name="reports_export_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.report}.{self.format} {self.status}"
