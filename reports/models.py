"""Report exports: asked for over the API, built by a Celery task, downloaded through a short
signed link, gone after EXPORT_RETENTION_DAYS."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import models

from common.jobs import JobStatus
from common.models import BaseModel
from organizations.models import Company


class ExportReport(models.TextChoices):
    TIME_ENTRIES = "time_entries"
    TEAM = "team"
    # The company as stint_json (clients, projects, tasks, members, entries): imports back
    # (imports/sources/stint_json.py). JSON only, and JSON is only this.
    FULL = "full"


class ExportFormat(models.TextChoices):
    CSV = "csv"
    XLSX = "xlsx"
    JSON = "json"


ExportStatus = JobStatus  # the shared lifecycle (common/jobs.py)


class ReportApprovalStatus(models.TextChoices):
    """A report row's approval status: a timesheet's (tracking.models.TimesheetStatus), or
    MIXED for a row over several weeks whose statuses differ (docs/reports.md)."""

    OPEN = "OPEN"
    SUBMITTED = "SUBMITTED"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    MIXED = "MIXED"


@dataclass(frozen=True, kw_only=True)
class ExportFilters:
    """What an export's rows are narrowed to: time_entries by ``user`` and ``project``, team by
    ``team`` (None: not narrowed). Kept in ``ReportExport.params["filters"]`` as id strings."""

    user: UUID | None = None
    project: UUID | None = None
    team: UUID | None = None

    def as_params(self) -> dict[str, str]:
        return {name: str(value) for name, value in asdict(self).items() if value is not None}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ExportFilters:
        return cls(**{name: UUID(value) for name, value in params.items() if value})


class ReportExport(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    report = models.CharField(max_length=16, choices=ExportReport.choices)
    format = models.CharField(max_length=8, choices=ExportFormat.choices)
    params = models.JSONField(default=dict)  # from, to (None: a full export of all time), tz, filters
    status = models.CharField(max_length=16, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    file_key = models.CharField(max_length=255, blank=True)  # in the default storage
    size_bytes = models.BigIntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    @property
    def filters(self) -> ExportFilters:
        return ExportFilters.from_params(self.params.get("filters") or {})

    class Meta(BaseModel.Meta):
        indexes = [
            models.Index(fields=["company", "requested_by", "-created_at"], name="reports_export_requester"),
            models.Index(fields=["expires_at"], name="reports_export_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.report}.{self.format} {self.status}"
