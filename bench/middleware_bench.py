"""The request floor, middleware by middleware (issue 21): what each entry of settings.MIDDLEWARE
costs on an authenticated ``GET /api/v1/me``.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stint_bench21 REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/middleware_bench.py --rounds 3 --calls 1000
    ... --cprofile SecurityMiddleware   # plus a cProfile of the full stack (top functions)

The database must be migrated (``manage.py migrate`` with the same DATABASE_URL). Variants:
``full`` (settings.MIDDLEWARE as shipped), ``-<Name>`` (the full stack without that one entry),
``none`` (no middleware at all: the floor of URL resolving + DRF + the view) and
``throttle off`` (the full stack with the DRF per-user throttle switched off through its own
setting, ``THROTTLE_USER_RATE=off``: the issue names it beside the middleware).

Each variant is its own process (``DJANGO_SETTINGS_MODULE=middleware_settings``,
``BENCH_MIDDLEWARE_DROP=<dotted paths>``, bench/middleware_settings.py; config/settings.py is
untouched) that builds Django's WSGI handler (what daphne serves HTTP through, via a2wsgi: see
config/asgi.py), freezes the start-up objects and sets the GC thresholds as config/asgi.py does,
signs a user in (a device session and its JWT, as ``POST /auth/login`` makes) and calls the
handler in-process: ``--warmup`` untimed calls, then ``--calls`` timed ones, each checked to
answer 200. So the figures are the Django side of a request (no socket, no HTTP parsing, no
a2wsgi thread hop), against the real PostgreSQL and Redis the URLs name. Variants run in
``--rounds`` rounds, in a fresh random order each round, and each figure is the median over
rounds, so a busy moment of the shared machine hits a different variant each round.

Per variant: p50 and p90 of wall time per call, and process CPU per call (less disturbed by
other processes on the machine than wall time). A middleware's cost = full - without it.
JSON on stdout and in --out; a Markdown table and the load average on stderr."""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
PYTHON = REPO_DIR / ".venv" / "bin" / "python"
EMAIL = "middleware-bench@bench.test"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


# --------------------------------------------------------------------------- the child
def worker(calls: int, warmup: int, profile: bool) -> dict:
    import gc

    import django

    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    from accounts.models import User
    from accounts.services import DeviceInfo, session_create

    user = User.objects.filter(email=EMAIL).first()
    if user is None:
        user = User.objects.create_user(email=EMAIL, password="Bench-middleware-1!", name="Middleware Bench")
    token = session_create(user=user, device=DeviceInfo(device_name="bench"), stay_logged_in=False).access
    app = get_wsgi_application()
    gc.collect()
    gc.freeze()  # as config/asgi.py does in every web process
    gc.set_threshold(10_000, 10, 10)
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
        return {"error": f"answers {statuses}: {body[:300]!r}", "middleware": len(settings.MIDDLEWARE)}
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
        "middleware": len(settings.MIDDLEWARE),
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
        out["cprofile_top"] = stream.getvalue()
    return out


# --------------------------------------------------------------------------- the parent
def full_middleware() -> list[str]:
    """settings.MIDDLEWARE as shipped, read in a child (this process never imports Django)."""
    code = "import django; django.setup(); from django.conf import settings; print('\\n'.join(settings.MIDDLEWARE))"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    out = subprocess.run([str(PYTHON), "-c", code], cwd=REPO_DIR, env=env, capture_output=True, text=True, check=True)
    return out.stdout.split()


def run_variant(drop: list[str], extra_env: dict, args: argparse.Namespace, profile: bool = False) -> dict:
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
    cmd = [str(PYTHON), str(Path(__file__).resolve()), "--worker", "--calls", str(args.calls)]
    cmd += ["--warmup", str(args.warmup)] + (["--profile"] if profile else [])
    proc = subprocess.run(cmd, cwd=REPO_DIR, env=env, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0:
        return {"error": f"exit {proc.returncode}: {proc.stderr[-600:]}"}
    return json.loads(proc.stdout)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--calls", type=int, default=1000, help="timed calls per variant per round (1000)")
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--cprofile", action="store_true", help="also one cProfiled run of the full stack")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "middleware.json"))
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(worker(a.calls, a.warmup, a.profile)))
        return 0
    if not (1 <= a.rounds <= 20 and 10 <= a.calls <= 100_000):
        ap.error("--rounds 1..20, --calls 10..100000")
    if not os.environ.get("DATABASE_URL") or not os.environ.get("REDIS_URL"):
        ap.error("set DATABASE_URL and REDIS_URL (a migrated database, a Redis db of your own)")

    full = full_middleware()
    variants: dict[str, tuple[list[str], dict]] = {"full": ([], {}), "none": (list(full), {})}
    variants.update({f"-{path.rsplit('.', 1)[1]}": ([path], {}) for path in full})
    variants["throttle off"] = ([], {"THROTTLE_USER_RATE": "off"})
    result: dict = {
        "benchmark": "middleware",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
        "middleware": full,
        "runs": {name: [] for name in variants},
    }
    rng = random.Random(21)
    for rnd in range(a.rounds):
        order = list(variants)
        rng.shuffle(order)
        for name in order:
            drop, extra = variants[name]
            r = run_variant(drop, extra, a)
            result["runs"][name].append(r)
            shown = r.get("error") or f"p50 {r['p50_us']} us, cpu {r['cpu_us']} us (load {r['loadavg'][0]})"
            log(f"round {rnd + 1}/{a.rounds} {name}: {shown}")
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
    for s in summary.values():
        if "error" not in s and "error" not in base:
            s["saves_p50_us"] = round(base["p50_us"] - s["p50_us"], 1)
            s["saves_cpu_us"] = round(base["cpu_us"] - s["cpu_us"], 1)
    result["summary"] = summary
    if a.cprofile:
        r = run_variant([], {}, a, profile=True)
        result["cprofile_full"] = r.get("cprofile_top") or r.get("error")
        log(result["cprofile_full"])
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    print(json.dumps(result["summary"], indent=2))
    log("\n| Variant | p50 µs | p90 µs | CPU µs/request | p50 saved | CPU saved |\n|---|---|---|---|---|---|")
    for name, s in summary.items():
        if "error" in s:
            log(f"| {name} | error: {s['error'][:120]} | | | | |")
        else:
            log(
                f"| {name} | {s['p50_us']} | {s['p90_us']} | {s['cpu_us']} | {s.get('saves_p50_us', '')} "
                f"| {s.get('saves_cpu_us', '')} |"
            )
    log(f"load average at start {result['machine']['loadavg_at_start']}, at end {result['machine']['loadavg_at_end']}")
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
