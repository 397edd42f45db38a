"""A mixed load: --clients (50) desktop-and-dashboard clients for --seconds (20) against the
stack as `make run` starts it in production mode (DEBUG off, bench/stint_stack.py), each doing
what a real one does, at random, back to back: sign in, start and stop its timer, push a small
offline batch, pull changes, stream heartbeats, read its weekly report or its daily report over
the last seven days (`/reports/daily?from=&to=`).

    .venv/bin/python bench/mixed_load_bench.py                  # 50 clients, 20 s
    .venv/bin/python bench/mixed_load_bench.py --clients 10 --seconds 5

Every client is its own user (its own company and project, registered before the clock starts)
on its own keep-alive connection; one thread per client. Per route: requests, errors (any status
other than the route's success), average, p50, p95 and p99 latency in ms (request sent to last
byte). Progress every second on stderr; JSON in --out (default bench/results/mixed.json)."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peer_timetagger import Progress  # noqa: E402
from reports_bench import log, pct  # noqa: E402
from stint_client import StintClient, batch_body, make_items  # noqa: E402
from stint_stack import BENCH_DIR, StintStack  # noqa: E402
from sync_bench import register_users  # noqa: E402

PASSWORD = "Zq8-" + uuid.uuid4().hex
API = "/api/v1/"
# (route, weight): roughly what a tracker and a dashboard send in a working day, compressed.
MIX = [
    ("login", 1),
    ("timer", 4),  # start or stop, alternating per client
    ("batch", 3),
    ("pull", 4),
    ("heartbeats", 6),
    ("weekly", 2),
    ("daily", 1),  # a seven-day range: seven daily objects from one query
]
ROUTES = ["login", "timer_start", "timer_stop", "batch", "pull", "heartbeats", "weekly", "daily"]
OK = {"login": {200}, "timer_start": {201}, "timer_stop": {200}, "batch": {200}, "pull": {200},
      "heartbeats": {202}, "weekly": {200}, "daily": {200}}  # fmt: skip


class Client:
    def __init__(self, host: str, port: int, user, rnd: random.Random):
        self.c = StintClient(host, port)
        self.user, self.rnd = user, rnd
        self.running = False
        self.cursor: int | None = None
        self.device = f"mixed-{uuid.uuid4().hex[:6]}"

    def sign_in(self) -> tuple[str, int]:
        body = json.dumps({"email": self.user.email, "password": PASSWORD, "device_name": self.device}).encode()
        status, data = self.c.request("POST", API + "auth/login", body=body, headers={"Authorization": ""})
        if status == 200:
            self.c.token = json.loads(data)["access"]
        return "login", status

    def step(self, route: str) -> tuple[str, int]:
        c = self.c
        if route == "login":
            return self.sign_in()
        if route == "timer":
            if self.running:
                status, _ = c.request("POST", API + "time-entries/stop", body=b"{}")
                self.running = status != 200 and self.running
                return "timer_stop", status
            body = json.dumps({"project_id": self.user.project_id, "description": "mixed load"}).encode()
            status, _ = c.request("POST", API + "time-entries/start", body=body)
            self.running = status == 201
            return "timer_start", status
        if route == "batch":
            # finished entries far in the past: they never meet the running timer
            status, _ = c.request("POST", API + "sync/batch", body=batch_body(self.device, self._items()))
            return "batch", status
        if route == "pull":
            path = API + "sync/changes?limit=200" + (f"&cursor={self.cursor}" if self.cursor is not None else "")
            status, data = c.request("GET", path)
            if status == 200:
                self.cursor = json.loads(data)["next_cursor"]
            return "pull", status
        if route == "heartbeats":
            now = datetime.now(UTC)
            beats = [
                {"timestamp": (now - timedelta(seconds=10 - i)).isoformat(), "duration": 1,
                 "app": self.rnd.choice(["code", "firefox", "slack"]), "title": f"window {i % 3}"}
                for i in range(10)
            ]  # fmt: skip
            body = json.dumps({"device_id": self.device, "heartbeats": beats}).encode()
            status, _ = c.request("POST", API + "sync/heartbeats", body=body)
            return "heartbeats", status
        if route == "daily":
            today = datetime.now(UTC).date()  # registered users live in UTC
            first = today - timedelta(days=6)
            status, _ = c.request("GET", API + f"reports/daily?from={first}&to={today}")
            return "daily", status
        status, _ = c.request("GET", API + "reports/weekly")
        return "weekly", status

    def _items(self) -> list[dict]:
        return make_items(10, self.user.project_id, self.user.clock)


def run(stack: StintStack, a: argparse.Namespace) -> dict:
    labels = [f"m{i}" for i in range(a.clients)]
    start = datetime.now(UTC) - timedelta(days=900)  # batch entries: 30-minute slots from here on
    log(f"registering {a.clients} users ...")
    users = register_users(stack.host, stack.port, labels, uuid.uuid4().hex[:6], PASSWORD, start)
    routes, weights = zip(*MIX, strict=True)
    lat: dict[str, list[float]] = {r: [] for r in ROUTES}
    errors: dict[str, list[str]] = {r: [] for r in ROUTES}
    lock = threading.Lock()
    clients = [Client(stack.host, stack.port, users[label], random.Random(i)) for i, label in enumerate(labels)]
    for client in clients:
        client.sign_in()  # untimed: each starts signed in
    barrier = threading.Barrier(len(clients) + 1)
    deadline = [0.0]

    def worker(client: Client) -> None:
        barrier.wait()
        while time.perf_counter() < deadline[0]:
            route = client.rnd.choices(routes, weights)[0]
            t = time.perf_counter()
            try:
                name, status = client.step(route)
            except Exception as err:  # a dropped connection: counted, and the client goes on
                with lock:
                    errors[route if route in lat else "timer_start"].append(f"{type(err).__name__}: {err}")
                client.c.close()
                continue
            dt = (time.perf_counter() - t) * 1000
            with lock:
                lat[name].append(dt)
                if status not in OK[name]:
                    errors[name].append(f"HTTP {status}")

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    deadline[0] = time.perf_counter() + a.seconds
    t0 = time.perf_counter()
    barrier.wait()

    def status() -> str:
        n, failed = sum(len(v) for v in lat.values()), sum(map(len, errors.values()))
        return f"requests={n:6d}  {n / max(time.perf_counter() - t0, 1e-9):7.0f}/s  errors={failed}"

    with Progress(f"mixed load clients={a.clients}", status):
        for t in threads:
            t.join(timeout=a.seconds + 120)
    elapsed = time.perf_counter() - t0
    for client in clients:
        client.c.close()
    per_route = {}
    for route in ROUTES:
        values = lat[route]
        per_route[route] = {
            "requests": len(values),
            "errors": len(errors[route]),
            "error_samples": errors[route][:3],
            "avg_ms": round(statistics.fmean(values), 2) if values else None,
            "p50_ms": pct(values, 50) if values else None,
            "p95_ms": pct(values, 95) if values else None,
            "p99_ms": pct(values, 99) if values else None,
        }
    total = sum(len(v) for v in lat.values())
    return {"elapsed_s": round(elapsed, 2), "requests": total, "requests_per_s": round(total / elapsed, 1),
            "errors": sum(map(len, errors.values())), "routes": per_route}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "mixed.json"))
    a = ap.parse_args(argv)
    if not (1 <= a.clients <= 200 and 1 <= a.seconds <= 600):
        ap.error("--clients 1..200, --seconds 1..600")
    result: dict = {
        "benchmark": "mixed load",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "mix": dict(MIX),
    }
    # Every client signs in from 127.0.0.1, and the login-failure limiter counts an attempt
    # before its (slow) password check, per IP: a few concurrent correct logins from one
    # address fill its window and every later one is a 429 (run 1: 30 of 81). Fifty real
    # clients come from fifty addresses; the bench measures throughput, as for the other limits.
    stack = StintStack(max_lifetime=1800, extra_env={"LOGIN_FAILURE_LIMIT": "1000000"}).start()
    try:
        result["stack"] = {"web_processes": stack.web_process_count(), "debug": stack.env()["DEBUG"]}
        result["result"] = run(stack, a)
    finally:
        stack.stop()
    for route, r in result["result"]["routes"].items():
        log(f"  {route:12s} n={r['requests']:5d} err={r['errors']:3d}  avg {r['avg_ms']} ms  p95 {r['p95_ms']} ms"
            f"  p99 {r['p99_ms']} ms")  # fmt: skip
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
