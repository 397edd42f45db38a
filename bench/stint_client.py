"""A minimal Stint API client for benchmarks (stdlib only), shaped like peers/timetagger_client.py:
one keep-alive ``http.client`` connection per instance (use one per thread).

* ``register()`` -> ``POST /api/v1/auth/register`` (a new user and its own company, as OWNER)
* ``login()``    -> ``POST /api/v1/auth/login`` (bearer access token, 15 min by default)
* ``create_project()`` -> ``POST /api/v1/projects``
* ``batch_raw()`` / ``batch()``     -> ``POST /api/v1/sync/batch``
* ``changes_raw()`` / ``changes()`` -> ``GET /api/v1/sync/changes?cursor=&limit=``
* ``make_items()``: new finished time entries as a desktop client's offline queue sends them.
"""

from __future__ import annotations

import http.client
import json
import socket
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

API = "/api/v1/"
SLOT = timedelta(minutes=30)  # one record per 30 minutes per user (like the TimeTagger workload)
LENGTH = timedelta(minutes=25)  # t .. t+25 min: never overlapping within a user


class StintError(RuntimeError):
    def __init__(self, status: int, body: bytes, what: str):
        super().__init__(f"{what}: HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


def parse_base_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"--stint-url must be http://host:port, not {url!r}")
    return parts.hostname, parts.port or 80


class EntryClock:
    """Hands out one user's record slots: t, t+30 min, ... (never overlapping)."""

    def __init__(self, start: datetime):
        self.next = start

    def take(self) -> datetime:
        t = self.next
        self.next = t + SLOT
        return t


def make_items(n: int, project_id: str, clock: EntryClock) -> list[dict]:
    """n new finished entries (upserts with client-made UUIDs), 30-minute slots of one user."""
    now = datetime.now(UTC).isoformat()
    items = []
    for i in range(n):
        t = clock.take()
        items.append(
            {
                "idempotency_key": str(uuid.uuid4()),
                "entity": "time_entry",
                "action": "upsert",
                "client_updated_at": now,
                "data": {
                    "id": str(uuid.uuid4()),
                    "project_id": project_id,
                    "started_at": t.isoformat(),
                    "ended_at": (t + LENGTH).isoformat(),
                    "description": f"bench record {i}",
                },
            }
        )
    return items


def batch_body(device_id: str, items: list[dict]) -> bytes:
    return json.dumps({"device_id": device_id, "items": items}).encode()


class StintClient:
    """One keep-alive HTTP/1.1 connection to Stint (use one per thread)."""

    def __init__(self, host: str, port: int, token: str | None = None, timeout: float = 120.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.token = token
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0
        self.email: str | None = None
        self.password: str | None = None

    # -- transport ----------------------------------------------------------------------------
    def _connect(self) -> None:
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        self.conn.connect()
        self.conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        """Send one request, return (status, body bytes). Reconnects once if the idle
        keep-alive connection was closed by the server (as the TimeTagger client does; the
        sync calls are idempotent)."""
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            hdrs["Authorization"] = f"Bearer {self.token}"
        if headers:
            hdrs.update(headers)
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            try:
                self.conn.request(method, path, body=body, headers=hdrs)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, data
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
                self.reconnects += 1
        raise AssertionError("unreachable")

    def _json(self, method: str, path: str, payload=None, expect=(200,), what: str = "") -> dict:
        body = json.dumps(payload).encode() if payload is not None else None
        status, data = self.request(method, path, body=body)
        if status == 401 and self.email and what != "login":  # access token expired: log in again once
            self.login(self.email, self.password)
            status, data = self.request(method, path, body=body)
        if status not in expect:
            raise StintError(status, data, what or f"{method} {path}")
        return json.loads(data) if data else {}

    # -- API ----------------------------------------------------------------------------------
    def register(self, email: str, password: str, name: str, company_name: str) -> dict:
        self.token = None
        out = self._json(
            "POST",
            API + "auth/register",
            {"email": email, "password": password, "name": name, "company_name": company_name, "device_name": "bench"},
            expect=(201,),
            what="register",
        )
        self.email, self.password, self.token = email, password, out["access"]
        return out

    def login(self, email: str, password: str, attempts: int = 5) -> str:
        """Bearer token for the user. Retries a 429 (the per-IP window counts attempts in
        flight, so a burst of correct logins from one address can hit it)."""
        self.token = None
        for attempt in range(attempts):
            status, data = self.request(
                "POST",
                API + "auth/login",
                body=json.dumps({"email": email, "password": password, "device_name": "bench"}).encode(),
            )
            if status == 429 and attempt + 1 < attempts:
                time.sleep(1.0 + attempt)
                continue
            if status != 200:
                raise StintError(status, data, f"login {email}")
            break
        self.email, self.password, self.token = email, password, json.loads(data)["access"]
        return self.token

    def create_project(self, name: str) -> str:
        return self._json("POST", API + "projects", {"name": name}, expect=(201,), what="create project")["id"]

    def batch_raw(self, body: bytes) -> tuple[int, bytes]:
        return self.request("POST", API + "sync/batch", body=body)

    def batch(self, device_id: str, items: list[dict]) -> dict:
        return self._json("POST", API + "sync/batch", {"device_id": device_id, "items": items}, what="sync/batch")

    def changes_path(self, cursor: int | None, limit: int | None = None) -> str:
        q = []
        if cursor is not None:
            q.append(f"cursor={cursor}")
        if limit is not None:
            q.append(f"limit={limit}")
        return API + "sync/changes" + ("?" + "&".join(q) if q else "")

    def changes_raw(self, cursor: int | None, limit: int | None = None) -> tuple[int, bytes]:
        return self.request("GET", self.changes_path(cursor, limit))

    def changes(self, cursor: int | None, limit: int | None = None) -> dict:
        return self._json("GET", self.changes_path(cursor, limit), what="sync/changes")
