"""ActivityWatch's side of the tests: events as watchers send them, the ``/api/0/`` routes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

AW = "/api/0"


def at(seconds: float, base: datetime | None = None) -> str:
    """A timestamp ``seconds`` after ``base`` (default: ten minutes ago, on a whole second),
    as aw-core renders one."""
    base = base or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    return (base + timedelta(seconds=seconds)).isoformat()


def event(seconds: float, duration: float = 0, base: datetime | None = None, **data) -> dict:
    return {"timestamp": at(seconds, base), "duration": duration, "data": data}


def create_bucket(
    api, bucket_id: str, type_: str = "currentwindow", hostname: str = "laptop", client: str = "aw-watcher-window"
):
    return api.post(f"{AW}/buckets/{bucket_id}", {"client": client, "type": type_, "hostname": hostname}, format="json")


def heartbeat(api, bucket_id: str, body, pulsetime: float = 60):
    return api.post(f"{AW}/buckets/{bucket_id}/heartbeat?pulsetime={pulsetime}", body, format="json")
