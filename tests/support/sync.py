"""Sync batch items as a desktop client writes them, for the batch tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def iso(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")


def entry_item(world, *, hour: int = 0, clock: datetime = T0, **data) -> dict:
    """A 30-minute entry upsert in the open project, ``hour`` hours after T0, with its own key."""
    start = T0 + timedelta(hours=hour)
    body = {
        "id": str(uuid.uuid4()),
        "project_id": str(world.project_open.id),
        "started_at": iso(start),
        "ended_at": iso(start + timedelta(minutes=30)),
        **data,
    }
    return {
        "idempotency_key": f"k-{uuid.uuid4()}",
        "entity": "time_entry",
        "action": "upsert",
        "data": body,
        "client_updated_at": iso(clock),
    }


def push(api, items: list, device: str = "laptop"):
    return api.post("/api/v1/sync/batch", {"device_id": device, "items": items}, format="json")


def pull(api, cursor: int):
    return api.get(f"/api/v1/sync/changes?cursor={cursor}")
