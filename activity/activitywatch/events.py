"""ActivityWatch events as aw-core's ``Event`` holds them: a timestamp (milliseconds, UTC), a
duration in seconds and a ``data`` object; rendered as ``Event.to_json_dict`` renders them, and
merged by aw-core's ``heartbeat_merge`` (aw_transform/heartbeats.py), ported line for line so
Stint's buckets read back what aw-server's would for the same stream."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils.dateparse import parse_datetime


class BadEvent(ValueError):
    """An event aw-server would refuse (400 ``{"message": ...}``)."""


# Far outside anything a watcher sends, but within what PostgreSQL and Python both hold: an
# event before 1970 or over a day ahead is a broken clock, refused rather than stored.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)
MAX_DURATION = 366 * 24 * 3600.0


@dataclass
class Event:
    timestamp: datetime
    duration: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def end(self) -> datetime:
        return self.timestamp + timedelta(seconds=self.duration)

    def to_json(self) -> dict[str, Any]:
        """``Event.to_json_dict``: ``id, timestamp, duration, data``; the timestamp in UTC with
        ``+00:00`` (Python's ``isoformat``), the duration a float of seconds."""
        return {
            "id": self.id,
            "timestamp": self.timestamp.astimezone(UTC).isoformat(),
            "duration": float(self.duration),
            "data": self.data,
        }


def parse_timestamp(value: Any, *, name: str = "timestamp") -> datetime:
    """An RFC 3339 timestamp, truncated to milliseconds as aw-core does; one without an offset
    is UTC (aw-core's rule, with its warning)."""
    if not isinstance(value, str):
        raise BadEvent(f"'{name}' must be an ISO 8601 date-time string")
    try:
        parsed = parse_datetime(value.strip())
    except ValueError:
        parsed = None
    if parsed is None:
        raise BadEvent(f"'{name}' is not an ISO 8601 date-time: {value[:64]!r}")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    return parsed.replace(microsecond=parsed.microsecond // 1000 * 1000)


def parse_event(raw: Any, *, now: datetime) -> Event:
    """One event of a request body (aw-core's event JSON schema: ``timestamp`` required,
    ``duration`` a number, ``data`` an object); ``BadEvent`` says what is wrong."""
    if not isinstance(raw, dict):
        raise BadEvent("An event must be a JSON object")
    unknown = set(raw) - {"id", "timestamp", "duration", "data"}
    if unknown:
        raise BadEvent(f"Unknown event field(s): {', '.join(sorted(unknown))}")
    if "timestamp" not in raw:
        raise BadEvent("'timestamp' is a required property")
    timestamp = parse_timestamp(raw["timestamp"])
    duration = raw.get("duration", 0)
    if duration is None:
        duration = 0
    if isinstance(duration, bool) or not isinstance(duration, int | float) or not math.isfinite(duration):
        raise BadEvent("'duration' must be a number of seconds")
    if duration < 0 or duration > MAX_DURATION:
        raise BadEvent(f"'duration' must be between 0 and {int(MAX_DURATION)} seconds")
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        raise BadEvent("'data' must be a JSON object")
    if timestamp < EARLIEST or timestamp > now + FUTURE_SLACK:
        raise BadEvent(f"'timestamp' is out of range: {raw['timestamp']}")
    event_id = raw.get("id")
    if event_id is not None and (isinstance(event_id, bool) or not isinstance(event_id, int)):
        raise BadEvent("'id' must be an integer")
    return Event(timestamp=timestamp, duration=float(duration), data=data, id=event_id)


def heartbeat_merge(last: Event, heartbeat: Event, pulsetime: float) -> Event | None:
    """aw-core's ``heartbeat_merge``: when ``heartbeat`` has the same data and starts between
    the start of ``last`` and ``pulsetime`` seconds after its end, ``last`` grows to cover it
    (never shrinks: the max of both ends) and is returned; else None (a new event)."""
    if last.data != heartbeat.data:
        return None
    pulse_end = last.timestamp + timedelta(seconds=last.duration) + timedelta(seconds=pulsetime)
    if not (last.timestamp <= heartbeat.timestamp <= pulse_end):
        return None
    if last.duration < 0:  # aw-core refuses to merge into a negative duration (its warning)
        return None
    new_duration = (heartbeat.timestamp - last.timestamp) + timedelta(seconds=heartbeat.duration)
    # timedelta arithmetic, as aw-core's, so float rounding ends where aw-server's does
    last.duration = max(timedelta(seconds=last.duration), new_duration).total_seconds()
    return last
