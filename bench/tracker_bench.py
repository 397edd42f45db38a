"""Bring your own tracker (issue 17): ActivityWatch's and WakaTime's protocols against Stint,
beside aw-server 0.12 fed the same streams, in one run.

    bench/peers/aw_setup.sh                                       # once: aw-server 0.12
    .venv/bin/python bench/tracker_bench.py --seconds 12          # all phases, ~3 min
    .venv/bin/python bench/tracker_bench.py --phases aw --skip-stint   # the harness against aw-server alone
    .venv/bin/python bench/tracker_bench.py --phases waka,lag --seconds 12

Phases (``--phases``, comma list):

* ``aw``   : one heartbeat per request, ``POST /api/0/buckets/{id}/heartbeat?pulsetime=S``, 8 and
  then 32 devices, each its own user and ``currentwindow`` bucket (created first, as
  aw-watcher-window does), Stint and aw-server one after the other on the same streams. A
  device's stream is aw-watcher-window's: one event every ``--aw-interval`` (1 s) of
  simulated time with ``duration`` 0 and ``pulsetime`` = interval + 1 (the watcher's
  ``poll_time + 1``), the window (app, title) changing every 2-10 beats. Target: Stint >= 6x
  aw-server's heartbeats/s, p99 < 30 ms at 32 devices.
* ``waka`` : ``POST /api/compat/wakatime/v1/users/current/heartbeats.bulk``, 25 heartbeats per
  request (what wakatime-cli sends), 16 devices (each its own user, ``X-Machine-Name``), editor
  heartbeats as a plugin sends them (the file changing every few beats, a write now and then,
  1-30 s apart). A heartbeat counts when its item in ``responses`` is 201/202. Target:
  >= 20,000 heartbeats/s, p99 < 100 ms.
* ``lag``  : 10,000 heartbeats/s of background load (``/api/v1/sync/heartbeats``, 16 devices,
  100 per request, paced) and every 0.5 s a probe heartbeat of a new app through the
  ActivityWatch endpoint (``--lag-probe aw``, the default) or ``/sync/heartbeats``; lag = probe
  accepted -> the app shows in that user's ``/reports/apps``. Target: p99 < 5 s.
* ``apps`` : ``/reports/apps`` for one user's day covered by 3 devices x 1,000 overlapping
  intervals (COPYed), 100 calls: what counting each moment once (activity.timeline) costs.

Authentication is the trackers' own: personal access tokens (scope ``ingest``) made with
``accounts.personal_tokens.personal_token_create`` in the stack's environment, sent as
aw-client sends them (Basic ``base64("<token>:")``) and as WakaTime does (Basic
``base64("<token>")``). Without that module (a tree before the PAT core) the bench falls back to
the login's Bearer access token and says so in the result (``auth``).

Machinery (the stack, aw-server, the load loop, percentiles, the lag probe) is
``heartbeat_bench.py``'s, imported. Each phase records the load average at its start (the
machine is shared) and the server CPU it took. JSON in ``bench/results/trackers.json``;
progress and a summary on stderr. Results: docs/benchmarks.md, "Issue 17"."""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import http.client
import json
import os
import random
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from heartbeat_bench import (  # noqa: E402
    APPS,
    DOMAINS,
    AwServer,
    ProbeClock,
    Stream,
    _lag,
    log,
    pct,
    phase,
    run_single,
    stint_accounts,
    sync_probe,
)
from stint_stack import BENCH_DIR, REPO_DIR, StintStack  # noqa: E402

WAKA = "/api/compat/wakatime/v1"
USER_AGENT = "wakatime/v1.98.3 (linux-6.1.0-amd64-x86_64) go1.22.5 vscode/1.91.1 vscode-wakatime/24.6.1"
LANGUAGES = {".py": "Python", ".ts": "TypeScript", ".go": "Go", ".md": "Markdown", ".html": "HTML", ".sql": "SQL"}

# Run in the stack's environment (manage.py shell): one ingest token per e-mail of
# BENCH_TOKEN_EMAILS; prints {"tokens": [...]} or {"missing": reason} on a tree without PATs.
_TOKENS_SCRIPT = """
import json, os
try:
    from accounts import personal_tokens as pt
except ImportError as exc:
    print(json.dumps({"missing": repr(exc)}))
else:
    from accounts.models import User
    scopes = [getattr(pt, "INGEST", "ingest")]
    out = []
    for email in json.loads(os.environ["BENCH_TOKEN_EMAILS"]):
        _, raw = pt.personal_token_create(user=User.objects.get(email=email), name="bench", scopes=scopes)
        out.append(raw)
    print(json.dumps({"tokens": out}))
"""


class Credentials:
    """How a simulated tracker authenticates: a personal access token in the tracker's own
    header, or (a tree without PATs) the login's Bearer token."""

    def __init__(self, pat: str | None, jwt: str):
        self.pat, self.jwt = pat, jwt

    def aw(self) -> dict:  # aw-client: http://<token>@host -> Basic base64("<token>:")
        if self.pat is None:
            return {"Authorization": f"Bearer {self.jwt}"}
        return {"Authorization": "Basic " + base64.b64encode(f"{self.pat}:".encode()).decode()}

    def waka(self) -> dict:  # wakatime-cli: Basic base64(api_key)
        if self.pat is None:
            return {"Authorization": f"Bearer {self.jwt}"}
        return {"Authorization": "Basic " + base64.b64encode(self.pat.encode()).decode()}


AUTH_MODE = {"auth": "unknown"}


def tracker_accounts(stack: StintStack, n: int, label: str) -> list[Credentials]:
    """n users (each their own company) with an ingest token each."""
    accounts = stint_accounts(stack.host, stack.port, n, label)
    env = {**stack.env(), "BENCH_TOKEN_EMAILS": json.dumps([email for email, _ in accounts])}
    done = subprocess.run(
        [str(stack.python), "manage.py", "shell", "-c", _TOKENS_SCRIPT],
        env=env,
        cwd=REPO_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError("making tokens failed: " + done.stderr[-2000:])
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    if "missing" in answer:
        AUTH_MODE["auth"] = "jwt-bearer (no accounts.personal_tokens in this tree: " + answer["missing"] + ")"
        return [Credentials(None, jwt) for _, jwt in accounts]
    AUTH_MODE["auth"] = "personal access tokens (ingest), Basic as aw-client and wakatime-cli send them"
    return [Credentials(pat, jwt) for pat, (_, jwt) in zip(answer["tokens"], accounts, strict=True)]


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# --profile: py-spy on one web process during each Stint phase; wall time (``--idle``, waits on
# PostgreSQL included) or, with --profile-cpu, only the samples where a thread was on a CPU.
PROFILE: dict = {"seconds": 0.0, "idle": True}


def py_spy() -> str | None:
    for candidate in (BENCH_DIR / ".venvs" / "py-spy" / "bin" / "py-spy", REPO_DIR / ".venv" / "bin" / "py-spy"):
        if candidate.exists():
            return str(candidate)
    return shutil.which("py-spy")


def start_profile(stack: StintStack, name: str) -> tuple[subprocess.Popen, Path] | None:
    """``py-spy record --idle`` (wall time, waits included) of one web process for the phase;
    ``bench/.venvs/py-spy`` (``python3 -m venv bench/.venvs/py-spy && bench/.venvs/py-spy/bin/pip
    install py-spy``), the project's venv or PATH."""
    spy = py_spy()
    if not PROFILE["seconds"] or spy is None:
        return None
    web = next(pid for pid, role in stack.processes().items() if role == "web")
    out = BENCH_DIR / "results" / f"profile-trackers-{name}.raw"
    out.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [spy, "record", "-p", str(web), "-d", str(int(PROFILE["seconds"])), "-r", "100"]
        + (["--idle"] if PROFILE["idle"] else [])
        + ["-f", "raw", "-o", str(out), "--nonblocking"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, out


def end_profile(started: tuple[subprocess.Popen, Path] | None, top: int = 40) -> dict | None:
    """Each function's inclusive share of the request threads' samples (sync_profile's
    ``summarize``), and where the raw stacks are."""
    if started is None:
        return None
    proc, out = started
    proc.wait(timeout=300)
    if not out.exists():
        return {"error": "py-spy wrote nothing (ptrace not allowed?)"}
    from sync_profile import REQUEST_THREAD, summarize

    # Sync views run in a worker thread of the web server (under daphne: asgiref's
    # SyncToAsync.thread_handler; under a WSGI server: its thread pool's _worker).
    shares = summarize(out, REQUEST_THREAD, top) or summarize(out, "get_response", top)
    everything = summarize(out, "", top)
    return {
        "raw": str(out),
        "mode": "wall" if PROFILE["idle"] else "cpu",
        "request_thread_top": [f"{share:.1f}% {name}" for share, name in shares],
        "process_top": [f"{share:.1f}% {name}" for share, name in everything],
    }


# --------------------------------------------------------------------------- ActivityWatch


LEAN_REFERENCE = {"on": False}  # --lean-reference


def bucket_id(clients: int, i: int) -> str:
    return f"aw-watcher-window_bench-{clients}-{i}"


async def aw_create_buckets(base: str, ids: list[str], headers: list[dict]) -> None:
    async with aiohttp.ClientSession() as session:
        for i, bid in enumerate(ids):
            body = {"client": "aw-watcher-window", "type": "currentwindow", "hostname": bid.split("_", 1)[1]}
            async with session.post(f"{base}/api/0/buckets/{bid}", json=body, headers=headers[i]) as resp:
                text = await resp.read()
                if resp.status not in (200, 304):
                    raise RuntimeError(f"creating bucket {bid}: {resp.status} {text[:300]!r}")


def aw_heartbeat_sender(
    session: aiohttp.ClientSession, base: str, bid: str, stream: Stream, headers: dict, pulsetime: float
):
    """aw-watcher-window's heartbeat: ``{timestamp, duration: 0, data: {app, title}}``."""
    url = f"{base}/api/0/buckets/{bid}/heartbeat?pulsetime={pulsetime:g}"
    headers = {**headers, "Content-Type": "application/json"}

    async def send() -> int:
        hb = stream.next()
        data = {"app": hb["app"], "title": hb["title"]}
        body = json.dumps({"timestamp": hb["timestamp"], "duration": 0, "data": data})
        async with session.post(url, data=body, headers=headers) as resp:
            text = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{resp.status} {text[:200]!r}")
            return 1

    return send


async def aw_events_count(base: str, bid: str, headers: dict) -> int | None:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base}/api/0/buckets/{bid}/events/count", headers=headers) as resp,
    ):
        return int(await resp.text()) if resp.status == 200 else None


def aw_streams(clients: int, interval: float) -> list[Stream]:
    return [Stream(700 + clients * 100 + i, interval, stay=(2, 10)) for i in range(clients)]


def run_aw(stack: StintStack | None, aw: AwServer | None, clients: int, seconds: float, interval: float) -> dict:
    pulsetime = interval + 1.0
    ids = [bucket_id(clients, i) for i in range(clients)]
    out: dict = {"pulsetime": pulsetime}
    if stack:
        creds = tracker_accounts(stack, clients, f"aw{clients}")
        headers = [c.aw() for c in creds]
        base = stack.base_url
        asyncio.run(aw_create_buckets(base, ids, headers))
        streams = aw_streams(clients, interval)
        out["stint_loadavg"] = loadavg()
        profile = start_profile(stack, f"aw{clients}")
        before = stack.cpu_snapshot()
        out["stint"] = asyncio.run(
            phase(
                lambda s, i: aw_heartbeat_sender(s, base, ids[i], streams[i], headers[i], pulsetime), clients, seconds
            )
        )
        out["stint"]["server_cpu_s"] = stack.cpu_delta(before, stack.cpu_snapshot())
        out["stint"]["profile"] = end_profile(profile)
        out["stint"]["events_in_first_bucket"] = asyncio.run(aw_events_count(base, ids[0], headers[0]))
        out["stint"]["idle_after_s"] = round(stack.wait_idle(max_wait=60), 1)
    if aw:
        base = f"http://127.0.0.1:{aw.port}"
        asyncio.run(aw_create_buckets(base, ids, [{} for _ in ids]))
        streams = aw_streams(clients, interval)  # the same streams from their start
        out["aw_loadavg"] = loadavg()
        cpu = aw.cpu_s()
        out["aw"] = asyncio.run(
            phase(lambda s, i: aw_heartbeat_sender(s, base, ids[i], streams[i], {}, pulsetime), clients, seconds)
        )
        out["aw"]["server_cpu_s"] = round(aw.cpu_s() - cpu, 2)
        out["aw"]["events_in_first_bucket"] = asyncio.run(aw_events_count(base, ids[0], {}))
    if stack and LEAN_REFERENCE["on"]:
        # As many devices through /sync/heartbeats, one heartbeat per request (heartbeat_bench's
        # streams): the lean intake on the event loop (docs/activity.md), what the ActivityWatch
        # route could reuse, measured under the same conditions.
        out["stint_sync_loadavg"] = loadavg()
        out["stint_sync"] = run_single(stack, None, clients, seconds)["stint"]
    if "stint" in out and "aw" in out and out["aw"]["heartbeats_per_s"]:
        out["ratio"] = round(out["stint"]["heartbeats_per_s"] / out["aw"]["heartbeats_per_s"], 2)
        if "stint_sync" in out:
            out["sync_ratio"] = round(out["stint_sync"]["heartbeats_per_s"] / out["aw"]["heartbeats_per_s"], 2)
    return out


# --------------------------------------------------------------------------- WakaTime


class CodingStream:
    """One machine's editor heartbeats as a WakaTime plugin sends them."""

    def __init__(self, seed: int):
        self.rnd = random.Random(seed)
        self.start = datetime.now(UTC) - timedelta(days=10)
        self.t = self.start.timestamp() + self.rnd.uniform(0, 3600)
        self.project = f"project-{seed % 5}"
        self.left = 0
        self.entity = self.language = ""

    def next(self) -> dict:
        if self.left <= 0:
            if self.rnd.random() < 0.1:
                self.project = f"project-{self.rnd.randrange(5)}"
            ext = self.rnd.choice(list(LANGUAGES))
            self.entity = f"/home/dev/{self.project}/src/module_{self.rnd.randint(1, 60)}{ext}"
            self.language = LANGUAGES[ext]
            self.left = self.rnd.randint(2, 8)
        self.left -= 1
        self.t += self.rnd.uniform(1.0, 30.0)
        if self.t > datetime.now(UTC).timestamp() + 1800:  # stay inside the accepted window
            self.t = self.start.timestamp() + self.rnd.uniform(0, 60)
        return {
            "entity": self.entity,
            "type": "file",
            "category": "coding",
            "time": round(self.t, 6),
            "project": self.project,
            "branch": "main",
            "language": self.language,
            "lines": self.rnd.randint(40, 900),
            "lineno": self.rnd.randint(1, 40),
            "cursorpos": self.rnd.randint(1, 80),
            "is_write": self.rnd.random() < 0.1,
            "dependencies": ["django", "pytest"] if self.language == "Python" else [],
            "user_agent": USER_AGENT,
        }


def waka_sender(
    session: aiohttp.ClientSession, base: str, creds: Credentials, stream: CodingStream, batch: int, machine: str, tally
):
    headers = {**creds.waka(), "Content-Type": "application/json", "User-Agent": USER_AGENT, "X-Machine-Name": machine}
    url = f"{base}{WAKA}/users/current/heartbeats.bulk"

    async def send() -> int:
        body = json.dumps([stream.next() for _ in range(batch)])
        async with session.post(url, data=body, headers=headers) as resp:
            text = await resp.read()
            if resp.status not in (200, 201, 202):
                raise RuntimeError(f"{resp.status} {text[:200]!r}")
        statuses = [item[1] for item in json.loads(text)["responses"]]
        ok = sum(1 for status in statuses if status in (200, 201, 202))
        if ok < len(statuses):
            tally["refused_items"] += len(statuses) - ok
            tally.setdefault("first_refused", next(item for item in json.loads(text)["responses"] if item[1] >= 300))
        return ok

    return send


def run_waka(stack: StintStack, clients: int, batch: int, seconds: float) -> dict:
    creds = tracker_accounts(stack, clients, "waka")
    base = stack.base_url
    streams = [CodingStream(900 + i) for i in range(clients)]
    tally: dict = {"refused_items": 0}
    out: dict = {"clients": clients, "batch": batch, "loadavg": loadavg()}
    profile = start_profile(stack, "waka")
    before = stack.cpu_snapshot()
    out["stint"] = asyncio.run(
        phase(
            lambda s, i: waka_sender(s, base, creds[i], streams[i], batch, f"bench-machine-{i}", tally),
            clients,
            seconds,
        )
    )
    out["stint"]["server_cpu_s"] = stack.cpu_delta(before, stack.cpu_snapshot())
    out["stint"]["profile"] = end_profile(profile)
    out["stint"].update(tally)
    out["stint"]["idle_after_s"] = round(stack.wait_idle(max_wait=120), 1)
    return out


# --------------------------------------------------------------------------- merge lag


def aw_probe(stack: StintStack, interval: float):
    """The lag phase's probe through ``/api/0/``: the probe user's own ingest token and
    ``currentwindow`` bucket; each probe a window of a new app, one second long."""

    def make(base: str, account: tuple[str, str]):
        email, jwt = account
        env = {**stack.env(), "BENCH_TOKEN_EMAILS": json.dumps([email])}
        done = subprocess.run(
            [str(stack.python), "manage.py", "shell", "-c", _TOKENS_SCRIPT],
            env=env,
            cwd=REPO_DIR,
            capture_output=True,
            text=True,
            timeout=300,
        )
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        creds = Credentials(answer.get("tokens", [None])[0], jwt)
        if creds.pat is None:
            AUTH_MODE["auth"] = "jwt-bearer (no accounts.personal_tokens in this tree)"
        elif AUTH_MODE["auth"] == "unknown":
            AUTH_MODE["auth"] = "personal access tokens (ingest), Basic as aw-client sends them"
        bid = "aw-watcher-window_probe"
        # Called inside the running loop, before the load starts: the bucket made synchronously.
        conn = http.client.HTTPConnection(stack.host, stack.port, timeout=30)
        conn.request(
            "POST",
            f"/api/0/buckets/{bid}",
            json.dumps({"client": "aw-watcher-window", "type": "currentwindow", "hostname": "probe"}),
            {**creds.aw(), "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        resp.read()
        conn.close()
        assert resp.status in (200, 304), resp.status
        url = f"{base}/api/0/buckets/{bid}/heartbeat?pulsetime={interval + 1:g}"

        clock = ProbeClock()

        async def send(session: aiohttp.ClientSession, app: str) -> None:
            body = {"timestamp": clock.next(), "duration": 1, "data": {"app": app, "title": app}}
            async with session.post(url, json=body, headers=creds.aw()) as resp:
                assert resp.status == 200, await resp.text()

        return send

    return make


# --------------------------------------------------------------------------- apps report


def run_apps_report(stack: StintStack, devices: int, per_device: int, calls: int) -> dict:
    """``/reports/apps`` for a day that ``devices`` devices of one user cover with
    ``per_device`` intervals each, overlapping (every moment counted once: activity.timeline)."""
    import psycopg

    _, jwt = stint_accounts(stack.host, stack.port, 1, "apps")[0]
    headers = {"Authorization": f"Bearer {jwt}"}
    me = http.client.HTTPConnection(stack.host, stack.port, timeout=60)

    def get(path: str) -> tuple[int, bytes]:
        me.request("GET", path, headers=headers)
        resp = me.getresponse()
        return resp.status, resp.read()

    user_id = json.loads(get("/api/v1/me")[1])["id"]
    company_id = json.loads(get("/api/v1/companies")[1])["results"][0]["id"]
    day = (datetime.now(UTC) - timedelta(days=2)).date()
    lo = datetime(day.year, day.month, day.day, tzinfo=UTC)
    ensure = (
        "from datetime import datetime, timedelta, UTC; from activity import partitions; "
        "partitions.ensure(partitions.APP_USAGE, partitions.months_between("
        "datetime.now(UTC) - timedelta(days=4), datetime.now(UTC)))"
    )
    subprocess.run(
        [str(stack.python), "manage.py", "shell", "-c", ensure],
        env=stack.env(),
        cwd=REPO_DIR,
        check=True,
        capture_output=True,
        timeout=300,
    )
    rnd = random.Random(11)
    step = timedelta(days=1) / per_device
    dsn = f"postgresql://postgres@/stint_bench?host={stack.datadir / 'pg'}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY tracking_appusage (company_id, user_id, device_id, app, title, url, domain, started_at, "
                "ended_at) FROM STDIN"
            ) as copy,
        ):
            for device in range(devices):
                start = lo + step * rnd.random()  # the devices' intervals overlap, never align
                for _ in range(per_device):
                    app = APPS[rnd.randrange(8)]
                    domain = DOMAINS[rnd.randrange(12)] if app == "Firefox" else ""
                    url = f"https://{domain}/" if domain else ""
                    end = min(start + step * rnd.uniform(0.5, 0.95), lo + timedelta(days=1))
                    copy.write_row((company_id, user_id, f"dev-{device}", app, "", url, domain, start, end))
                    start += step
        conn.execute("ANALYZE tracking_appusage")
    path = f"/api/v1/reports/apps?date={day}&tz=UTC"
    times = []
    body = b""
    for n in range(calls + 5):
        sent = time.perf_counter()
        status, body = get(path)
        if n >= 5:
            times.append((time.perf_counter() - sent) * 1000)
        assert status == 200, body[:300]
    me.close()
    answer = json.loads(body)
    return {
        "devices": devices,
        "intervals": devices * per_device,
        "calls": calls,
        "loadavg": loadavg(),
        "p50_ms": round(pct(times, 50) or 0, 2),
        "p99_ms": round(pct(times, 99) or 0, 2),
        "apps_seconds": sum(a["seconds"] for a in answer["apps"]),  # at most the day's 86,400
        "domains_seconds": sum(d["seconds"] for d in answer["domains"]),
    }


# --------------------------------------------------------------------------- main


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--phases", default="aw,waka,lag,apps")
    ap.add_argument("--seconds", type=float, default=12.0)
    ap.add_argument("--aw-clients", default="8,32")
    ap.add_argument("--aw-interval", type=float, default=1.0, help="simulated seconds between a watcher's beats")
    ap.add_argument("--waka-clients", type=int, default=16)
    ap.add_argument("--waka-batch", type=int, default=25)
    ap.add_argument("--lag-rate", type=float, default=10_000.0)
    ap.add_argument("--lag-probe", choices=("aw", "sync"), default="aw")
    ap.add_argument("--apps-devices", type=int, default=3)
    ap.add_argument("--apps-intervals", type=int, default=1000, help="per device, over one day")
    ap.add_argument("--apps-calls", type=int, default=100)
    ap.add_argument("--profile", action="store_true", help="py-spy one web process in each Stint phase")
    ap.add_argument("--profile-cpu", action="store_true", help="--profile, CPU samples only (no --idle)")
    ap.add_argument(
        "--lean-reference", action="store_true", help="aw phase: also /sync/heartbeats, 1 per request (the lean path)"
    )
    ap.add_argument("--skip-aw", action="store_true", help="no aw-server")
    ap.add_argument("--skip-stint", action="store_true", help="aw-server alone (tests the harness)")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "trackers.json"))
    a = ap.parse_args(argv)
    phases = [p.strip() for p in a.phases.split(",") if p.strip()]
    PROFILE["seconds"] = a.seconds if a.profile or a.profile_cpu else 0.0
    PROFILE["idle"] = not a.profile_cpu
    LEAN_REFERENCE["on"] = a.lean_reference
    aw_clients = [int(n) for n in a.aw_clients.split(",") if n.strip()]
    if not (
        0 < a.seconds <= 300
        and set(phases) <= {"aw", "waka", "lag", "apps"}
        and 0 < a.apps_devices <= 16
        and 0 < a.apps_intervals <= 20_000
        and 0 < a.apps_calls <= 1000
        and all(0 < n <= 256 for n in aw_clients)
        and 0 < a.waka_clients <= 256
        and 0 < a.waka_batch <= 1000
    ):
        ap.error("bad --seconds, --phases, --aw-clients, --waka-clients or --waka-batch")
    result: dict = {
        "benchmark": "trackers",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": loadavg()},
    }
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        result["commit"] = subprocess.run(
            ["git", "-C", str(REPO_DIR), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    stack = aw = None
    try:
        if not a.skip_stint:
            stack = StintStack(max_lifetime=3600).start()
            result["stint_stack"] = f"manage.py runstack ({stack.web_process_count()} web processes)"
            log(f"Stint up on {stack.base_url}")
        if not a.skip_aw and "aw" in phases:
            aw = AwServer().start()
            log(f"aw-server up on 127.0.0.1:{aw.port}")
        if "aw" in phases:
            for clients in aw_clients:
                log(f"aw: {clients} devices x 1 heartbeat per request (load {loadavg()})")
                result[f"aw_{clients}"] = run_aw(stack, aw, clients, a.seconds, a.aw_interval)
                log(f"  {result[f'aw_{clients}']}")
        if stack and "waka" in phases:
            log(f"waka: {a.waka_clients} devices x {a.waka_batch} heartbeats per request (load {loadavg()})")
            result["waka"] = run_waka(stack, a.waka_clients, a.waka_batch, a.seconds)
            log(f"  {result['waka']}")
        if stack and "lag" in phases:
            log(f"lag: {a.lag_rate:,.0f} heartbeats/s background, {a.lag_probe} probes every 0.5 s (load {loadavg()})")
            make_probe = aw_probe(stack, a.aw_interval) if a.lag_probe == "aw" else sync_probe
            lag = {"probe": a.lag_probe, "loadavg": loadavg()}
            before = stack.cpu_snapshot()
            lag.update(asyncio.run(_lag(stack, max(a.seconds, 20.0), a.lag_rate, make_probe)))
            lag["server_cpu_s"] = stack.cpu_delta(before, stack.cpu_snapshot())
            # How long the worker takes to merge what is left: a backlog shows here.
            lag["idle_after_s"] = round(stack.wait_idle(max_wait=180), 1)
            result["lag"] = lag
            log(f"  {result['lag']}")
        if stack and "apps" in phases:
            log(f"apps: /reports/apps over {a.apps_devices} devices x {a.apps_intervals} intervals (load {loadavg()})")
            result["apps"] = run_apps_report(stack, a.apps_devices, a.apps_intervals, a.apps_calls)
            log(f"  {result['apps']}")
    finally:
        result["auth"] = AUTH_MODE["auth"]
        if aw:
            aw.stop()
        if stack:
            stack.stop()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2, default=str))
    log(summary(result))
    log(f"written to {a.out}")
    return 0


def summary(result: dict) -> str:
    lines = [f"auth: {result.get('auth')}"]
    for key, value in result.items():
        if key.startswith("aw_"):
            for side in ("stint", "aw"):
                if side in value:
                    r = value[side]
                    lines.append(
                        f"{key} {side}: {r['heartbeats_per_s']:,.0f} hb/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
                        f" errors {r['errors']} (load {value.get(side + '_loadavg')})"
                    )
            if "stint_sync" in value:
                r = value["stint_sync"]
                lines.append(
                    f"{key} stint /sync/heartbeats (lean path): {r['heartbeats_per_s']:,.0f} hb/s,"
                    f" p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms (load {value.get('stint_sync_loadavg')})"
                )
            if "ratio" in value:
                lines.append(f"{key} ratio Stint/aw: {value['ratio']} (lean path / aw: {value.get('sync_ratio')})")
    if "waka" in result:
        r = result["waka"]["stint"]
        lines.append(
            f"waka: {r['heartbeats_per_s']:,.0f} hb/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms,"
            f" errors {r['errors']}, refused items {r.get('refused_items')} (load {result['waka']['loadavg']})"
        )
    if "lag" in result:
        r = result["lag"]
        lines.append(
            f"lag ({r['probe']} probes): p50 {r['lag_p50_ms']} ms, p99 {r['lag_p99_ms']} ms, missing {r['missing']}"
            f" of {r['probes']}, background {r['background']['heartbeats_per_s']:,.0f} hb/s (load {r['loadavg']}),"
            f" worker CPU {r['server_cpu_s'].get('worker')} s, idle {r['idle_after_s']} s after"
        )
    if "apps" in result:
        r = result["apps"]
        lines.append(
            f"apps report, {r['devices']} devices x {r['intervals'] // r['devices']} intervals: p50 {r['p50_ms']} ms,"
            f" p99 {r['p99_ms']} ms, apps add up to {r['apps_seconds']} s (load {r['loadavg']})"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
