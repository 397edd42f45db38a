"""A minimal TimeTagger API v2 client (stdlib only), matching timetagger 26.1.x.

All endpoints live under ``/timetagger/api/v2/`` (config.path_prefix + "api/v2/").

Auth (timetagger/__main__.py, server/_apiserver.py):
* ``POST bootstrap_authentication`` with body = base64(JSON) of
  ``{"method": "usernamepassword", "username": u, "password": p}`` -> ``{"token": "<JWT>"}``.
  The server checks the password against the bcrypt hash in TIMETAGGER_CREDENTIALS.
  (``{"method": "localhost"}`` also works when bound to 127.0.0.1, but always gives the
  single user "defaultuser", so it cannot simulate several users.)
* Every other call sends the JWT in the header ``authtoken: <JWT>`` (not Authorization).
  A web token lasts 14 days; each request decodes it and opens the user's SQLite file.

Records (server RECORD_SPEC): ``key`` str (<256 chars; the app uses 8 random letters),
``mt`` int (modified, unix s), ``t1``/``t2`` int (start/stop, unix s; t1 == t2 means running),
``ds`` str (description with #tags). Required: key, mt, t1, t2. The app also sends ``st``
(0 for new records); the server ignores it and stamps its own ``st`` (server time, float).

* ``PUT records`` with a JSON list -> ``{"accepted": [keys], "failed": [keys], "errors": [..]}``
  (200 even if some items failed; 10 MiB body limit; one transaction per request).
* ``GET updates?since=<float server time>`` -> ``{"server_time", "reset", "records", "settings"}``;
  returns the records/settings with ``st >= since``. Early exit (``reset == 0``, no query)
  when the user's DB file was last modified more than 0.2 s before ``since``.
"""

from __future__ import annotations

import base64
import http.client
import json
import random
import socket
import string
import time

PATH_PREFIX = "/timetagger/"
API = PATH_PREFIX + "api/v2/"
_UID_CHARS = string.ascii_letters  # same alphabet and length as timetagger's generate_uid()


class TimeTaggerError(RuntimeError):
    def __init__(self, status: int, body: bytes, what: str):
        super().__init__(f"{what}: HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


def generate_uid(rng: random.Random | None = None) -> str:
    r = rng or random
    return "".join(r.choice(_UID_CHARS) for _ in range(8))


def make_records(n: int, rng: random.Random | None = None, t_start: int | None = None) -> list[dict]:
    """n new, finished records shaped like the TimeTagger app creates them (30-min slots)."""
    now = int(time.time())
    t = (now - 365 * 86400) if t_start is None else t_start
    recs = []
    for i in range(n):
        t1 = t + i * 1800
        recs.append(
            {
                "key": generate_uid(rng),
                "st": 0,
                "mt": now,
                "t1": t1,
                "t2": t1 + 1500,
                "ds": f"bench record {i} #bench #client",
            }
        )
    return recs


class TimeTaggerClient:
    """One keep-alive HTTP/1.1 connection to a TimeTagger server (use one per thread)."""

    def __init__(self, host: str, port: int, token: str | None = None, timeout: float = 120.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.token = token
        self.conn: http.client.HTTPConnection | None = None
        self.reconnects = 0

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
        keep-alive connection was closed by the server (all calls used here are idempotent)."""
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        if self.token:
            hdrs["authtoken"] = self.token
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

    # -- API ----------------------------------------------------------------------------------
    def login(self, username: str, password: str) -> str:
        """(a) Exchange username/password for a web token; stores and returns it."""
        payload = {"method": "usernamepassword", "username": username, "password": password}
        body = base64.b64encode(json.dumps(payload).encode())
        self.token = None
        status, data = self.request("POST", API + "bootstrap_authentication", body=body)
        if status != 200:
            raise TimeTaggerError(status, data, f"login {username}")
        self.token = json.loads(data)["token"]
        return self.token

    def login_localhost(self) -> str:
        """Alternative bootstrap: only for "defaultuser", only when the server binds 127.0.0.1."""
        body = base64.b64encode(json.dumps({"method": "localhost"}).encode())
        self.token = None
        status, data = self.request("POST", API + "bootstrap_authentication", body=body)
        if status != 200:
            raise TimeTaggerError(status, data, "login localhost")
        self.token = json.loads(data)["token"]
        return self.token

    def push_records_raw(self, body: bytes) -> tuple[int, bytes]:
        """PUT an already-encoded JSON list of records; returns (status, body)."""
        return self.request("PUT", API + "records", body=body)

    def push_records(self, records: list[dict]) -> dict:
        """(b) PUT records; returns {"accepted", "failed", "errors"}; raises on HTTP errors."""
        status, data = self.push_records_raw(json.dumps(records).encode())
        if status != 200:
            raise TimeTaggerError(status, data, "PUT records")
        return json.loads(data)

    def updates_raw(self, since: float) -> tuple[int, bytes]:
        return self.request("GET", f"{API}updates?since={since!r}")

    def updates(self, since: float) -> dict:
        """(c) GET updates?since=X -> {"server_time", "reset", "records", "settings"}."""
        status, data = self.updates_raw(since)
        if status != 200:
            raise TimeTaggerError(status, data, "GET updates")
        return json.loads(data)

    def version(self) -> str:
        status, data = self.request("GET", API + "version")
        if status != 200:
            raise TimeTaggerError(status, data, "GET version")
        return json.loads(data)["version"]


def get_token(host: str, port: int, username: str, password: str) -> str:
    """Convenience: a web token for one user (one token per simulated user)."""
    c = TimeTaggerClient(host, port)
    try:
        return c.login(username, password)
    finally:
        c.close()
