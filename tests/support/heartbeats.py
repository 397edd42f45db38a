"""A tracker's heartbeats, as the activity tests send them."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

URL = "/api/v1/sync/heartbeats"


def iso(moment) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def hb(seconds_ago: float, duration: float = 5, app="Code", title="stint.py", url="", **extra) -> dict:
    return {
        "timestamp": iso(timezone.now() - timedelta(seconds=seconds_ago)),
        "duration": duration,
        "app": app,
        "title": title,
        "url": url,
        **extra,
    }


def send(api, items, device="laptop", **query):
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return api.post(URL + (f"?{qs}" if qs else ""), {"device_id": device, "heartbeats": items}, format="json")
