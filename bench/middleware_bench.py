"""The request floor, middleware by middleware (issue 21): what each entry of settings.MIDDLEWARE
costs on an authenticated ``GET /api/v1/me``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stint_bench21 REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/middleware_bench.py --rounds 20 --calls 100
    ... --cprofile          # plus a cProfile of the full stack (top functions, cumulative and own time)

The database must be migrated (``manage.py migrate`` with the same DATABASE_URL). Variants:
``full`` (settings.MIDDLEWARE as shipped), ``-<Name>`` (the full stack without that one entry),
``none`` (no middleware at all: the floor of URL resolving + DRF + the view) and
``throttle off`` (the full stack with the DRF per-user throttle switched off through its own
setting, ``THROTTLE_USER_RATE=off``: the issue names it beside the middleware), and two
``full (control N)``: the full stack in two more processes, whose "savings" are the noise floor.

Each variant is its own long-lived process (``DJANGO_SETTINGS_MODULE=middleware_settings``,
``BENCH_MIDDLEWARE_DROP=<dotted paths>``, bench/middleware_settings.py; config/settings.py is
untouched) that builds Django's WSGI handler (what daphne serves HTTP through, via a2wsgi: see
config/asgi.py), freezes the start-up objects and sets the GC thresholds as config/asgi.py does,
signs a user in (a device session and its JWT, as ``POST /auth/login`` makes) and calls the
handler in-process: ``--warmup`` untimed calls, then ``--calls`` timed ones per round, each
checked to answer 200. So the figures are the Django side of a request (no socket, no HTTP
parsing, no a2wsgi thread hop), against the real PostgreSQL and Redis the URLs name. Variants
run in ``--rounds`` short rounds (default 20 x 100 calls), in a fresh random order each round,
so the shared machine's busy minutes fall on every variant alike.

Per variant: medians over rounds of p50 and p90 wall time per call and of process CPU per call
(less disturbed by other processes on the machine than wall time). A middleware's cost = full -
without it, also "paired": the median over rounds of (full - variant) in the same round.
JSON on stdout and in --out; a Markdown table and the load average on stderr."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PYTHON = REPO_DIR / ".venv" / "bin" / "python"
EMAIL = "middleware-bench@bench.test"
BROWSER_SESSION_STACK = {
    "SessionMiddleware",
    "AuthenticationMiddleware",
    "DeviceSessionMiddleware",
    "MessageMiddleware",
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# --------------------------------------------------------------------------- the child
def worker() -> None:
    """One variant's process: sets up once, then answers each ``{"calls", "warmup", "profile"}``
    line on stdin with one JSON line on stdout (so Django's start-up is paid once per variant,
    not once per round)."""
    import gc

    import django

    # Answers go to the original stdout; everything else that writes to stdout (the logging
    # handlers django.setup() makes hold sys.stdout) goes to stderr instead, so a log line is
    # never read as an answer.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from accounts.models import User
    from accounts.services import DeviceInfo, session_create

    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=EMAIL, password="Bench-middleware-1!", name="Middleware Bench")
    app = get_wsgi_application()
    gc.collect()
    gc.freeze()  # as config/asgi.py does in every web process
    gc.set_threshold(10_000, 10, 10)
    out.write(json.dumps({"ready": True, "middleware": len(settings.MIDDLEWARE)}) + "\n")
    out.flush()
    for line in sys.stdin:
        cmd = json.loads(line)
        # A fresh device session per round: the access token outlives no round.
        token = session_create(user=user, device=DeviceInfo(device_name="bench"), stay_logged_in=False).access
        try:
            answer = measure(app, token, cmd["calls"], cmd["warmup"], cmd["profile"])
        except Exception as exc:  # noqa: BLE001  (reported as this variant's error)
            answer = {"error": repr(exc)}
        answer["middleware"] = len(settings.MIDDLEWARE)
        out.write(json.dumps(answer) + "\n")
        out.flush()


def measure(app, token: str, calls: int, warmup: int, profile: bool) -> dict:
    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/api/v1/me",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    statuses: dict[str, int] = {}

    def start_response(status: str, headers: list, exc_info=None) -> None:
        statuses[status] = statuses.get(status, 0) + 1

    def call() -> bytes:
        env = dict(environ)
        env["wsgi.input"] = io.BytesIO(b"")
        response = app(env, start_response)
        try:
            return b"".join(response)
        finally:
            close = getattr(response, "close", None)
            if close:
                close()

    for _ in range(warmup):
        body = call()
    if list(statuses) != ["200 OK"]:
        return {"error": f"answers {statuses}: {body[:300]!r}"}
    statuses.clear()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    times = []
    cpu0 = time.process_time()
    for _ in range(calls):
        t = time.perf_counter()
        call()
        times.append((time.perf_counter() - t) * 1e6)
    cpu = (time.process_time() - cpu0) / calls * 1e6
    out: dict = {
        "statuses": statuses,
        "p50_us": round(pct(times, 50), 1),
        "p90_us": round(pct(times, 90), 1),
        "mean_us": round(statistics.fmean(times), 1),
        "cpu_us": round(cpu, 1),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    if profiler is not None:
        import pstats

        profiler.disable()
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(45)
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(40)
        # The metrics middleware (the largest single cost in the table): where its time goes.
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(r"prometheus", 25)
        out["cprofile_top"] = stream.getvalue()
    return out


# --------------------------------------------------------------------------- the parent
def full_middleware() -> list[str]:
    """settings.MIDDLEWARE as shipped, read in a child (this process never imports Django)."""
    code = "import django; django.setup(); from django.conf import settings; print('\\n'.join(settings.MIDDLEWARE))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([str(PYTHON), "-c", code], cwd=REPO_DIR, env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


class Variant:
    """A long-lived worker process for one variant of the settings."""

    def __init__(self, name: str, drop: list[str], extra_env: dict, errlog: Path):
        self.name = name
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "middleware_settings",
            "PYTHONPATH": os.pathsep.join([str(BENCH_DIR), str(REPO_DIR)]),
            "BENCH_MIDDLEWARE_DROP": ",".join(drop),
            "STINT_ENV": "development",
            "DEBUG": "false",
            "LOG_LEVEL": "WARNING",
            # the per-user limit stays on (its counting is in every figure), far out of reach
            "THROTTLE_USER_RATE": "100000000/min",
            **extra_env,
        }
        self.errlog = errlog
        self.proc = subprocess.Popen(
            [str(PYTHON), str(Path(__file__).resolve()), "--worker"],
            cwd=REPO_DIR,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog.open("wb"),
            text=True,
        )
        self.ready: dict | None = None

    def _answer(self) -> dict:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            tail = self.errlog.read_text(errors="replace")[-600:]
            return {"error": f"worker exited ({self.proc.poll()}): {tail}"}
        return json.loads(line)

    def wait_ready(self) -> dict:
        self.ready = self._answer()
        return self.ready

    def run(self, calls: int, warmup: int, profile: bool = False) -> dict:
        if not self.ready or "error" in self.ready:
            return {"error": (self.ready or {}).get("error", "not ready")}
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"calls": calls, "warmup": warmup, "profile": profile}) + "\n")
        self.proc.stdin.flush()
        return self._answer()

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=20)
    ap.add_argument("--calls", type=int, default=100, help="timed calls per variant per round (100)")
    ap.add_argument("--warmup", type=int, default=100, help="untimed calls before round 1 (later rounds: 10)")
    ap.add_argument("--cprofile", action="store_true", help="also one cProfiled run of the full stack")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "middleware.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        worker()
        return 0
    if not (1 <= a.rounds <= 100 and 10 <= a.calls <= 100_000):
        ap.error("--rounds 1..100, --calls 10..100000")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        ap.error("set DATABASE_URL and REDIS_URL (a migrated database, a Redis db of your own)")

    full = full_middleware()
    variants: dict[str, tuple[list[str], dict]] = {"full": ([], {}), "none": (list(full), {})}
    variants.update({f"-{path.rsplit('.', 1)[1]}": ([path], {}) for path in full})
    # The browser-session stack as one: SessionMiddleware alone cannot go (AuthenticationMiddleware
    # needs request.session), and a bearer-token API request uses none of the four.
    browser = [p for p in full if p.rsplit(".", 1)[1] in BROWSER_SESSION_STACK]
    variants["-browser sessions (4)"] = (browser, {})
    variants["throttle off"] = ([], {"THROTTLE_USER_RATE": "off"})
    # Controls: the full stack again in other processes. Their spread around "full" is the
    # noise floor of one process against another (the machine, not the middleware).
    variants.update({f"full (control {i})": ([], {}) for i in (2, 3)})
    result: dict = {
        "benchmark": "middleware",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "middleware": full,
        "runs": {name: [] for name in variants},
    }
    rng = random.Random(21)
    logs = Path(tempfile.mkdtemp(prefix="middleware-bench-"))
    workers: dict[str, Variant] = {}
    try:
        names = list(variants)
        for i in range(0, len(names), 4):  # start-ups four at a time: the machine has 2 cores
            batch = [Variant(n, *variants[n], logs / f"{i}-{j}.log") for j, n in enumerate(names[i : i + 4])]
            for v in batch:
                workers[v.name] = v
                ready = v.wait_ready()
                if "error" in ready:
                    log(f"{v.name}: {ready['error']}")
        log(f"{len(workers)} variant processes ready (load {os.getloadavg()[0]:.2f})")
        for rnd in range(a.rounds):
            order = list(variants)
            rng.shuffle(order)
            for name in order:
                r = workers[name].run(a.calls, a.warmup if rnd == 0 else min(a.warmup, 10))
                if "error" not in r and "p50_us" not in r:
                    r = {"error": f"unexpected answer {r!r}"[:600]}
                result["runs"][name].append(r)
                shown = r.get("error") or f"p50 {r['p50_us']} us, cpu {r['cpu_us']} us (load {r['loadavg'][0]})"
                log(f"round {rnd + 1}/{a.rounds} {name}: {shown}")
        if a.cprofile:
            r = workers["full"].run(a.calls, a.warmup, profile=True)
            result["cprofile_full"] = r.get("cprofile_top") or r.get("error")
    finally:
        for v in workers.values():
            v.close()
        shutil.rmtree(logs, ignore_errors=True)
    summary = {}
    for name, runs in result["runs"].items():
        ok = [r for r in runs if "error" not in r]
        if not ok:
            summary[name] = {"error": runs[0]["error"] if runs else "not run"}
            continue
        summary[name] = {
            k: round(statistics.median(r[k] for r in ok), 1) for k in ("p50_us", "p90_us", "mean_us", "cpu_us")
        }
    base = summary["full"]
    for name, s in summary.items():
        if "error" not in s and "error" not in base:
            s["saves_p50_us"] = round(base["p50_us"] - s["p50_us"], 1)
            s["saves_cpu_us"] = round(base["cpu_us"] - s["cpu_us"], 1)
            # Paired by round (the same minutes of the shared machine): median of full - variant.
            pairs = [
                (f, v)
                for f, v in zip(result["runs"]["full"], result["runs"][name], strict=True)
                if "error" not in f and "error" not in v
            ]
            if pairs:
                s["saves_cpu_paired_us"] = round(statistics.median(f["cpu_us"] - v["cpu_us"] for f, v in pairs), 1)
                s["saves_p50_paired_us"] = round(statistics.median(f["p50_us"] - v["p50_us"] for f, v in pairs), 1)
    result["summary"] = summary
    if result.get("cprofile_full"):
        log(result["cprofile_full"])
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result["summary"], indent=2))
    log(
        "\n| Variant | p50 µs | p90 µs | CPU µs/request | p50 saved | CPU saved | CPU saved, paired |"
        "\n|---|---|---|---|---|---|---|"
    )
    for name, s in summary.items():
        if "error" in s:
            log(f"| {name} | error: {s['error'][:120]} | | | | | |")
        else:
            log(
                f"| {name} | {s['p50_us']} | {s['p90_us']} | {s['cpu_us']} | {s.get('saves_p50_us', '')} "
                f"| {s.get('saves_cpu_us', '')} | {s.get('saves_cpu_paired_us', '')} |"
            )
    log(f"load average at start {result['machine']['loadavg_at_start']}, at end {result['machine']['loadavg_at_end']}")
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
