"""The tracker bodies (``POST /sync/heartbeats``, ``POST /sync/activity``): every field, limit
and error message in one place (SPEC: Sync; docs/activity.md).

One schema, three readers: the validator that both heartbeat paths run (the Django view and
the lean path of ``activity.intake`` call ``HEARTBEAT_BATCH.parse``), the OpenAPI schema
(``serializer_for`` builds the documenting DRF serializers from the same specs, field by field,
each time the schema is generated), and the tests (``activity/tests/test_schema.py`` walks
``limits()``). Change a limit here and all three follow.

Plain Python, not DRF serializers and not msgspec. A serializer per item cost more than the
rest of a heartbeat request. msgspec would decode and check types and bounds in C, but the API's
errors are pinned (status, code, attr, message: docs/api-conventions.md) and its messages and
paths are not ours, and half the rules are outside its vocabulary (blank or NUL text, a UTC
offset, an age that is a setting, lone surrogates cleaned first by ``common.parsers``): it would
have been msgspec plus a second pass in Python, two validators again. This one walks the body
once, in field order, and the first bad value refuses the batch with a 400 naming it."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from rest_framework import serializers

from common.exceptions import InvalidInput, TooLargeError

# --------------------------------------------------------------------------- field specs


def invalid(detail: str, attr: str) -> InvalidInput:
    return InvalidInput(detail, code="invalid", attr=attr)


class Bad(Exception):
    """A value a spec refuses. It learns where it is on the way out (each enclosing object and
    list adds its key), so no path string is built for a value that is fine: this walk runs
    for every heartbeat."""

    def __init__(self, detail: str, code: str = "invalid"):
        self.detail, self.code = detail, code
        self.path: list[str] = []

    def within(self, key: str | int) -> Bad:
        self.path.append(str(key))
        return self


class _Missing:
    """A field the body does not have (``null`` is a value: some fields tell them apart)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class Text:
    max_length: int
    required: bool = False  # required text must not be blank; optional text may be absent or null ("")

    def parse(self, value: Any, now: datetime) -> str:
        if (value is None or value is MISSING) and not self.required:
            return ""
        if not isinstance(value, str):
            raise Bad("Must be a string.")
        if self.required and not value.strip():
            raise Bad("Must not be blank.")
        if len(value) > self.max_length:
            raise Bad(f"At most {self.max_length} characters.")
        if "\x00" in value:  # PostgreSQL's text refuses it
            raise Bad("Must not contain NUL characters.")
        return value

    def field(self) -> serializers.Field:
        return serializers.CharField(max_length=self.max_length, required=self.required, allow_blank=not self.required)


@dataclass
class Number:
    low: int
    high: int
    whole: bool = False  # an integer, not a float (bool is neither)
    # Absent: this value (a callable reads a setting per request); None: required.
    default: int | Callable[[], float] | None = None
    null_is_default: bool = False  # null means "the default" too (else null is not a number)
    help_text: str | None = None

    def parse(self, value: Any, now: datetime) -> float | int:
        if self.default is not None and (value is MISSING or (value is None and self.null_is_default)):
            return self.default() if callable(self.default) else self.default
        if self.whole and (isinstance(value, bool) or not isinstance(value, int)):
            raise Bad("Must be a whole number.")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise Bad("Must be a number.")
        if not self.low <= value <= self.high:
            raise Bad(f"Must be between {self.low:g} and {self.high:g}.")
        return int(value) if self.whole else float(value)

    def field(self) -> serializers.Field:
        kind = serializers.IntegerField if self.whole else serializers.FloatField
        options: dict[str, Any] = {"min_value": self.low, "max_value": self.high}
        if isinstance(self.default, int):
            options["default"] = self.default
        elif self.default is not None:
            options["required"] = False
        if self.help_text:
            options["help_text"] = self.help_text
        return kind(**options)


# The oldest moment a Timestamp takes, where a caller widened it (``accepting_since``).
_oldest: ContextVar[datetime | None] = ContextVar("stint_heartbeat_oldest", default=None)


@contextmanager
def accepting_since(oldest: datetime) -> Iterator[None]:
    """Within the block, timestamps back to ``oldest`` are taken instead of
    ``HEARTBEAT_MAX_AGE_DAYS``: an import of years of history (imports/activity_rows.py). A live
    tracker never gets this; the merge creates the older months' partitions it needs."""
    token = _oldest.set(oldest)
    try:
        yield
    finally:
        _oldest.reset(token)


@dataclass
class Timestamp:
    """RFC 3339 with an offset, at most ``max_ahead`` in the future (clocks drift) and at most
    ``HEARTBEAT_MAX_AGE_DAYS`` old (a tracker offline longer resends nothing useful; an import
    widens it, ``accepting_since``)."""

    max_ahead: timedelta = timedelta(hours=1)
    help_text: str | None = None

    def parse(self, value: Any, now: datetime) -> datetime:
        if not isinstance(value, str) or len(value) > 40:
            raise Bad("Must be an RFC 3339 timestamp.")
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise Bad("Must be an RFC 3339 timestamp.") from None
        if moment.tzinfo is None:
            raise Bad("Must carry a UTC offset (Z or +hh:mm).")
        if moment > now + self.max_ahead:
            raise Bad("Must not be more than an hour in the future.")
        oldest = _oldest.get()
        if oldest is not None:
            if moment < oldest:
                raise Bad(f"Must not be before {oldest:%Y-%m-%d}.")
        elif moment < now - timedelta(days=settings.HEARTBEAT_MAX_AGE_DAYS):
            raise Bad(f"Must not be older than {settings.HEARTBEAT_MAX_AGE_DAYS} days.")
        return moment

    def field(self) -> serializers.Field:
        return serializers.DateTimeField(help_text=self.help_text or None)


@dataclass
class Uuid:
    """Optional; null or absent is None."""

    def parse(self, value: Any, now: datetime) -> uuid.UUID | None:
        if value is None or value is MISSING:
            return None
        try:
            if isinstance(value, str):
                return uuid.UUID(value)
        except ValueError:
            pass
        raise Bad("Must be a UUID.")

    def field(self) -> serializers.Field:
        return serializers.UUIDField(required=False, allow_null=True)


@dataclass
class Items:
    """A list of ``item`` objects; more than ``max_items`` is a 413 (``Obj.check_size``), checked
    before anything else about the request."""

    item: Obj
    max_items: int

    def parse(self, value: Any, now: datetime) -> list[dict]:
        if not isinstance(value, list):
            raise Bad("Must be a list.")
        parse, out = self.item.walk, []
        for n, entry in enumerate(value):
            try:
                out.append(parse(entry, now))
            except Bad as exc:
                raise exc.within(n) from None
        return out

    def field(self) -> serializers.Field:
        return serializer_for(self.item)(many=True, max_length=self.max_items)  # type: ignore[call-arg]  # many=True makes a ListSerializer, which takes it


Spec = Text | Number | Timestamp | Uuid | Items


@dataclass
class Obj:
    """A JSON object of ``fields``, validated in this order (the first bad one is named). An
    unknown field is a 400 naming it, never silently ignored (SPEC: Conventions; the code and
    message of ``common.serializers.InputSerializer``)."""

    name: str  # the OpenAPI component (``<name>Request``)
    fields: dict[str, Spec]
    doc_order: tuple[str, ...] = ()  # the OpenAPI property order, when it differs
    _serializer: type[serializers.Serializer] | None = field(default=None, repr=False, compare=False)

    def parse(self, data: Any, *, now: datetime) -> dict[str, Any]:
        """The body, validated; InvalidInput (400) naming the first bad value (``heartbeats.3.title``)."""
        if not isinstance(data, dict):
            raise invalid("Expected a JSON object.", "non_field_errors")
        try:
            return self.walk(data, now)
        except Bad as exc:
            raise InvalidInput(exc.detail, code=exc.code, attr=".".join(reversed(exc.path))) from None

    def walk(self, data: Any, now: datetime) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise Bad("Must be an object.")
        fields = self.fields
        if not data.keys() <= fields.keys():
            unknown = min(str(key) for key in data if key not in fields)
            raise Bad("Unknown or read-only field: remove it.", code="unknown_field").within(unknown)
        out = {}
        for name, spec in fields.items():
            try:
                out[name] = spec.parse(data.get(name, MISSING), now)
            except Bad as exc:
                raise exc.within(name) from None
        return out

    @property
    def items(self) -> tuple[str, Items]:
        """The one list field of a batch body (``heartbeats``, ``samples``)."""
        [(name, spec)] = [(name, spec) for name, spec in self.fields.items() if isinstance(spec, Items)]
        return name, spec

    def check_size(self, data: Any) -> None:
        """413 for a batch of more than ``max_items``, before the request is looked at further
        (nothing stored); anything else about the body is ``parse``'s."""
        name, spec = self.items
        found = data.get(name) if isinstance(data, dict) else None
        if isinstance(found, list) and len(found) > spec.max_items:
            raise TooLargeError(f"At most {spec.max_items} {name} per request; none was stored.")


def serializer_for(obj: Obj) -> type[serializers.Serializer]:
    """A DRF serializer documenting ``obj`` in the OpenAPI schema (it validates nothing: the
    views call ``obj.parse``). Its fields are built from the specs whenever they are asked for,
    so the schema always shows the limits ``parse`` applies."""
    if obj._serializer is None:

        def get_fields(self) -> dict[str, serializers.Field]:
            order = obj.doc_order or tuple(obj.fields)
            return {name: obj.fields[name].field() for name in order}

        obj._serializer = type(f"{obj.name}Serializer", (serializers.Serializer,), {"get_fields": get_fields})
    return obj._serializer


# --------------------------------------------------------------------------- the bodies

MAX_PULSETIME = 3600  # also how far back the merge looks for an interval to extend


def _default_pulsetime() -> float:
    return float(settings.HEARTBEAT_PULSETIME_SECONDS)


HEARTBEAT = Obj(
    "Heartbeat",
    {
        # A project id is checked first: the one rule that needs the database (the view's).
        "project_id": Uuid(),
        "timestamp": Timestamp(),
        "duration": Number(low=0, high=24 * 3600),
        "app": Text(max_length=255, required=True),
        "title": Text(max_length=1000),
        "url": Text(max_length=2048),
    },
    doc_order=("timestamp", "duration", "app", "title", "url", "project_id"),
)
HEARTBEAT_BATCH = Obj(
    "HeartbeatBatch",
    {
        "device_id": Text(max_length=100, required=True),
        "pulsetime": Number(low=0, high=MAX_PULSETIME, default=_default_pulsetime, null_is_default=True),
        "heartbeats": Items(HEARTBEAT, max_items=1000),
    },
)

MAX_COUNT = 1_000_000  # key presses or mouse events in one minute: far beyond any human
ACTIVITY_SAMPLE = Obj(
    "ActivitySample",
    {
        "minute": Timestamp(help_text="Truncated to the minute."),
        "keyboard": Number(low=0, high=MAX_COUNT, whole=True, default=0),
        "mouse": Number(low=0, high=MAX_COUNT, whole=True, default=0),
        "active_seconds": Number(low=0, high=60, whole=True, default=0),
    },
)
ACTIVITY_BATCH = Obj(
    "ActivityBatch",
    {"device_id": Text(max_length=100, required=True), "samples": Items(ACTIVITY_SAMPLE, max_items=1000)},
)


def limits(obj: Obj, at: str = "") -> list[tuple[str, Spec]]:
    """Every bounded field of ``obj`` as ``(path, spec)``, nested lists as ``<name>.0.<field>``
    (the tests walk these through both paths and the OpenAPI schema)."""
    found: list[tuple[str, Spec]] = []
    for name, spec in obj.fields.items():
        path = f"{at}.{name}" if at else name
        if isinstance(spec, Items):
            found.append((path, spec))
            found.extend(limits(spec.item, f"{path}.0"))
        elif isinstance(spec, Text | Number):
            found.append((path, spec))
    return found
