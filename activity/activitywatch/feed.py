"""What an ActivityWatch bucket says, fed into Stint's own pipeline (SPEC: "Bring your own
tracker": the same privacy rules, merge and reports as ``/sync/heartbeats``).

- ``currentwindow`` (``{app, title}``, ``url`` on macOS for browsers) and ``web.tab.current``
  (``{url, title}``) become heartbeats of the ``/sync/heartbeats`` intake: the one schema
  (``heartbeats.batch_parse``), the inbox rows (``heartbeats.inbox_rows``), the inbox and the
  merge trigger; the merge and the apps report do the rest.
- ``afkstatus`` stays in the bucket: the apps report reads away time from it
  (``selectors.afk_intervals``).
- ``app.editor.activity`` (``{file, project, language}``) feeds coding time through
  ``activity.coding.coding_heartbeats_store``, WakaTime's intake's one write path: an event
  is an editor heartbeat at its start (and one at its end when it lasts), the editor the
  bucket's client; a resent event is stored once there too.

Privacy rules run on the event's ``data`` (its ``app``, ``title`` and ``url``, whatever the
bucket type; an editor's ``file`` stands for the title, as a window title shows the file)
before anything is stored, in the bucket or the inbox: a dropped event is stored nowhere, a
redacted field is ``[redacted]`` in both."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from activity import heartbeats
from activity.coding import CodingItem, coding_heartbeats_store
from activity.privacy import CompiledRule, apply_privacy
from activity.schema import MAX_PULSETIME
from common.exceptions import InvalidInput

from .events import Event

WINDOW = "currentwindow"
WEB_TAB = "web.tab.current"
AFK = "afkstatus"
EDITOR = "app.editor.activity"
PRIVACY_FIELDS = ("app", "title", "url")
_LIMITS = {"app": 255, "title": 1000, "url": 2048}


def _fields(bucket_type: str) -> dict[str, str]:
    """The privacy rules' fields (app, title, url) as the event's ``data`` keys."""
    return {"app": "app", "title": "file" if bucket_type == EDITOR else "title", "url": "url"}


def private(data: dict[str, Any], rules: Sequence[CompiledRule], bucket_type: str = "") -> dict[str, Any] | None:
    """``data`` after the company's privacy rules (``activity.privacy.apply_privacy``, the one
    implementation): None when a drop rule matches; else with each matching field that the
    event has replaced by ``[redacted]``. Fields the event lacks are searched as empty text,
    as a heartbeat without a URL is."""
    if not rules:
        return data
    keys = _fields(bucket_type)
    probe = {name: data[key] if isinstance(data.get(key), str) else "" for name, key in keys.items()}
    kept = apply_privacy(probe, list(rules))
    if kept is None:
        return None
    if kept is probe:
        return data
    changed = {
        key: kept[name] for name, key in keys.items() if isinstance(data.get(key), str) and kept[name] != data[key]
    }
    return {**data, **changed}


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name)
    return value.replace("\x00", "")[: _LIMITS[name]] if isinstance(value, str) else ""


def _browser(bucket_id: str, client: str) -> str:
    """The app a browser tab's time counts under: aw-watcher-web names its buckets
    ``aw-watcher-web-<browser>``."""
    name = bucket_id.removeprefix("aw-watcher-web-") if bucket_id.startswith("aw-watcher-web-") else client
    return (name or "browser")[:255].capitalize()


def as_heartbeat(*, bucket_type: str, bucket_id: str, client: str, event: Event) -> tuple[str, dict] | None:
    """``(device suffix, heartbeat)`` for the ``/sync/heartbeats`` schema when the bucket type
    feeds app usage, else None. A browser's tabs are a device stream of their own (the window
    watcher of the same machine reports the browser's window at the same moments, and one
    device's intervals never overlap); the reports count each moment once per user."""
    if bucket_type == WINDOW:
        app, suffix = _text(event.data, "app"), ""
    elif bucket_type == WEB_TAB:
        app, suffix = _browser(bucket_id, client), f"/{bucket_id}"
    else:
        return None
    if not app.strip():
        return None
    heartbeat = {
        "timestamp": event.timestamp.isoformat(),
        "duration": min(event.duration, 24 * 3600),
        "app": app,
        "title": _text(event.data, "title"),
        "url": _text(event.data, "url"),
    }
    return suffix, heartbeat


def inbox_rows(
    *,
    company_id: UUID,
    user_id: UUID,
    hostname: str,
    bucket_type: str,
    bucket_id: str,
    client: str,
    events: Sequence[Event],
    pulsetime: float,
    now: datetime,
) -> list[tuple]:
    """Inbox rows (``heartbeats.INBOX_COLUMNS``) for the events (privacy already applied) that
    feed app usage. An event the ``/sync/heartbeats`` schema refuses (older than
    ``HEARTBEAT_MAX_AGE_DAYS``, an hour ahead) is kept in its bucket but feeds no report, as
    a heartbeat would be refused there."""
    rows: list[tuple] = []
    for event in events:
        mapped = as_heartbeat(bucket_type=bucket_type, bucket_id=bucket_id, client=client, event=event)
        if mapped is None:
            continue
        suffix, heartbeat = mapped
        device_id = ((hostname.strip() or "unknown")[: 100 - len(suffix)] + suffix)[:100]
        body = {"device_id": device_id, "pulsetime": min(pulsetime, MAX_PULSETIME), "heartbeats": [heartbeat]}
        try:
            batch = heartbeats.batch_parse(body, now=now)
        except InvalidInput:
            continue
        rows.extend(heartbeats.inbox_rows(batch, company_id=company_id, user_id=user_id, rules=[], now=now))
    return rows


# WakaTime's bounds (SPEC): older or further ahead, an editor heartbeat feeds no coding time.
CODING_MAX_AGE = timedelta(days=180)
CODING_MAX_AHEAD = timedelta(hours=1)


def _clip(data: dict[str, Any], key: str, length: int) -> str:
    value = data.get(key)
    return value[:length] if isinstance(value, str) else ""


def coding_items(*, events: Sequence[Event], client: str, now: datetime) -> list[CodingItem]:
    """Editor heartbeats for ``app.editor.activity`` events: one at each event's start and,
    when it lasts, one at its end (coding time joins consecutive heartbeats, so the event's
    whole span counts)."""
    items = []
    for event in events:
        entity = _clip(event.data, "file", 2048)
        if not entity:
            continue
        project, language = _clip(event.data, "project", 255), _clip(event.data, "language", 100)
        for moment in {event.timestamp, event.end()}:
            if now - CODING_MAX_AGE <= moment <= now + CODING_MAX_AHEAD:
                items.append(
                    CodingItem(time=moment, entity=entity, project=project, language=language, editor=client[:100])
                )
    return sorted(items, key=lambda item: item.time)


def store_coding(
    *, company_id: UUID, user_id: UUID, hostname: str, client: str, events: Sequence[Event], now: datetime
) -> None:
    items = coding_items(events=events, client=client, now=now)
    if items:
        device_id = (hostname.strip() or "unknown")[:100]
        coding_heartbeats_store(
            company_id=company_id, user_id=user_id, device_id=device_id, editor=client[:100], items=items
        )
