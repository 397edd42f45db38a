"""What the batch push needs to stay idempotent: the keys of applied items, per user."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from common.models import uuid7


class SyncItemKey(models.Model):
    """An applied batch item's idempotency key, per user; kept at least 30 days."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No index of its own: the (user, key) constraint's index leads with it.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="sync_itemkey_user_key")]

    def __str__(self) -> str:
        return self.key
