from __future__ import annotations

from django.db import models
from django.utils import timezone

from common.models import uuid7


class AuditEntry(models.Model):
    """One change someone made (or one look at someone else's screenshot), as it happened.

    ``subject_user_id`` is whose data it was (``GET /audit-log?mine=true`` reads by it); the
    actor's name and email are copied, so the row still says who it was after they leave."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    at = models.DateTimeField(default=timezone.now)
    company_id = models.UUIDField(null=True)
    actor_id = models.UUIDField(null=True)  # null: the system (a task, a command)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    subject_user_id = models.UUIDField(null=True)
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64)
    changes = models.JSONField(default=dict, blank=True)  # {field: [before, after]}
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=128, blank=True)

    class Meta:
        ordering = ("-at", "-id")
        verbose_name = "audit log entry"
        verbose_name_plural = "audit log"
        indexes = [
            models.Index(fields=["company_id", "-at", "-id"], name="audit_company_at"),
            models.Index(fields=["subject_user_id", "-at", "-id"], name="audit_subject_at"),
            models.Index(fields=["company_id", "target_type", "target_id"], name="audit_target"),
            models.Index(fields=["company_id", "actor_id", "-at"], name="audit_actor_at"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.target_type} {self.target_id}"
