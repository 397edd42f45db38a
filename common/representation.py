"""A serializer's output built by PostgreSQL, for payloads written where the rows are.

DRF renders each field of each instance through ``get_attribute`` and ``to_representation``;
for the change-log payloads of a sync batch or an import (thousands of time entries) that was
about 60 µs per entry. ``sql_representation(SerializerClass, alias)`` reads the serializer's own
declared fields once and builds the same JSON object in SQL for the common simple types (UUID,
date-time, text, integer, boolean, a text choice); any other field raises, so the serializer
stays the one definition of the shape (``common/tests/test_representation.py`` holds the two
equal)."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from rest_framework import ISO_8601, fields, serializers
from rest_framework.settings import api_settings


def utc_iso(value: datetime) -> str:
    """A moment as the API writes it: ISO 8601 in UTC with ``Z`` (DRF's output with UTC as the
    current zone: no fraction for whole seconds, else six digits). The one formatter for
    timestamps that payloads and event envelopes build by hand."""
    if value.tzinfo is None:
        raise ValueError("utc_iso needs an aware datetime")
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _sql_value(field: fields.Field, column: str) -> str | None:
    """The SQL for a column rendered as ``field`` renders it, for the exact DRF field types
    whose output PostgreSQL gives as it is; None for any other."""
    kind = type(field)
    if kind is fields.UUIDField and getattr(field, "uuid_format", None) == "hex_verbose":
        return f"{column}::text"
    if (
        kind is fields.DateTimeField
        and getattr(field, "format", api_settings.DATETIME_FORMAT) == ISO_8601
        and getattr(field, "timezone", None) is None  # else DRF converts to that zone
    ):
        return _sql_iso(column)
    if kind in (fields.CharField, fields.IntegerField, fields.BooleanField) or (
        kind is fields.ChoiceField and all(isinstance(key, str) for key in field.choices)  # type: ignore[attr-defined]
    ):
        return column  # text, integer, boolean, a text choice: JSON's own types
    return None


def _sql_iso(column: str) -> str:
    """DRF's ISO 8601 output in SQL, in the zone every ``%s`` of it names: ISO 8601, six fraction digits
    only when there is a fraction, ``Z`` for a zero offset, else ``+HH:MM``/``-HH:MM``."""
    local = f"({column} AT TIME ZONE %s)"
    offset = f"({local} - ({column} AT TIME ZONE 'UTC'))"
    return (
        f"""(to_char({local}, 'YYYY-MM-DD"T"HH24:MI:SS')"""
        f" || CASE WHEN date_trunc('second', {column}) = {column} THEN '' ELSE to_char({local}, '.US') END"
        f" || CASE WHEN {offset} = interval '0' THEN 'Z' WHEN {offset} > interval '0'"
        f" THEN to_char({offset}, '+HH24:MI') ELSE to_char(-{offset}, '-HH24:MI') END)"
    )


@functools.cache
def _sql_plan(serializer_class: type[serializers.ModelSerializer], alias: str) -> str:
    from django.db import connection
    from django.db.models import Field, Model

    model: type[Model] = serializer_class.Meta.model
    parts: list[str] = []
    for name, field in serializer_class().fields.items():
        if field.write_only:
            continue
        if len(field.source_attrs) != 1 or field.source == "*":
            raise TypeError(f"{serializer_class.__name__}.{name}: only plain columns are built in SQL")
        model_field = model._meta.get_field(field.source_attrs[0])
        if not isinstance(model_field, Field) or model_field.column is None:
            raise TypeError(f"{serializer_class.__name__}.{name}: not a column of {model.__name__}")
        value = _sql_value(field, f"{alias}.{connection.ops.quote_name(model_field.column)}")
        if value is None:
            raise TypeError(f"{serializer_class.__name__}.{name}: no SQL for a {type(field).__name__}")
        parts.append(f"'{name}', {value}")
    return f"jsonb_build_object({', '.join(parts)})"


def sql_representation(serializer_class: type[serializers.ModelSerializer], alias: str) -> tuple[str, list[str]]:
    """``(sql, params)``: a ``jsonb_build_object`` over the columns of the row ``alias`` names,
    equal to ``serializer_class(row).data`` (in the current zone, as DRF renders it), for
    payloads built where the rows are (a sync batch's or an import's change log). Its fields
    must be plain columns of the simple types; anything else raises TypeError."""
    from django.utils import timezone

    sql = _sql_plan(serializer_class, alias)
    return sql, [str(timezone.get_current_timezone())] * sql.count("%s")
