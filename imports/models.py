"""Imports (SPEC "Imports", docs/imports.md): a job per uploaded file, and the fingerprints
that make importing the same rows twice create nothing."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import BaseModel
from organizations.models import Company


class ImportStatus(models.TextChoices):
    """The exports' lifecycle (SPEC names RUNNING where exports say PROCESSING), plus CANCELLED."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    READY = "READY"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


FINISHED = (ImportStatus.READY, ImportStatus.FAILED, ImportStatus.CANCELLED)


def empty_summary() -> dict:
    return {
        "created": {"clients": 0, "projects": 0, "tasks": 0, "entries": 0, "app_usage": 0, "coding_heartbeats": 0},
        "duplicates": 0,
        "errors": [],
        "error_count": 0,
    }


class ImportJob(BaseModel):
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    source = models.CharField(max_length=32)
    dry_run = models.BooleanField(default=False)
    # Unknown emails become invited members (docs/imports.md, "Inviting unknown people").
    invite_unknown = models.BooleanField(default=False)
    timezone = models.CharField(max_length=64)  # of times written without an offset
    date_format = models.CharField(max_length=16, blank=True)
    file_key = models.CharField(max_length=255, blank=True)  # default storage; emptied once deleted
    file_name = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(default=0)
    status = models.CharField(max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    # Rows read (done) of the file's rows (total: estimated from its lines until the end).
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    summary = models.JSONField(default=empty_summary)
    # The last row whose chunk committed (a real run): a redelivered task resumes after it.
    committed_row = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(BaseModel.Meta):
        indexes = [models.Index(fields=["company", "requested_by", "-created_at"], name="imports_job_requester")]

    def __str__(self) -> str:
        return f"{self.source} {'dry run ' if self.dry_run else ''}{self.status}"


class ImportFingerprint(models.Model):
    """A row once imported into the company (docs/imports.md, "Duplicates"): a 16-byte hash of
    the normalised row, or of (source, source_id). Lean on purpose (no UUID, no timestamps):
    a million-row import writes a million of these with COPY."""

    id = models.BigAutoField(primary_key=True)
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="+", db_index=False)
    fingerprint = models.BinaryField(max_length=16)
    entry_id = models.UUIDField(null=True)  # the entry it created (no key: entries may be deleted)
    job_id = models.UUIDField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "fingerprint"], name="imports_fingerprint_unique"),
        ]

    def __str__(self) -> str:
        return bytes(self.fingerprint).hex()
