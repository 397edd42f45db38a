"""Serializer fields every app's API shares."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers


class ClientUUIDField(serializers.UUIDField):
    """The id a client supplies for a row it creates (offline, then synced): a UUID string.

    DRF's UUIDField also takes a JSON number as ``UUID(int=...)``, and ``true`` with it (a Python
    bool is an int): a client's ``"id": 123`` or ``"id": true`` created a row under an id it never
    chose, and the schema (``format: uuid`` strings) said it could not. Refused here: 400 naming
    the field, as any malformed UUID."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


class ServerZoneDateTimeField(serializers.DateTimeField):
    """DRF's DateTimeField, taking the server's zone (settings.TIME_ZONE) for naive values and
    output without asking Django's per-request "current time zone" (a context-local read) for
    every value: nothing here activates another one, so the answer is the same, and a 1,000-item
    sync batch reads three datetimes per item. The zone is read when the field is made (a
    serializer instance makes its own copies of its fields), DRF's ``timezone`` attribute."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone = self.default_timezone()

    def default_timezone(self):
        return timezone.get_default_timezone() if settings.USE_TZ else None
