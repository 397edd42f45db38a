from __future__ import annotations

import uuid

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
        ordering = ("-created_at", "-id")
