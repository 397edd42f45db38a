"""WakaTime's data dump (Settings → Account → Export: ``{"user", "range", "days": [{"date",
"heartbeats": [...]}]}``), also a bare list of heartbeats or ``{"data": [...]}`` as its API's
``GET /users/current/heartbeats`` answers. Heartbeats are numbered from 1 in file order.

Each heartbeat is read by the live intake's rules (``activity.wakatime.heartbeat_parse``: the
same fields, lengths and types), except its age: a dump reaches years back, so anything from
2000-01-01 to an hour ahead is read. The device is the heartbeat's ``machine_name_id`` (the
dump names machines by id; wakapi's ``machine``), the editor its ``user_agent`` when it has
one. Files name nobody: every heartbeat is the importing user's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from activity.wakatime import ItemError, heartbeat_parse
from imports.sources.base import CodingRow, Item, ParseOptions, RowError
from imports.sources.values import Opened, json_items
from tracking.services.rules import EARLIEST_ENTRY_TIME

# A heartbeat without a machine (the API's answer names none) comes from this device.
UNKNOWN_MACHINE = "wakatime-import"
_LISTS = frozenset({"", "days", "data"})


def parse(stream: BinaryIO, options: ParseOptions) -> Iterator[Item]:
    now = datetime.now(UTC)
    number, shaped = 0, False
    prefixes = {"days.item.heartbeats.item", "data.item", "item"}
    for found in json_items(stream, prefixes, containers=_LISTS):
        if isinstance(found, RowError):
            yield found
            return
        prefix, value = found
        if isinstance(value, Opened):
            shaped = shaped or value.kind == "list"
            continue
        number += 1
        yield _heartbeat(number, value, now)
    if not shaped:
        yield RowError(row=1, field="days", detail="not a WakaTime data dump: an object with days, or a list")


def _heartbeat(number: int, raw: Any, now: datetime) -> Item:
    if not isinstance(raw, dict):
        return RowError(row=number, field="", detail="not a heartbeat (an object with entity, type and time)")
    try:
        item = heartbeat_parse(raw, now=now, oldest=EARLIEST_ENTRY_TIME)
    except ItemError as exc:
        field, _, detail = str(exc).partition(": ")  # the intake's messages start with the field
        return RowError(row=number, field=field, detail=detail)
    machine = raw.get("machine_name_id") or raw.get("machine")
    if not isinstance(machine, str) or not machine.strip():
        machine = UNKNOWN_MACHINE
    return CodingRow(row=number, item=item, machine=machine.strip()[:100])
