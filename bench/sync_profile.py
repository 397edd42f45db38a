#!/usr/bin/env python3
"""Where a sync request's time goes inside Stint: py-spy on the one daphne process.

    .venv/bin/pip install py-spy                      # once
    python3 bench/sync_profile.py big 20              # 1,000-item batches for ~20 s
    python3 bench/sync_profile.py push 15             # 100-item batches
    python3 bench/sync_profile.py changes 12          # GET /sync/changes returning 100 changes
    python3 bench/sync_profile.py none 12             # GET /sync/changes with nothing new

Starts its own stack (bench/stint_stack.py) with ONE web process so every request lands in the
profiled process, makes one user with a little history, then loops one request kind on one
keep-alive connection (bounded by the seconds given) while ``py-spy record --idle`` samples the
daphne process at 200 Hz. Prints the p50 latency and the share of the request thread's samples
(wall time, waits on PostgreSQL included) spent under each function, and writes the raw
collapsed stacks to --out (default bench/results/profile-<mode>.raw; open them in speedscope).
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from stint_client import StintClient, batch_body, make_items  # noqa: E402
from stint_stack import REPO_DIR, StintStack  # noqa: E402
from sync_bench import log, register_users  # noqa: E402

PY_SPY = REPO_DIR / ".venv" / "bin" / "py-spy"
# What a request's samples run under: Django's handler on the bridge's thread (a batch), or the
# lean pull on the event loop (sync/lean_pull.py; LEAN_PULL=false sends pulls to Django).
FOCUS = {"push": "WSGIHandler.__call__", "big": "WSGIHandler.__call__", "changes": "LeanPull", "none": "LeanPull"}


def summarize(raw: Path, focus: str, top: int) -> list[tuple[float, str]]:
    """Inclusive share of the samples whose stack contains ``focus``, per function."""
    incl: collections.Counter = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        frames = stack.split(";")
        if not any(focus in f for f in frames):
            continue
        total += int(n)
        for key in {f.split(" (")[0] + " " + f[f.rfind("(") + 1 :].rstrip(")").rsplit("/", 1)[-1] for f in frames}:
            incl[key] += int(n)
    return [(100.0 * v / total, k) for k, v in incl.most_common(top)] if total else []


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("mode", choices=["push", "big", "changes", "none"])
    ap.add_argument("seconds", type=float, nargs="?", default=15.0)
    ap.add_argument("--top", type=int, default=60)
    ap.add_argument("--out")
    a = ap.parse_args(argv)
    if not 5 <= a.seconds <= 300:
        ap.error("seconds must be 5..300")
    if not PY_SPY.exists() and not shutil.which("py-spy"):
        ap.error(f"py-spy not found: {REPO_DIR}/.venv/bin/pip install py-spy")
    spy_bin = str(PY_SPY if PY_SPY.exists() else shutil.which("py-spy"))
    out = Path(a.out or BENCH_DIR / "results" / f"profile-{a.mode}.raw")
    out.parent.mkdir(parents=True, exist_ok=True)
    n_items = 1000 if a.mode == "big" else 100
    with StintStack(web_processes=1, max_lifetime=a.seconds + 600) as stack:
        start = datetime.now(UTC) - timedelta(days=3650)  # 30-minute steps: ~175,000 records before "now"
        u = register_users(stack.host, stack.port, ["prof"], "prof", "Bb-profile-only-pass-123", start)["prof"]
        c = StintClient(stack.host, stack.port)
        c.login(u.email, u.password)
        for _ in range(5):  # a little history, and warm code paths
            c.batch("prof", make_items(n_items, u.project_id, u.clock))
        head = c.changes(None)["next_cursor"]
        c.batch("prof", make_items(100, u.project_id, u.clock))  # the 100 changes after `head`
        stack.wait_idle()
        web = next(pid for pid, role in stack.processes().items() if role == "web")
        spy = subprocess.Popen(
            [spy_bin, "record", "-p", str(web), "-d", str(int(a.seconds)), "--idle", "-r", "200"]
            + ["-f", "raw", "-o", str(out), "--nonblocking"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        lat, t_end = [], time.time() + a.seconds - 1.5
        while time.time() < t_end:
            if a.mode in ("push", "big"):
                body = batch_body("prof", make_items(n_items, u.project_id, u.clock))
                t = time.perf_counter()
                status, data = c.batch_raw(body)
            else:
                t = time.perf_counter()
                status, data = c.changes_raw(head if a.mode == "changes" else head + 100, 1000)
            lat.append(time.perf_counter() - t)
            if status != 200:
                raise RuntimeError(f"HTTP {status}: {data[:200]!r}")
        spy.wait(timeout=120)
        c.close()
    lat.sort()
    log(f"{a.mode}: {len(lat)} requests, p50 {lat[len(lat) // 2] * 1000:.1f} ms; raw stacks in {out}")
    for share, name in summarize(out, FOCUS[a.mode], a.top):
        print(f"{share:6.1f}%  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
