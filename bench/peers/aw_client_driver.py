"""Run by the ActivityWatch tests with bench/.venvs/aw-server's Python (which has the real
``aw-client`` 0.5.15 and ``aw-core`` 0.5.18, not the project's venv): it drives a server the
way a watcher does and prints what it read back, as JSON on stdout.

    python aw_client_driver.py < {"host", "port", "bucket", "type", "pulsetime", "queued",
                                  "events": [{"timestamp", "duration", "data"}]}
    -> {"events": [...read back, newest first...], "count": n,
        "reduced": [...aw-core's heartbeat_reduce over the same stream, newest first...]}

It imports nothing from Stint: it stands for a watcher on someone's machine."""

import json
import sys
import time

from aw_client import ActivityWatchClient
from aw_core.models import Event
from aw_transform.heartbeats import heartbeat_reduce


def drain(client, timeout=30.0):
    """Wait until the client's queue thread has sent everything it holds."""
    queue = client.request_queue
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if queue.connected and queue._persistqueue.qsize() == 0 and queue._current is None:
            return
        time.sleep(0.05)
    raise SystemExit("aw-client's queue did not drain")


def bearer(token):
    """Send ``Authorization: Bearer <token>`` on every request (a Stint access token in the
    tests that run before personal access tokens, which a watcher sends as its host's user)."""
    import requests

    original = requests.Session.request

    def request(self, method, url, **kwargs):
        headers = dict(kwargs.pop("headers", None) or {})
        headers.setdefault("Authorization", f"Bearer {token}")
        return original(self, method, url, headers=headers, **kwargs)

    requests.Session.request = request


def main():
    spec = json.load(sys.stdin)
    if spec.get("bearer"):
        bearer(spec["bearer"])
    client = ActivityWatchClient("aw-watcher-test", host=spec["host"], port=spec["port"])
    client.client_hostname = spec.get("hostname", "laptop")
    stream = [Event(**e) for e in spec["events"]]
    bucket, pulsetime = spec["bucket"], spec["pulsetime"]
    if spec["queued"]:
        # As the watchers do: register the bucket, then connect (the queue creates it then).
        client.create_bucket(bucket, spec["type"], queued=True)
        with client:
            for event in stream:
                client.heartbeat(bucket, Event(**event.to_json_dict()), pulsetime=pulsetime, queued=True)
            drain(client)
    else:
        client.create_bucket(bucket, spec["type"])
        for event in stream:
            client.heartbeat(bucket, Event(**event.to_json_dict()), pulsetime=pulsetime)
    events = client.get_events(bucket, limit=-1)
    out = {
        "events": [e.to_json_dict() for e in events],
        "count": client.get_eventcount(bucket),
        "reduced": [e.to_json_dict() for e in reversed(heartbeat_reduce(list(stream), pulsetime))],
        "buckets": sorted(client.get_buckets()),
    }
    json.dump(out, sys.stdout, default=str)


if __name__ == "__main__":
    main()
