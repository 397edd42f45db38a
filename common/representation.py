"""A serializer's output for many plain rows, without DRF's per-field machinery.

DRF renders each field of each instance through ``get_attribute`` and ``to_representation``;
for the sync batch's change-log payloads (1,000 time entries) that was about 60 µs per entry.
``fast_representation(SerializerClass)`` reads the serializer's own declared fields once and
renders the common simple types (UUID, date-time, text, integer, boolean) directly; any other
field, or a dotted source, goes through the field itself. The output equals the serializer's
(``common/tests/test_representation.py`` holds it to that), so the serializer stays the one
definition of the shape."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from rest_framework import ISO_8601, fields, serializers
from rest_framework.settings import api_settings


def utc_iso(value: datetime) -> str:
    """A moment as the API writes it: ISO 8601 in UTC with ``Z`` (DRF's output with UTC as the
    current zone: no fraction for whole seconds, else six digits). The one formatter for
    timestamps that payloads and event envelopes build by hand."""
    if value.tzinfo is None:
        raise ValueError("utc_iso needs an aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _iso(value, tz) -> str:
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _converter(field: fields.Field) -> Callable[[Any, Any], Any] | None:
    """A fast ``(value, tz) -> output`` for the exact DRF field types whose output we know."""
    kind = type(field)
    if type(field) is fields.UUIDField and field.uuid_format == "hex_verbose":
        return lambda value, tz: str(value)
    if (
        kind is fields.DateTimeField
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        and getattr(field, "timezone", None) is None  # else DRF converts to that zone
    ):
        return _iso
    if kind is fields.CharField:
        return lambda value, tz: str(value)
    if kind is fields.IntegerField:
        return lambda value, tz: int(value)
    if kind is fields.BooleanField:
        return lambda value, tz: field.to_representation(value)
    return None


@functools.cache
def _plan(serializer_class: type[serializers.Serializer]) -> list[tuple[str, str | None, Any, fields.Field]]:
    plan = []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        simple = len(field.source_attrs) == 1 and field.source != "*"
        plan.append((name, field.source_attrs[0] if simple else None, _converter(field), field))
    return plan


def fast_representation(serializer_class: type[serializers.Serializer]) -> Callable[[list], list[dict]]:
    """``render(instances) -> [dict, ...]``, equal to ``serializer_class(instances, many=True).data``."""
    plan = _plan(serializer_class)

    def render(instances: list) -> list[dict]:
        from django.utils import timezone

        tz = timezone.get_current_timezone()
        out = []
        for instance in instances:
            row: dict[str, Any] = {}
            for name, attr, convert, field in plan:
                value = getattr(instance, attr) if attr is not None else field.get_attribute(instance)
                if value is None:
                    row[name] = None
                elif convert is not None:
                    row[name] = convert(value, tz)
                else:
                    row[name] = field.to_representation(value)
            out.append(row)
        return out

    return render
