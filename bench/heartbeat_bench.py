"""Heartbeat intake: Stint beside ActivityWatch's aw-server, fed the same streams in one run.

    bench/peers/aw_setup.sh                                   # once: aw-server 0.12 in its own venv
    .venv/bin/python bench/heartbeat_bench.py                 # all phases, ~6 min
    .venv/bin/python bench/heartbeat_bench.py --phases single --seconds 10 --skip-aw

Phases (``--phases``, comma list):

* ``batch``  : 16 devices, each its own user, POST 100 heartbeats per request back to back
  (aw-server has no batch heartbeat API: Stint only). Target: >= 20,000 heartbeats/s, p99 < 100 ms.
* ``single`` : one heartbeat per request, as ActivityWatch's watchers send them, 8 and then 32
  devices, Stint (``POST /api/v1/sync/heartbeats``) and aw-server
  (``POST /api/0/buckets/<b>/heartbeat?pulsetime=60``) one after the other. Target: Stint >= 5x
  aw-server, p99 < 30 ms.
* ``lag``    : 10,000 heartbeats/s of background load (16 devices, 100 per request, paced), and
  every 0.5 s one probe heartbeat with a new app name from another device; lag = probe accepted
  -> the app shows in that user's ``/reports/apps`` (read every 0.1 s; a probe not shown 30 s
  after the load counts as missing). Target: p99 < 5 s.
* ``report`` : ``--report-intervals`` (10 M) intervals COPYed into the app-usage table (1,000
  users, a year), then ``/reports/apps`` for one user and day, 200 times. Target: p99 < 20 ms.
  aw-server: its per-app query over one day of a bucket holding ``--aw-events`` (100k) events.

Streams: each device reports its foreground app every ``--interval`` (2 s) of simulated time,
staying on one app/title for 5-30 heartbeats, then switching (8 apps, browser URLs on 12
domains), starting a random time within the last hour. Latency: request sent -> response read;
heartbeats/s = accepted heartbeats / phase wall time. Everything on 127.0.0.1; bounded in time.
Results: JSON in ``bench/results/heartbeats.json``; a summary on stderr; docs/benchmarks.md."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stint_client import StintClient  # noqa: E402
from stint_stack import BENCH_DIR, REPO_DIR, StintStack, free_loopback_port  # noqa: E402

AW_VENV = BENCH_DIR / ".venvs" / "aw-server"
APPS = ["Code", "Firefox", "Terminal", "Slack", "Figma", "Mail", "Zoom", "Notes"]
DOMAINS = [f"site{n}.example.com" for n in range(12)]
PASSWORD = "Zq8-" + uuid.uuid4().hex  # unlike any bench e-mail (the similarity validator)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


class Stream:
    """One device's foreground app over time, as a watcher reports it."""

    def __init__(self, seed: int, interval: float, stay: tuple[int, int] = (5, 30)):
        self.rnd = random.Random(seed)
        self.interval = interval
        self.stay = stay  # heartbeats on one app and title before a switch
        self.t = datetime.now(UTC) - timedelta(seconds=self.rnd.uniform(600, 3600))
        self.left = 0
        self.app = self.title = self.url = ""

    def next(self) -> dict:
        if self.left <= 0:
            self.app = self.rnd.choice(APPS)
            self.title = f"{self.app} window {self.rnd.randint(1, 40)}"
            self.url = (
                f"https://{self.rnd.choice(DOMAINS)}/p/{self.rnd.randint(1, 99)}" if self.app == "Firefox" else ""
            )
            self.left = self.rnd.randint(*self.stay)
        self.left -= 1
        self.t += timedelta(seconds=self.interval)
        if self.t > datetime.now(UTC) + timedelta(minutes=50):  # stay inside the accepted window
            self.t = datetime.now(UTC) - timedelta(hours=1)
        return {
            "timestamp": self.t.isoformat().replace("+00:00", "Z"),
            "duration": self.interval,
            "app": self.app,
            "title": self.title,
            "url": self.url,
        }


# --------------------------------------------------------------------------- systems under test


def stint_accounts(host: str, port: int, n: int, label: str) -> list[tuple[str, str]]:
    """n users (each their own company): ``(e-mail, access token)``. Sequential, untimed."""
    accounts, run = [], uuid.uuid4().hex[:6]
    for i in range(n):
        c = StintClient(host, port)
        email = f"hb-{run}-{label}-{i}@bench.test"
        c.register(email, PASSWORD, f"HB {i}", f"HB {run} {label} {i}")
        accounts.append((email, c.token))
        c.close()
    return accounts


def stint_users(host: str, port: int, n: int, label: str) -> list[str]:
    """n users (each their own company): their access tokens."""
    return [token for _, token in stint_accounts(host, port, n, label)]


class AwServer:
    def __init__(self):
        self.proc = None
        self.home = None
        self.port = None

    def start(self) -> AwServer:
        exe = AW_VENV / "bin" / "aw-server"
        if not exe.exists():
            subprocess.run([str(BENCH_DIR / "peers" / "aw_setup.sh")], check=True, timeout=900)
        self.home = Path(tempfile.mkdtemp(prefix="aw-bench-"))
        self.port = free_loopback_port()
        env = {
            **os.environ,
            "HOME": str(self.home),
            "XDG_DATA_HOME": str(self.home / "data"),
            "XDG_CONFIG_HOME": str(self.home / "config"),
            "XDG_CACHE_HOME": str(self.home / "cache"),
        }
        self.log = open(self.home / "aw.log", "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [str(exe), "--testing", "--host", "127.0.0.1", "--port", str(self.port)],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                c = StintClient("127.0.0.1", self.port)
                status, _ = c.request("GET", "/api/0/info")
                c.close()
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError("aw-server did not start: " + (self.home / "aw.log").read_text(errors="replace")[-2000:])

    def bucket(self, name: str) -> str:
        c = StintClient("127.0.0.1", self.port)
        body = json.dumps({"client": "bench", "type": "currentwindow", "hostname": name}).encode()
        status, data = c.request("POST", f"/api/0/buckets/{name}", body)
        c.close()
        assert status in (200, 304), (status, data)
        return name

    def cpu_s(self) -> float:
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except OSError:
            return 0.0

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        if self.home:
            self.log.close()
            shutil.rmtree(self.home, ignore_errors=True)


# --------------------------------------------------------------------------- load


async def drive(requests, clients: int, seconds: float, rate_per_client: float | None = None) -> dict:
    """Run ``requests[i]()`` (an async callable returning heartbeats accepted, or raising)
    back to back per client for ``seconds`` (paced to ``rate_per_client`` requests/s if set)."""
    latencies: list[float] = []
    accepted = errors = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def client(i: int) -> None:
        nonlocal accepted, errors
        n = 0
        while time.perf_counter() < deadline:
            if rate_per_client:
                due = start + n / rate_per_client
                if due > time.perf_counter():
                    await asyncio.sleep(due - time.perf_counter())
            sent = time.perf_counter()
            try:
                got = await requests[i]()  # not `accepted += await ...`: that loses updates
                accepted += got
                latencies.append((time.perf_counter() - sent) * 1000)
            except Exception as exc:  # counted, shown once
                errors += 1
                if errors == 1:
                    log(f"    first error: {exc!r}")
            n += 1

    await asyncio.gather(*(client(i) for i in range(clients)))
    wall = time.perf_counter() - start
    return {
        "clients": clients,
        "seconds": round(wall, 2),
        "requests": len(latencies),
        "heartbeats": accepted,
        "heartbeats_per_s": round(accepted / wall, 1),
        "p50_ms": round(pct(latencies, 50) or 0, 2),
        "p99_ms": round(pct(latencies, 99) or 0, 2),
        "max_ms": round(max(latencies or [0]), 2),
        "errors": errors,
    }


def stint_sender(session: aiohttp.ClientSession, base: str, token: str, stream: Stream, batch: int, device: str):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    async def send() -> int:
        body = json.dumps({"device_id": device, "heartbeats": [stream.next() for _ in range(batch)]})
        async with session.post(f"{base}/api/v1/sync/heartbeats", data=body, headers=headers) as resp:
            text = await resp.read()
            if resp.status != 202:
                raise RuntimeError(f"{resp.status} {text[:200]!r}")
            return json.loads(text)["accepted"]

    return send


def aw_sender(session: aiohttp.ClientSession, base: str, bucket: str, stream: Stream):
    async def send() -> int:
        hb = stream.next()
        event = {
            "timestamp": hb["timestamp"],
            "duration": hb["duration"],
            "data": {"app": hb["app"], "title": hb["title"]},
        }
        async with session.post(f"{base}/api/0/buckets/{bucket}/heartbeat?pulsetime=60", json=event) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"aw {resp.status}")
            return 1

    return send


async def phase(make_senders, clients: int, seconds: float, rate=None) -> dict:
    # One connection per client (keep-alive), as a tracker holds one.
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) for _ in range(clients)]
    try:
        senders = [make_senders(sessions[i], i) for i in range(clients)]
        await drive(senders[:1], 1, 1.0)  # warm-up: connections, caches
        return await drive(senders, clients, seconds, rate)
    finally:
        for s in sessions:
            await s.close()


# --------------------------------------------------------------------------- phases


def run_batch(stack: StintStack, seconds: float) -> dict:
    base = stack.base_url
    tokens = stint_users(stack.host, stack.port, 16, "batch")
    before = stack.cpu_snapshot()
    result = asyncio.run(
        phase(lambda s, i: stint_sender(s, base, tokens[i], Stream(i, 2.0), 100, f"dev-{i}"), 16, seconds)
    )
    result["server_cpu_s"] = stack.cpu_delta(before, stack.cpu_snapshot())
    return result


def run_single(stack: StintStack | None, aw: AwServer | None, clients: int, seconds: float) -> dict:
    out = {}
    if stack:
        base = stack.base_url
        tokens = stint_users(stack.host, stack.port, clients, f"single{clients}")
        before = stack.cpu_snapshot()
        out["stint"] = asyncio.run(
            phase(lambda s, i: stint_sender(s, base, tokens[i], Stream(100 + i, 2.0), 1, f"dev-{i}"), clients, seconds)
        )
        out["stint"]["server_cpu_s"] = stack.cpu_delta(before, stack.cpu_snapshot())
        stack.wait_idle(max_wait=60)
    if aw:
        base = f"http://127.0.0.1:{aw.port}"
        buckets = [aw.bucket(f"bench-{clients}-{i}-{uuid.uuid4().hex[:4]}") for i in range(clients)]
        cpu = aw.cpu_s()
        out["aw"] = asyncio.run(
            phase(lambda s, i: aw_sender(s, base, buckets[i], Stream(100 + i, 2.0)), clients, seconds)
        )
        out["aw"]["server_cpu_s"] = round(aw.cpu_s() - cpu, 2)
    if "stint" in out and "aw" in out and out["aw"]["heartbeats_per_s"]:
        out["ratio"] = round(out["stint"]["heartbeats_per_s"] / out["aw"]["heartbeats_per_s"], 2)
    return out


class ProbeClock:
    """Probe timestamps 2 s apart from a few minutes ago (today, UTC): each probe is one second
    of its own. Stamped with the wall clock every 0.5 s, a probe lasting 1 s was cut to about
    half a second by the next one, and an app of half a second may round to nothing."""

    def __init__(self):
        now = datetime.now(UTC)
        self.t = max(now - timedelta(minutes=5), now.replace(hour=0, minute=0, second=0, microsecond=0))

    def next(self) -> str:
        self.t += timedelta(seconds=2)
        return self.t.isoformat().replace("+00:00", "Z")


def sync_probe(base: str, account: tuple[str, str]):
    """A probe heartbeat of a new app through ``/sync/heartbeats`` (the lag phase's default)."""
    token = account[1]
    clock = ProbeClock()

    async def send(session: aiohttp.ClientSession, app: str) -> None:
        hb = {"timestamp": clock.next(), "duration": 1, "app": app}
        async with session.post(
            f"{base}/api/v1/sync/heartbeats",
            json={"device_id": "probe", "heartbeats": [hb]},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 202, await resp.text()

    return send


async def _lag(stack: StintStack, seconds: float, rate: float, make_probe=sync_probe) -> dict:
    """``make_probe(base, (e-mail, access token))`` returns the probe's ``send(session, app)``
    (called before the load starts); the probe user's access token reads ``/reports/apps``."""
    base = stack.base_url
    accounts = stint_accounts(stack.host, stack.port, 17, "lag")
    tokens = [token for _, token in accounts]
    probe_token = tokens.pop()
    probe = make_probe(base, accounts[-1])
    per_client = rate / 100 / 16  # requests/s per device, 100 heartbeats each
    background = asyncio.ensure_future(
        phase(
            lambda s, i: stint_sender(s, base, tokens[i], Stream(200 + i, 2.0), 100, f"dev-{i}"),
            16,
            seconds,
            per_client,
        )
    )
    # Probes go out every 0.5 s whatever the earlier ones do; one poller reads the report
    # every 0.1 s and marks each probe's app when it first shows, so a backlog shows as lag
    # (up to ``grace`` after the load) instead of stopping the probes.
    grace = 30.0
    lags: list[float] = []
    pending: dict[str, float] = {}
    headers = {"Authorization": f"Bearer {probe_token}"}
    async with aiohttp.ClientSession() as session:
        await asyncio.sleep(2.0)
        end = time.perf_counter() + seconds - 4
        sent_all = asyncio.Event()

        async def send_probes() -> None:
            n = 0
            while time.perf_counter() < end:
                app = f"probe-{n}-{uuid.uuid4().hex[:6]}"
                t = time.perf_counter()
                await probe(session, app)
                pending[app] = time.perf_counter()
                n += 1
                await asyncio.sleep(max(0.0, 0.5 - (time.perf_counter() - t)))
            sent_all.set()

        async def poll() -> None:
            while not sent_all.is_set() or (pending and time.perf_counter() < end + grace):
                async with session.get(f"{base}/api/v1/reports/apps?tz=UTC", headers=headers) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"/reports/apps: {resp.status} {(await resp.text())[:300]}")
                    body = await resp.json()
                seen = time.perf_counter()
                for a in body["apps"]:
                    accepted = pending.pop(a["app"], None)
                    if accepted is not None:
                        lags.append((seen - accepted) * 1000)
                await asyncio.sleep(0.1)

        await asyncio.gather(send_probes(), poll())
    load = await background
    return {
        "background": load,
        "probes": len(lags) + len(pending),
        "missing": len(pending),
        "missing_after_s": grace,
        "lag_p50_ms": round(pct(lags, 50) or 0, 1),
        "lag_p99_ms": round(pct(lags, 99) or 0, 1),
        "lag_max_ms": round(max(lags or [0]), 1),
    }


def run_report(stack: StintStack, aw: AwServer | None, intervals: int, aw_events: int, calls: int) -> dict:
    import psycopg

    out: dict = {}
    # One user we query (with a token), and 999 others: intervals spread over a year.
    token = stint_users(stack.host, stack.port, 1, "report")[0]
    me = StintClient(stack.host, stack.port, token=token)
    status, data = me.request("GET", "/api/v1/me")
    user_id = json.loads(data)["id"]
    status, data = me.request("GET", "/api/v1/companies")
    company_id = json.loads(data)["results"][0]["id"]
    dsn = f"postgresql://postgres@/stint_bench?host={stack.datadir / 'pg'}"
    users = [user_id] + [str(uuid.uuid4()) for _ in range(999)]
    per_user = intervals // len(users)
    year_ago = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=365)
    step = timedelta(days=365) / per_user
    # The year's partitions, made by the project's own code (constraints included): the merge
    # creates them on demand, and COPY needs them now.
    ensure = (
        "from datetime import datetime, timedelta, UTC; from activity import partitions; "
        "partitions.ensure(partitions.APP_USAGE, partitions.months_between("
        "datetime.now(UTC) - timedelta(days=366), datetime.now(UTC)))"
    )
    subprocess.run(
        [str(stack.python), "manage.py", "shell", "-c", ensure],
        env=stack.env(),
        cwd=REPO_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )
    t = time.perf_counter()
    with psycopg.connect(dsn, autocommit=True) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY tracking_appusage (company_id, user_id, device_id, app, title, url, domain, started_at, "
                "ended_at) FROM STDIN"
            ) as copy,
        ):
            rnd = random.Random(7)
            for n, user in enumerate(users):
                company = company_id if user == user_id else user
                s = year_ago
                for _ in range(per_user):
                    app = APPS[rnd.randrange(8)]
                    domain = DOMAINS[rnd.randrange(12)] if app == "Firefox" else ""
                    end = s + step * 0.9
                    if end.month != s.month:
                        end = datetime(end.year, end.month, 1, tzinfo=UTC)
                    copy.write_row(
                        (company, user, "laptop", app, "", f"https://{domain}/" if domain else "", domain, s, end)
                    )
                    s += step
                if n % 100 == 0:
                    log(f"    loaded {n * per_user:,} intervals ({time.perf_counter() - t:.0f} s)")
        conn.execute("ANALYZE tracking_appusage")
    out["intervals"] = per_user * len(users)
    out["load_s"] = round(time.perf_counter() - t, 1)
    day = (datetime.now(UTC) - timedelta(days=100)).date()
    path = f"/api/v1/reports/apps?date={day}&tz=Europe/Berlin"
    times = []
    for _ in range(calls + 5):
        sent = time.perf_counter()
        status, body = me.request("GET", path)
        times.append((time.perf_counter() - sent) * 1000)
        assert status == 200, body[:200]
    times = times[5:]
    apps = json.loads(body)["apps"]
    out["stint"] = {
        "calls": calls,
        "p50_ms": round(pct(times, 50), 2),
        "p99_ms": round(pct(times, 99), 2),
        "apps_in_answer": len(apps),
        "seconds_in_answer": sum(a["seconds"] for a in apps),
    }
    if aw:
        out["aw"] = aw_report(aw, aw_events)
        out["ratio_p50"] = round(out["aw"]["p50_ms"] / out["stint"]["p50_ms"], 1)
    return out


def aw_report(aw: AwServer, events: int) -> dict:
    """aw-server's own per-app query over one day, of a bucket holding ``events`` events."""
    bucket = aw.bucket(f"report-{uuid.uuid4().hex[:6]}")
    c = StintClient("127.0.0.1", aw.port)
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / events
    rnd = random.Random(3)
    for chunk in range(0, events, 5000):
        batch = []
        for n in range(chunk, min(events, chunk + 5000)):
            app = APPS[rnd.randrange(8)]
            batch.append(
                {
                    "timestamp": (start + step * n).isoformat(),
                    "duration": step.total_seconds() * 0.9,
                    "data": {"app": app, "title": ""},
                }
            )
        status, _ = c.request("POST", f"/api/0/buckets/{bucket}/events", json.dumps(batch).encode())
        assert status == 200, status
    day = (datetime.now(UTC) - timedelta(days=15)).date()
    period = f"{day}T00:00:00+00:00/{day + timedelta(days=1)}T00:00:00+00:00"
    query = {
        "timeperiods": [period],
        "query": [
            f'events = query_bucket("{bucket}");',
            'events = merge_events_by_keys(events, ["app"]);',
            "RETURN = sort_by_duration(events);",
        ],
    }
    times = []
    for _ in range(5):
        sent = time.perf_counter()
        status, body = c.request("POST", "/api/0/query/", json.dumps(query).encode())
        times.append((time.perf_counter() - sent) * 1000)
        assert status == 200, body[:300]
    c.close()
    return {"events": events, "calls": 5, "p50_ms": round(statistics.median(times), 1), "max_ms": round(max(times), 1)}


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default="batch,single,lag,report")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--lag-rate", type=float, default=10_000.0, help="background heartbeats/s in the lag phase")
    ap.add_argument("--report-intervals", type=int, default=10_000_000)
    ap.add_argument("--aw-events", type=int, default=100_000)
    ap.add_argument("--report-calls", type=int, default=200)
    ap.add_argument("--skip-aw", action="store_true")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "heartbeats.json"))
    a = ap.parse_args(argv)
    phases = [p.strip() for p in a.phases.split(",") if p.strip()]
    if not (
        0 < a.seconds <= 600
        and 0 <= a.report_intervals <= 20_000_000
        and set(phases) <= {"batch", "single", "lag", "report"}
    ):
        ap.error("bad --seconds, --report-intervals or --phases")
    result = {
        "benchmark": "heartbeats",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    stack = aw = None
    try:
        stack = StintStack(max_lifetime=3600).start()
        result["stint_stack"] = f"manage.py runstack ({stack.web_process_count()} web processes), as make run starts it"
        log(f"Stint up on {stack.base_url}")
        if not a.skip_aw and ("single" in phases or "report" in phases):
            aw = AwServer().start()
            log(f"aw-server up on 127.0.0.1:{aw.port}")
        if "batch" in phases:
            log("batch: 16 devices x 100 heartbeats per request")
            result["batch"] = run_batch(stack, a.seconds)
            log(f"  {result['batch']}")
            stack.wait_idle(max_wait=120)
        if "single" in phases:
            for clients in (8, 32):
                log(f"single: {clients} devices x 1 heartbeat per request")
                result[f"single_{clients}"] = run_single(stack, aw, clients, a.seconds)
                log(f"  {result[f'single_{clients}']}")
                stack.wait_idle(max_wait=120)
        if "lag" in phases:
            log(f"lag: {a.lag_rate:,.0f} heartbeats/s background, probes every 0.5 s")
            result["lag"] = asyncio.run(_lag(stack, max(a.seconds, 20.0), a.lag_rate))
            log(f"  {result['lag']}")
            stack.wait_idle(max_wait=120)
        if "report" in phases:
            log(f"report: {a.report_intervals:,} intervals, /reports/apps x {a.report_calls}")
            result["report"] = run_report(stack, aw, a.report_intervals, a.aw_events, a.report_calls)
            log(f"  {result['report']}")
    finally:
        if aw:
            aw.stop()
        if stack:
            stack.stop()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2, default=str))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
