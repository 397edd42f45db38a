from __future__ import annotations

import uuid
from typing import ClassVar

import uuid_utils.compat
from django.db import models


def uuid7() -> uuid.UUID:
    """Time-ordered UUIDv7, generated in Python (clients may also supply their own UUIDs)."""
    return uuid_utils.compat.uuid7()


class BaseModel(models.Model):
    """Every table: UUIDv7 key, created/updated timestamps, a default ordering."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering: ClassVar[tuple[str, ...]] = ("-created_at", "-id")


class IdempotencyRecord(BaseModel):
    """A POST's stored outcome under an ``Idempotency-Key``, per user, for 24 hours."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)  # sha256 of method, path, query and body
    status_code = models.PositiveSmallIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    body = models.TextField(blank=True)

    class Meta(BaseModel.Meta):
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="common_idempotency_user_key")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status_code}"
