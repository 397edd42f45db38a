#!/usr/bin/env python3
"""TimeTagger peer benchmark (stdlib only; the server runs in bench/.venvs/timetagger).

    bench/peers/timetagger_setup.sh
    python bench/peer_timetagger.py --clients 8 --batch 100 --seconds 10

Phase 1, pushes (once per value of --clients, each with fresh users):
  N client threads, one simulated user each (own login, own token, own keep-alive connection),
  log in, push one untimed warm-up batch (creates the user's SQLite DB), wait on a barrier, then
  loop `PUT /timetagger/api/v2/records` with --batch new records until --seconds have passed or
  --max-batches per client were sent. Latency = request sent -> last response byte read
  (body encoding and response parsing are outside the timer). records/s = accepted records /
  wall time from the barrier to the last client's last response.

Phase 2, /updates over a large history (skip with --updates-records 0):
  one more user; pre-load --updates-records records in --preload-batch pushes; then time
  `GET updates?since=0` (full sync, --full-calls times); take server_time of that response as
  `since`, push 100 new records, time --updates-calls x `GET updates?since=<since>` (each must
  return exactly those 100); then, 0.3 s after the last write, take a fresh server_time and time
  --updates-calls x `GET updates?since=<it>` (nothing changed; TimeTagger's early-exit path).

Output: JSON on stdout and in --out (default bench/results/timetagger.json); progress and a short
human summary on stderr. Everything is on 127.0.0.1 and bounded in time and count.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from peers.timetagger_client import TimeTaggerClient, make_records  # noqa: E402
from peers.timetagger_server import TimeTaggerServer, timetagger_version  # noqa: E402

BASELINE = {  # /work/shared/BASELINES.md, TimeTagger 26.1, same kind of machine (medians of >= 3 runs)
    "push_records_per_s": {"1": 3769, "8": 4086},
    "push_p99_ms": {"8": 285},
    "updates_ms": {"full_100k": 589, "changes_100": 2.0, "none": 0.9},
}
MAX_ERRORS_PER_CLIENT = 10


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def percentile(sorted_vals: list[float], p: float) -> float | None:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_vals:
        return None
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


def latency_stats(lat_s: list[float]) -> dict:
    v = sorted(x * 1000.0 for x in lat_s)
    if not v:
        return {"n": 0}
    r3 = lambda x: None if x is None else round(x, 3)  # noqa: E731
    return {
        "n": len(v),
        "min": r3(v[0]),
        "p50": r3(percentile(v, 50)),
        "p90": r3(percentile(v, 90)),
        "p99": r3(percentile(v, 99)),
        "max": r3(v[-1]),
        "mean": r3(sum(v) / len(v)),
    }


class Progress:
    """Prints a progress line on stderr every `interval` seconds until stopped."""

    def __init__(self, label: str, fn, interval: float = 1.0):
        self.label, self.fn, self.interval = label, fn, interval
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, name="progress", daemon=True)

    def _run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.wait(self.interval):
            log(f"  [{self.label}] {time.perf_counter() - t0:5.1f}s  {self.fn()}")

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(timeout=5)


# --------------------------------------------------------------------------------------------
# Phase 1: concurrent 100-record pushes
# --------------------------------------------------------------------------------------------
def run_push(srv: TimeTaggerServer, users: list[str], batch: int, seconds: float, max_batches: int) -> dict:
    n = len(users)
    t0_box = [0.0]  # start time and deadline are set by the barrier action, before any client is released
    deadline = [0.0]

    def _start() -> None:
        t0_box[0] = time.perf_counter()
        deadline[0] = t0_box[0] + seconds

    barrier = threading.Barrier(n + 1, action=_start)
    lat: list[list[float]] = [[] for _ in range(n)]
    recs_ok = [0] * n
    failed_items = [0] * n
    errors: list[list[str]] = [[] for _ in range(n)]
    t_end = [0.0] * n
    reconnects = [0] * n

    def worker(i: int) -> None:
        rng = random.Random(1000 + i)
        c = TimeTaggerClient(srv.host, srv.port)
        try:
            try:
                c.login(users[i], srv.passwords[users[i]])
                res = c.push_records(make_records(batch, rng))  # warm-up, untimed
                if len(res["accepted"]) != batch:
                    raise RuntimeError(f"warm-up push: {res['errors'][:3]}")
            except Exception as err:
                errors[i].append(f"setup: {err}")
                barrier.abort()
                return
            barrier.wait()
            my_lat = lat[i]
            count = 0
            while count < max_batches and time.perf_counter() < deadline[0]:
                body = json.dumps(make_records(batch, rng)).encode()
                t = time.perf_counter()
                try:
                    status, data = c.push_records_raw(body)
                except Exception as err:
                    errors[i].append(f"{type(err).__name__}: {err}")
                    c.close()
                    if len(errors[i]) >= MAX_ERRORS_PER_CLIENT:
                        break
                    continue
                dt = time.perf_counter() - t
                count += 1
                if status != 200:
                    errors[i].append(f"HTTP {status}: {data[:200]!r}")
                    if len(errors[i]) >= MAX_ERRORS_PER_CLIENT:
                        break
                    continue
                res = json.loads(data)
                my_lat.append(dt)
                recs_ok[i] += len(res["accepted"])
                failed_items[i] += len(res["failed"])
            t_end[i] = time.perf_counter()
        except threading.BrokenBarrierError:
            pass
        finally:
            reconnects[i] = c.reconnects
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"client-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        for t in threads:
            t.join(timeout=30)
        raise RuntimeError(f"client setup failed: {[e for e in errors if e]}") from None
    t0 = t0_box[0]
    cpu_srv0, cpu_cli0 = srv.cpu_seconds(), time.process_time()

    def status() -> str:
        reqs = sum(len(x) for x in lat)
        recs = sum(recs_ok)
        el = time.perf_counter() - t0
        return f"requests={reqs:6d}  records={recs:8d}  {recs / el:8.0f} records/s  errors={sum(map(len, errors))}"

    with Progress(f"push clients={n}", status):
        for t in threads:
            t.join(timeout=seconds + 300)  # a hung request is bounded by the client timeout anyway
    alive = [t.name for t in threads if t.is_alive()]
    elapsed = max([x for x in t_end if x] or [time.perf_counter()]) - t0
    cpu_srv1, cpu_cli1 = srv.cpu_seconds(), time.process_time()
    all_lat = [x for xs in lat for x in xs]
    total_recs = sum(recs_ok)
    return {
        "clients": n,
        "batch": batch,
        "seconds_requested": seconds,
        "max_batches_per_client": max_batches,
        "elapsed_s": round(elapsed, 3),
        "requests": len(all_lat),
        "records": total_recs,
        "records_per_s": round(total_recs / elapsed, 1) if elapsed > 0 else None,
        "requests_per_s": round(len(all_lat) / elapsed, 2) if elapsed > 0 else None,
        "latency_ms": latency_stats(all_lat),
        "per_client_requests": [len(x) for x in lat],
        "failed_items": sum(failed_items),
        "errors": sum(map(len, errors)),
        "error_samples": [e for es in errors for e in es][:5],
        "reconnects": sum(reconnects),
        "hung_clients": alive,
        "server_cpu_s": None if cpu_srv0 is None or cpu_srv1 is None else round(cpu_srv1 - cpu_srv0, 3),
        "bench_process_cpu_s": round(cpu_cli1 - cpu_cli0, 3),
    }


# --------------------------------------------------------------------------------------------
# Phase 2: /updates over a large history
# --------------------------------------------------------------------------------------------
def _time_calls(c: TimeTaggerClient, since: float, calls: int, expect: int | None) -> tuple[dict, dict]:
    lat = []
    last = None
    for _ in range(calls):
        t = time.perf_counter()
        status, data = c.updates_raw(since)
        lat.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"updates?since={since}: HTTP {status} {data[:200]!r}")
        last = data
    ob = json.loads(last)
    n = len(ob["records"])
    if expect is not None and n != expect:
        raise RuntimeError(f"updates?since={since} returned {n} records, expected {expect}")
    info = {
        "records_returned": n,
        "response_bytes": len(last),
        # reset is int 0 only on the early-exit path (no DB query), else a bool
        "early_exit": type(ob["reset"]) is int and ob["reset"] == 0,
    }
    return {**latency_stats(lat), **info}, ob


def run_updates(
    srv: TimeTaggerServer,
    user: str,
    total: int,
    preload_batch: int,
    changes: int,
    calls: int,
    full_calls: int,
    preload_timeout: float,
) -> dict:
    rng = random.Random(4242)
    c = TimeTaggerClient(srv.host, srv.port, timeout=300)
    try:
        c.login(user, srv.passwords[user])
        # Pre-load `total` records, spread over the past years, in big pushes.
        loaded = 0
        t_start = int(time.time()) - (total + 10) * 1800
        t0 = time.perf_counter()
        stop_at = t0 + preload_timeout
        with Progress("preload", lambda: f"{loaded:7d}/{total} records  {loaded / (time.perf_counter() - t0):6.0f}/s"):
            while loaded < total:
                if time.perf_counter() > stop_at:
                    raise RuntimeError(f"pre-load exceeded {preload_timeout}s at {loaded} records")
                k = min(preload_batch, total - loaded)
                res = c.push_records(make_records(k, rng, t_start=t_start + loaded * 1800))
                if len(res["accepted"]) != k:
                    raise RuntimeError(f"pre-load push: {res['errors'][:3]}")
                loaded += k
        preload_s = time.perf_counter() - t0
        log(f"  preloaded {loaded} records in {preload_s:.1f}s")

        full, ob = _time_calls(c, 0, full_calls, expect=loaded)
        log(f"  updates full: p50 {full['p50']} ms ({full['records_returned']} records)")
        since = ob["server_time"]  # what a client that is in sync holds

        t = time.perf_counter()
        res = c.push_records(make_records(changes, rng))
        push_changes_ms = (time.perf_counter() - t) * 1000
        if len(res["accepted"]) != changes:
            raise RuntimeError(f"push of {changes} changes: {res['errors'][:3]}")
        changed, ob = _time_calls(c, since, calls, expect=changes)
        log(f"  updates {changes} changes: p50 {changed['p50']} ms")

        time.sleep(0.3)  # > the 0.2 s mtime margin, so "nothing changed" takes the early-exit path
        ob = c.updates(ob["server_time"])
        none, _ = _time_calls(c, ob["server_time"], calls, expect=0)
        log(f"  updates none: p50 {none['p50']} ms")
        return {
            "user_records": loaded + changes,
            "preload_records": loaded,
            "preload_batch": preload_batch,
            "preload_s": round(preload_s, 2),
            "preload_records_per_s": round(loaded / preload_s, 1),
            "push_changes_ms": round(push_changes_ms, 3),
            "full": full,
            "changes": {**changed, "changed_records": changes},
            "none": none,
            "reconnects": c.reconnects,
        }
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(description="TimeTagger peer benchmark", formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--clients", default="8", help="concurrent simulated users; a comma list runs several phases (8)")
    ap.add_argument("--batch", type=int, default=100, help="records per push (100)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each push phase (10)")
    ap.add_argument("--max-batches", type=int, default=10000, help="cap on pushes per client per phase (10000)")
    ap.add_argument("--updates-records", type=int, default=100_000, help="history size for /updates; 0 skips (100000)")
    ap.add_argument("--preload-batch", type=int, default=5000, help="records per pre-load push (5000)")
    ap.add_argument("--preload-timeout", type=float, default=600.0, help="give up pre-loading after this (600 s)")
    ap.add_argument("--changes", type=int, default=100, help="new records before the 'changes' /updates timing (100)")
    ap.add_argument("--updates-calls", type=int, default=50, help="timed /updates calls per case (50)")
    ap.add_argument("--full-calls", type=int, default=3, help="timed full /updates?since=0 calls (3)")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "timetagger.json"), help="JSON output file")
    ap.add_argument("--keep-datadir", action="store_true", help="keep the server's temp data dir")
    a = ap.parse_args(argv)
    a.clients = [int(x) for x in str(a.clients).split(",") if x.strip()]
    checks = [
        (all(1 <= c <= 256 for c in a.clients), "--clients must be 1..256"),
        (1 <= a.batch <= 10_000, "--batch must be 1..10000"),
        (0 < a.seconds <= 3600, "--seconds must be in (0, 3600]"),
        (1 <= a.max_batches <= 1_000_000, "--max-batches must be 1..1e6"),
        (0 <= a.updates_records <= 2_000_000, "--updates-records must be 0..2e6"),
        (1 <= a.preload_batch <= 20_000, "--preload-batch must be 1..20000 (10 MiB body limit)"),
        (1 <= a.updates_calls <= 10_000 and 1 <= a.full_calls <= 100, "bad --updates-calls/--full-calls"),
        (1 <= a.changes <= 10_000, "--changes must be 1..10000"),
    ]
    for ok, msg in checks:
        if not ok:
            ap.error(msg)
    return a


def main(argv=None) -> int:
    a = parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally/__exit__ that stops the server
    push_users = {n: [f"push{n}c{j}-u{i}" for i in range(n)] for j, n in enumerate(a.clients)}
    upd_user = "updates-user"
    all_users = [u for us in push_users.values() for u in us] + ([upd_user] if a.updates_records else [])
    budget = len(a.clients) * (a.seconds + 300) + (a.preload_timeout + 600 if a.updates_records else 0) + 120

    result = {
        "system": "timetagger",
        "version": timetagger_version(),
        "server": "python -m timetagger (uvicorn + asgineer + itemdb/SQLite, 1 process), 127.0.0.1",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python_bench": platform.python_version(),
            "platform": platform.platform(),
        },
        "params": {k: v for k, v in vars(a).items() if k not in ("out", "keep_datadir")},
        "baseline_reference": BASELINE,
        "push": [],
        "updates": None,
    }
    log(f"TimeTagger {result['version']}: starting server ({len(all_users)} users) ...")
    with TimeTaggerServer(users=all_users, max_lifetime=budget, keep_datadir=a.keep_datadir) as srv:
        log(f"  listening on {srv.base_url} (pid {srv.pid}, data {srv.datadir})")
        for n in a.clients:
            log(f"push phase: {n} clients x {a.batch}-record batches, {a.seconds}s (max {a.max_batches} batches each)")
            r = run_push(srv, push_users[n], a.batch, a.seconds, a.max_batches)
            result["push"].append(r)
            log(
                f"  -> {r['records_per_s']} records/s, {r['requests']} requests, "
                f"p50 {r['latency_ms'].get('p50')} ms, p99 {r['latency_ms'].get('p99')} ms, errors {r['errors']}"
            )
        if a.updates_records:
            log(f"updates phase: {a.updates_records} records, then {a.changes} changes")
            result["updates"] = run_updates(
                srv,
                upd_user,
                a.updates_records,
                a.preload_batch,
                a.changes,
                a.updates_calls,
                a.full_calls,
                a.preload_timeout,
            )
        if srv.proc is None or srv.proc.poll() is not None:
            raise RuntimeError(f"server died:\n{srv.log_tail()}")
        result["server_log_tail"] = srv.log_tail(10)
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)

    log("\n=== TimeTagger summary (baseline from BASELINES.md in brackets) ===")
    for r in result["push"]:
        key = str(r["clients"])
        base = BASELINE["push_records_per_s"].get(key)
        bp99 = BASELINE["push_p99_ms"].get(key)
        log(
            f"push  {r['clients']:3d} clients x {r['batch']}: {r['records_per_s'] or 0:9.1f} records/s"
            f" [{base or '-'}]  p50 {r['latency_ms'].get('p50')} ms  p99 {r['latency_ms'].get('p99')} ms"
            f" [{bp99 or '-'}]  requests {r['requests']}  errors {r['errors']}"
        )
    u = result["updates"]
    if u:
        b = BASELINE["updates_ms"]
        log(
            f"/updates over {u['user_records']} records (p50): full {u['full']['p50']} ms [{b['full_100k']}]"
            f" / {u['changes']['changed_records']} changes {u['changes']['p50']} ms [{b['changes_100']}]"
            f" / none {u['none']['p50']} ms [{b['none']}]"
        )
        log(f"pre-load: {u['preload_records_per_s']} records/s in {u['preload_batch']}-record pushes")
    log(f"written to {out}")
    return 0 if all(r["errors"] == 0 for r in result["push"]) else 1


if __name__ == "__main__":
    sys.exit(main())
