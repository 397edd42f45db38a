#!/usr/bin/env python3
"""Sync benchmark: Stint's /sync/batch and /sync/changes beside TimeTagger, in ONE run.

    bench/peers/timetagger_setup.sh          # once (run from here if the venv is missing)
    python3 bench/sync_bench.py                            # defaults: --clients 1,8 --seconds 10
    python3 bench/sync_bench.py --stint-url http://127.0.0.1:8000   # an already running Stint
    python3 bench/sync_bench.py --combine bench/results/sync-run*.json   # medians over runs

Both servers run on this machine at the same time (each idle while the other is measured) and
are measured back to back with the same workload, so their ratio is the figure to trust.
Stint is the project's own ``manage.py runstack --no-seed`` (N daphne + Celery worker + beat)
with its own embedded PostgreSQL 18 and Redis in a fresh data dir (bench/stint_stack.py);
TimeTagger is the stock server of bench/peers (bench/peer_timetagger.py: same code, reused).

Phases, in this order (every loop is bounded in count and time):

0. Floor: --floor-calls (200) timed trivial GETs per server (Stint ``/health/live`` and the
   authenticated ``/api/v1/me``; TimeTagger ``/timetagger/status``): the per-request cost
   before any sync work, at the same moment.
1. Pushes, once per --clients value, Stint then TimeTagger. TimeTagger's workload exactly
   (bench/README.md): N client threads, each its own user (own login, token, keep-alive
   connection), one untimed warm-up batch, a barrier, then one request per --batch new records
   until --seconds or --max-batches per client. Stint: ``POST /api/v1/sync/batch`` with
   ``{"device_id": "bench-<i>", "items": [100 upserts of new finished time entries]}``; each
   item has a fresh idempotency key and entry id, ``t`` stepping 30 minutes per record per user
   (never overlapping), ``t+25 min`` end. A response is an error unless ``processed == batch``
   with no conflicts. Latency = request sent -> last response byte (building and parsing are
   outside the timer); records/s = processed records / (barrier -> last response);
   percentiles are nearest-rank. After each Stint phase the bench waits until the stack is
   idle again (its Celery worker publishes the changes after the responses) and reports how
   long that took.
2. One big batch: --big-batch (1,000) items for one user, --big-reps (5) times, fresh items
   each, the stack idle before each; each time and the median. TimeTagger: the same number of
   records in one ``PUT records``.
3. Changes pull over a large history (skip with --changes-records 0): one user, pre-load
   --changes-records (100,000) entries through /sync/batch (--preload-batch 1,000 per request);
   time --full-calls full pulls (cursor 0, paging limit=1000 to the end); note ``next_cursor``
   of ``GET /sync/changes`` (no cursor: the head); push --changes (100) new entries; time
   --changes-calls (50) x ``GET /sync/changes?cursor=<it>&limit=1000`` (each must return
   exactly those 100 changes); then 50 x with the cursor that returned (nothing new).
   TimeTagger: its harness's ``/updates`` phase (full / 100 changes / none).

Output: JSON on stdout and in --out (default bench/results/sync.json), progress every second
and a summary with Stint/TimeTagger ratios on stderr, including the exact command line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import shlex
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
sys.path.insert(0, str(BENCH_DIR))

import peer_timetagger as ttb  # noqa: E402  (the TimeTagger harness: same stats, same phases)
from peer_timetagger import Progress, latency_stats, log  # noqa: E402
from peers.timetagger_client import TimeTaggerClient, make_records  # noqa: E402
from peers.timetagger_server import DEFAULT_VENV, TimeTaggerServer, timetagger_version  # noqa: E402
from stint_client import EntryClock, StintClient, StintError, batch_body, make_items, parse_base_url  # noqa: E402
from stint_stack import StintStack  # noqa: E402

BASELINE = {  # /work/shared/BASELINES.md (TimeTagger 26.1, same kind of machine, medians of >= 3 runs)
    "timetagger": ttb.BASELINE,
}
TARGETS = {  # the sync issue's targets for Stint
    "big_batch_median_s": 0.5,
    "changes_100_p50_ms": 5.0,
}
MAX_ERRORS_PER_CLIENT = ttb.MAX_ERRORS_PER_CLIENT
EXPECTED_PROCESSED = "processed == len(items) and conflicts == []"


class StintUser:
    """A registered user with its own company and one project, and its entry clock."""

    def __init__(self, label: str, email: str, password: str, project_id: str, start: datetime):
        self.label, self.email, self.password, self.project_id = label, email, password, project_id
        self.clock = EntryClock(start)


def register_users(host: str, port: int, labels: list[str], run_id: str, password: str, start: datetime) -> dict:
    """Register each user (own company), create its project. Sequential (untimed setup)."""
    users = {}
    c = StintClient(host, port)
    try:
        for label in labels:
            email = f"bench-{run_id}-{label}@example.com"
            c.register(email, password, f"Bench {label}", f"Bench {run_id} {label}")
            project_id = c.create_project(f"Bench {label}")
            users[label] = StintUser(label, email, password, project_id, start)
    finally:
        c.close()
    return users


def check_batch(data: bytes, expect: int) -> tuple[int, str | None]:
    """(processed, error or None) of a /sync/batch answer."""
    res = json.loads(data)
    processed = res.get("processed", 0)
    if processed != expect or res.get("conflicts"):
        c = res.get("conflicts") or []
        return processed, f"processed {processed}/{expect}, skipped {res.get('skipped')}, conflicts {len(c)}: {c[:2]}"
    return processed, None


def machine_busy_s() -> float:
    """CPU seconds the whole machine spent busy (all processes, all cores) so far: /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return (sum(v[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def stack_cpu(stack: StintStack | None):
    return stack.cpu_snapshot() if stack else None


def stack_delta(stack: StintStack | None, before, after) -> dict | None:
    return StintStack.cpu_delta(before, after) if stack and before is not None and after is not None else None


def settle(stack: StintStack | None, max_wait: float) -> dict:
    """Wait until the stack is idle; how long and what it spent meanwhile."""
    if stack is None:
        time.sleep(1.0)
        return {"settle_s": None, "cpu_s": None}
    before = stack.cpu_snapshot()
    waited = stack.wait_idle(max_wait=max_wait)
    return {"settle_s": round(waited, 2), "cpu_s": StintStack.cpu_delta(before, stack.cpu_snapshot())}


# --------------------------------------------------------------------------------------------
# Stint phase 1: concurrent 100-item batches (the TimeTagger harness's run_push, for Stint)
# --------------------------------------------------------------------------------------------
def run_stint_push(
    host: str, port: int, stack: StintStack | None, users: list[StintUser], batch: int, seconds: float, max_batches: int
) -> dict:
    n = len(users)
    t0_box = [0.0]
    deadline = [0.0]

    def _start() -> None:
        t0_box[0] = time.perf_counter()
        deadline[0] = t0_box[0] + seconds

    # Tokens first, one login after another: the per-IP login window counts attempts in flight.
    tokens = []
    c = StintClient(host, port)
    try:
        for u in users:
            tokens.append(c.login(u.email, u.password))
    finally:
        c.close()

    barrier = threading.Barrier(n + 1, action=_start)
    lat: list[list[float]] = [[] for _ in range(n)]
    recs_ok = [0] * n
    recs_in_window = [0] * n  # answered before the deadline
    failed_items = [0] * n
    errors: list[list[str]] = [[] for _ in range(n)]
    t_end = [0.0] * n
    reconnects = [0] * n

    def worker(i: int) -> None:
        u = users[i]
        device = f"bench-{i}"
        c = StintClient(host, port, token=tokens[i])
        c.email, c.password = u.email, u.password
        try:
            try:
                res = c.batch(device, make_items(batch, u.project_id, u.clock))  # warm-up, untimed
                if res["processed"] != batch or res["conflicts"]:
                    raise RuntimeError(f"warm-up batch: {res}")
            except Exception as err:
                errors[i].append(f"setup: {err}")
                barrier.abort()
                return
            barrier.wait()
            my_lat = lat[i]
            count = 0
            while count < max_batches and time.perf_counter() < deadline[0]:
                body = batch_body(device, make_items(batch, u.project_id, u.clock))
                t = time.perf_counter()
                try:
                    status, data = c.batch_raw(body)
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
                processed, err = check_batch(data, batch)
                my_lat.append(dt)
                recs_ok[i] += processed
                if t + dt <= deadline[0]:
                    recs_in_window[i] += processed
                failed_items[i] += batch - processed
                if err:
                    errors[i].append(err)
                    if len(errors[i]) >= MAX_ERRORS_PER_CLIENT:
                        break
            t_end[i] = time.perf_counter()
        except threading.BrokenBarrierError:
            pass
        finally:
            reconnects[i] = c.reconnects
            c.close()

    threads = [threading.Thread(target=worker, args=(i,), name=f"stint-client-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    try:
        barrier.wait(timeout=120)
    except threading.BrokenBarrierError:
        for t in threads:
            t.join(timeout=30)
        raise RuntimeError(f"client setup failed: {[e for e in errors if e]}") from None
    t0 = t0_box[0]
    cpu0, cpu_cli0, busy0 = stack_cpu(stack), time.process_time(), machine_busy_s()

    def status() -> str:
        reqs = sum(len(x) for x in lat)
        recs = sum(recs_ok)
        el = time.perf_counter() - t0
        return f"requests={reqs:6d}  records={recs:8d}  {recs / el:8.0f} records/s  errors={sum(map(len, errors))}"

    with Progress(f"stint push clients={n}", status):
        for t in threads:
            t.join(timeout=seconds + 300)
    alive = [t.name for t in threads if t.is_alive()]
    elapsed = max([x for x in t_end if x] or [time.perf_counter()]) - t0
    cpu1, cpu_cli1, busy1 = stack_cpu(stack), time.process_time(), machine_busy_s()
    after = settle(stack, max_wait=300)
    all_lat = [x for xs in lat for x in xs]
    total_recs = sum(recs_ok)
    by_role = stack_delta(stack, cpu0, cpu1)
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
        # Not TimeTagger's rule, for reading it: records answered before the deadline / --seconds
        # (one starved request can stretch `elapsed` far past --seconds).
        "records_per_s_within_seconds": round(sum(recs_in_window) / seconds, 1),
        "latency_ms": latency_stats(all_lat),
        "per_client_requests": [len(x) for x in lat],
        "failed_items": sum(failed_items),
        "errors": sum(map(len, errors)),
        "error_samples": [e for es in errors for e in es][:5],
        "reconnects": sum(reconnects),
        "hung_clients": alive,
        "server_cpu_s": by_role["total"] if by_role else None,
        "server_cpu_by_role_s": by_role,
        "bench_process_cpu_s": round(cpu_cli1 - cpu_cli0, 3),
        # Everything on the machine (2 cores = 2 CPU-s per s): the rest is other tenants.
        "machine_busy_cpu_s": round(busy1 - busy0, 2),
        # The stack keeps working after the last response: the worker publishes the changes.
        "after_phase": after,
    }


# --------------------------------------------------------------------------------------------
# Calibration: what one request costs before any sync work (same moment, same machine)
# --------------------------------------------------------------------------------------------
def _floor_calls(request, path: str, calls: int) -> dict:
    lat = []
    for _ in range(calls):
        t = time.perf_counter()
        status, data = request("GET", path)
        lat.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"GET {path}: HTTP {status} {data[:200]!r}")
    return latency_stats(lat)


def run_stint_floor(host: str, port: int, user: StintUser, calls: int) -> dict:
    c = StintClient(host, port)
    try:
        c.login(user.email, user.password)
        for _ in range(20):  # warm-up
            c.request("GET", "/api/v1/me")
        return {
            "health_live": _floor_calls(c.request, "/health/live", calls),  # plain Django view, no DB
            "me": _floor_calls(c.request, "/api/v1/me", calls),  # DRF + bearer auth, no other query
        }
    finally:
        c.close()


def run_tt_floor(srv: TimeTaggerServer, calls: int) -> dict:
    c = TimeTaggerClient(srv.host, srv.port)
    try:
        for _ in range(20):
            c.request("GET", "/timetagger/status")
        return {"status": _floor_calls(c.request, "/timetagger/status", calls)}
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# Phase 2: one big batch
# --------------------------------------------------------------------------------------------
def run_stint_big(host: str, port: int, stack: StintStack | None, user: StintUser, n: int, reps: int) -> dict:
    c = StintClient(host, port, timeout=300)
    try:
        c.login(user.email, user.password)
        res = c.batch("bench-big", make_items(100, user.project_id, user.clock))  # warm-up, untimed
        if res["processed"] != 100 or res["conflicts"]:
            raise RuntimeError(f"warm-up batch: {res}")
        settle(stack, max_wait=120)
        runs = []
        for r in range(reps):
            body = batch_body("bench-big", make_items(n, user.project_id, user.clock))
            cpu0 = stack_cpu(stack)
            t = time.perf_counter()
            status, data = c.batch_raw(body)
            dt = time.perf_counter() - t
            cpu1 = stack_cpu(stack)
            if status != 200:
                raise StintError(status, data, f"big batch {r + 1}")
            processed, err = check_batch(data, n)
            if err:
                raise RuntimeError(f"big batch {r + 1}: {err}")
            after = settle(stack, max_wait=120)
            runs.append(
                {
                    "s": round(dt, 4),
                    "request_bytes": len(body),
                    "server_cpu_during_request_s": stack_delta(stack, cpu0, cpu1),
                    "after_request": after,
                }
            )
            log(f"  [stint big batch] {r + 1}/{reps}: {dt:.3f} s  (stack idle again after {after['settle_s']} s)")
        times = [x["s"] for x in runs]
        return {"items": n, "reps": reps, "s": times, "median_s": round(statistics.median(times), 4), "runs": runs}
    finally:
        c.close()


def run_tt_big(srv: TimeTaggerServer, user: str, n: int, reps: int) -> dict:
    rng = random.Random(777)
    c = TimeTaggerClient(srv.host, srv.port, timeout=300)
    try:
        c.login(user, srv.passwords[user])
        res = c.push_records(make_records(100, rng))  # warm-up, untimed
        if len(res["accepted"]) != 100:
            raise RuntimeError(f"warm-up push: {res['errors'][:3]}")
        times = []
        t_start = int(time.time()) - 400 * 86400
        for r in range(reps):
            body = json.dumps(make_records(n, rng, t_start=t_start + r * n * 1800)).encode()
            t = time.perf_counter()
            status, data = c.push_records_raw(body)
            dt = time.perf_counter() - t
            if status != 200 or len(json.loads(data)["accepted"]) != n:
                raise RuntimeError(f"TimeTagger big push {r + 1}: HTTP {status} {data[:200]!r}")
            times.append(round(dt, 4))
            log(f"  [timetagger big batch] {r + 1}/{reps}: {dt:.3f} s")
            time.sleep(0.3)
        return {"records": n, "reps": reps, "s": times, "median_s": round(statistics.median(times), 4)}
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# Phase 3: /sync/changes over a large history
# --------------------------------------------------------------------------------------------
def _time_changes(c: StintClient, cursor: int, calls: int, limit: int, expect_ids: set | None) -> tuple[dict, dict]:
    lat = []
    last = None
    for k in range(calls):
        t = time.perf_counter()
        status, data = c.changes_raw(cursor, limit)
        lat.append(time.perf_counter() - t)
        if status != 200:
            raise RuntimeError(f"changes?cursor={cursor}: HTTP {status} {data[:200]!r}")
        ob = json.loads(data)  # every answer is checked, outside the timer
        got = {ch["id"] for ch in ob["changes"]}
        n_expect = len(expect_ids) if expect_ids is not None else 0
        if len(ob["changes"]) != n_expect or (expect_ids is not None and got != expect_ids) or ob["has_more"]:
            raise RuntimeError(
                f"changes?cursor={cursor} call {k + 1} returned {len(ob['changes'])} changes "
                f"(has_more {ob['has_more']}), expected exactly {n_expect}"
            )
        last = (ob, data)
    ob, data = last
    return {**latency_stats(lat), "changes_returned": len(ob["changes"]), "response_bytes": len(data)}, ob


def run_stint_changes(
    host: str,
    port: int,
    stack: StintStack | None,
    user: StintUser,
    total: int,
    preload_batch: int,
    changes: int,
    calls: int,
    full_calls: int,
    limit: int,
    preload_timeout: float,
) -> dict:
    c = StintClient(host, port, timeout=300)
    try:
        c.login(user.email, user.password)
        start_cursor = c.changes(None)["next_cursor"]  # the head before this user's history
        loaded = 0
        pre_lat = []
        t0 = time.perf_counter()
        stop_at = t0 + preload_timeout
        cpu0 = stack_cpu(stack)
        with Progress(
            "stint preload", lambda: f"{loaded:7d}/{total} entries  {loaded / (time.perf_counter() - t0):6.0f}/s"
        ):
            while loaded < total:
                if time.perf_counter() > stop_at:
                    raise RuntimeError(f"pre-load exceeded {preload_timeout}s at {loaded} entries")
                k = min(preload_batch, total - loaded)
                body = batch_body("bench-preload", make_items(k, user.project_id, user.clock))
                t = time.perf_counter()
                status, data = c.batch_raw(body)
                pre_lat.append(time.perf_counter() - t)
                if status == 401:  # the 15-minute access token ran out: log in again, retry
                    c.login(user.email, user.password)
                    status, data = c.batch_raw(body)
                if status != 200:
                    raise StintError(status, data, "pre-load batch")
                processed, err = check_batch(data, k)
                if err:
                    raise RuntimeError(f"pre-load batch: {err}")
                loaded += k
        preload_s = time.perf_counter() - t0
        cpu1 = stack_cpu(stack)
        log(f"  preloaded {loaded} entries in {preload_s:.1f}s; waiting for the stack to go idle ...")
        after_preload = settle(stack, max_wait=600)
        log(f"  idle after {after_preload['settle_s']} s")

        # Full pull of the user's history (the /updates?since=0 equivalent), paging to the end.
        full_runs = []
        for _ in range(full_calls):
            cursor, pages, got, nbytes = start_cursor, 0, 0, 0
            t = time.perf_counter()
            while pages <= total // limit + 10:
                status, data = c.changes_raw(cursor, limit)
                if status != 200:
                    raise RuntimeError(f"full pull: HTTP {status} {data[:200]!r}")
                ob = json.loads(data)  # parsing is inside this timer: a client must read the pages to go on
                pages, got, nbytes, cursor = pages + 1, got + len(ob["changes"]), nbytes + len(data), ob["next_cursor"]
                if not ob["has_more"]:
                    break
            dt = time.perf_counter() - t
            full_runs.append({"s": round(dt, 3), "pages": pages, "changes": got, "bytes": nbytes})
            log(f"  full pull: {got} changes in {pages} pages, {dt:.2f} s")
            if got != total:
                raise RuntimeError(f"full pull returned {got} changes, expected {total}")

        head = c.changes(None)["next_cursor"]  # what a client that is in sync holds
        items = make_items(changes, user.project_id, user.clock)
        t = time.perf_counter()
        res = c.batch("bench-changes", items)
        push_changes_ms = (time.perf_counter() - t) * 1000
        if res["processed"] != changes or res["conflicts"]:
            raise RuntimeError(f"push of {changes} changes: {res}")
        settle(stack, max_wait=120)  # the worker has published them (TimeTagger's 0.3 s wait)
        ids = {it["data"]["id"] for it in items}
        changed, ob = _time_changes(c, head, calls, limit, ids)
        log(f"  changes {changes} changes: p50 {changed['p50']} ms")
        none, _ = _time_changes(c, ob["next_cursor"], calls, limit, None)
        log(f"  changes none: p50 {none['p50']} ms")
        return {
            "user_entries": loaded + changes,
            "preload_entries": loaded,
            "preload_batch": preload_batch,
            "preload_s": round(preload_s, 2),
            "preload_records_per_s": round(loaded / preload_s, 1),
            "preload_request_ms": latency_stats(pre_lat),
            "preload_server_cpu_s": stack_delta(stack, cpu0, cpu1),
            "after_preload": after_preload,
            "full": {
                "limit": limit,
                "runs": full_runs,
                "median_s": statistics.median([r["s"] for r in full_runs]) if full_runs else None,
            },
            "head_cursor": head,
            "push_changes_ms": round(push_changes_ms, 3),
            "changes": {**changed, "changed_records": changes, "cursor": head, "limit": limit},
            "none": {**none, "cursor": ob["next_cursor"], "limit": limit},
            "reconnects": c.reconnects,
        }
    finally:
        c.close()


# --------------------------------------------------------------------------------------------
# Figures, ratios, summary
# --------------------------------------------------------------------------------------------
def _push(result: dict, system: str, clients: int) -> dict | None:
    for r in (result.get(system) or {}).get("push") or []:
        if r["clients"] == clients:
            return r
    return None


def figures(result: dict) -> list[dict]:
    """Rows: figure, Stint, TimeTagger, baseline (TimeTagger in BASELINES.md), target, lower_is_better."""
    rows = []
    tt_base = BASELINE["timetagger"]
    for n in result["params"]["clients"]:
        s, t = _push(result, "stint", n), _push(result, "timetagger", n)
        rows.append(
            {
                "figure": f"push {n} client(s) x {result['params']['batch']}: records/s",
                "stint": s and s["records_per_s"],
                "timetagger": t and t["records_per_s"],
                "baseline": tt_base["push_records_per_s"].get(str(n)),
                "target": None,
                "lower_is_better": False,
            }
        )
        rows.append(
            {
                "figure": f"push {n} client(s): records/s answered within --seconds",
                "stint": s and s.get("records_per_s_within_seconds"),
                "timetagger": None,
                "baseline": None,
                "target": None,
                "lower_is_better": False,
            }
        )
        for p in ("p50", "p99", "max"):
            rows.append(
                {
                    "figure": f"push {n} client(s): latency {p} ms",
                    "stint": s and s["latency_ms"].get(p),
                    "timetagger": t and t["latency_ms"].get(p),
                    "baseline": tt_base["push_p99_ms"].get(str(n)) if p == "p99" else None,
                    "target": None,
                    "lower_is_better": True,
                }
            )
    sb, tb = (result.get("stint") or {}).get("big_batch"), (result.get("timetagger") or {}).get("big_batch")
    if sb or tb:
        rows.append(
            {
                "figure": f"one batch of {result['params']['big_batch']}: median s",
                "stint": sb and sb["median_s"],
                "timetagger": tb and tb["median_s"],
                "baseline": None,
                "target": TARGETS["big_batch_median_s"],
                "lower_is_better": True,
            }
        )
    sc, tu = (result.get("stint") or {}).get("changes"), (result.get("timetagger") or {}).get("updates")
    if sc or tu:
        b = tt_base["updates_ms"]
        rows.append(
            {
                "figure": f"full pull of a {result['params']['changes_records']:,}-record history: s (Stint: pages)",
                "stint": sc and sc["full"]["median_s"],
                "timetagger": tu and round(tu["full"]["p50"] / 1000, 3),
                "baseline": b["full_100k"] / 1000,
                "target": None,
                "lower_is_better": True,
            }
        )
        rows.append(
            {
                "figure": f"changes pull, {result['params']['changes']} changes: p50 ms",
                "stint": sc and sc["changes"]["p50"],
                "timetagger": tu and tu["changes"]["p50"],
                "baseline": b["changes_100"],
                "target": TARGETS["changes_100_p50_ms"],
                "lower_is_better": True,
            }
        )
        rows.append(
            {
                "figure": "changes pull, nothing new: p50 ms",
                "stint": sc and sc["none"]["p50"],
                "timetagger": tu and tu["none"]["p50"],
                "baseline": b["none"],
                "target": None,
                "lower_is_better": True,
            }
        )
    sf, tf = (result.get("stint") or {}).get("floor_ms"), (result.get("timetagger") or {}).get("floor_ms")
    if sf or tf:
        rows.append(
            {
                "figure": "floor: trivial GET p50 ms (Stint /health/live; TT /status)",
                "stint": sf and sf["health_live"]["p50"],
                "timetagger": tf and tf["status"]["p50"],
                "baseline": None,
                "target": None,
                "lower_is_better": True,
            }
        )
        rows.append(
            {
                "figure": "floor: authenticated GET /api/v1/me p50 ms",
                "stint": sf and sf["me"]["p50"],
                "timetagger": None,
                "baseline": None,
                "target": None,
                "lower_is_better": True,
            }
        )
    for r in rows:
        s, t = r["stint"], r["timetagger"]
        r["ratio"] = round(s / t, 2) if s and t else None
        r["met"] = None if r["target"] is None or s is None else s < r["target"]
    return rows


def _fmt(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "NO"
    if isinstance(x, float) and abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:g}" if isinstance(x, float) else str(x)


def summary_lines(rows: list[dict]) -> list[str]:
    out = [
        f"{'figure':58s} {'Stint':>10s} {'TimeTagger':>11s} {'Stint/TT':>9s}"
        f" {'BASELINES':>10s} {'target':>7s} {'met':>4s}"
    ]
    for r in rows:
        out.append(
            f"{r['figure']:58s} {_fmt(r['stint']):>10s} {_fmt(r['timetagger']):>11s} {_fmt(r['ratio']):>9s}"
            f" {_fmt(r['baseline']):>10s} {_fmt(r['target']):>7s} {_fmt(r['met']):>4s}"
        )
    return out


def combine(paths: list[str]) -> int:
    """Medians over several result files (one figure per row), as a Markdown table."""
    results = [json.loads(Path(p).read_text()) for p in paths]
    table: dict[str, dict] = {}
    for res in results:
        for r in figures(res):
            row = table.setdefault(r["figure"], {**r, "stint_runs": [], "tt_runs": [], "ratio_runs": []})
            row["stint_runs"].append(r["stint"])
            row["tt_runs"].append(r["timetagger"])
            row["ratio_runs"].append(r["ratio"])
    print(f"Medians of {len(results)} runs: {', '.join(paths)}\n")
    print(
        "| Figure | Stint | TimeTagger (same run) | Stint / TimeTagger | BASELINES (TimeTagger) | Target | Met? "
        "| Stint runs | TimeTagger runs |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, row in table.items():
        med = lambda xs: statistics.median([x for x in xs if x is not None]) if any(x is not None for x in xs) else None  # noqa: E731
        s, t, q = med(row["stint_runs"]), med(row["tt_runs"]), med(row["ratio_runs"])
        met = None if row["target"] is None or s is None else s < row["target"]
        runs = lambda xs: " / ".join(_fmt(x) for x in xs)  # noqa: E731
        print(
            f"| {name} | {_fmt(s)} | {_fmt(t)} | {_fmt(q)} | {_fmt(row['baseline'])} | {_fmt(row['target'])} | "
            f"{_fmt(met)} | {runs(row['stint_runs'])} | {runs(row['tt_runs'])} |"
        )
    return 0


# --------------------------------------------------------------------------------------------
def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Stint sync vs TimeTagger benchmark", formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--clients", default="1,8", help="concurrent simulated users per push phase, comma list (1,8)")
    ap.add_argument("--batch", type=int, default=100, help="records per push (100)")
    ap.add_argument("--seconds", type=float, default=10.0, help="duration of each push phase (10)")
    ap.add_argument("--max-batches", type=int, default=10000, help="cap on pushes per client per phase (10000)")
    ap.add_argument("--big-batch", type=int, default=1000, help="items in the single big batch; 0 skips (1000)")
    ap.add_argument("--big-reps", type=int, default=5, help="repetitions of the big batch (5)")
    ap.add_argument("--changes-records", type=int, default=100_000, help="history size for the pull; 0 skips (100000)")
    ap.add_argument(
        "--preload-batch", type=int, default=1000, help="Stint items per pre-load batch (1000, the maximum)"
    )
    ap.add_argument("--tt-preload-batch", type=int, default=5000, help="TimeTagger records per pre-load push (5000)")
    ap.add_argument("--preload-timeout", type=float, default=900.0, help="give up pre-loading after this (900 s)")
    ap.add_argument("--changes", type=int, default=100, help="new entries before the timed pulls (100)")
    ap.add_argument("--changes-calls", type=int, default=50, help="timed pulls per case (50)")
    ap.add_argument("--changes-limit", type=int, default=1000, help="limit= of the timed pulls (1000)")
    ap.add_argument("--full-calls", type=int, default=1, help="Stint full pulls of the history (1; ~100 pages each)")
    ap.add_argument("--tt-full-calls", type=int, default=3, help="TimeTagger full updates?since=0 calls (3)")
    ap.add_argument("--floor-calls", type=int, default=200, help="timed trivial GETs per server; 0 skips (200)")
    ap.add_argument("--stint-url", help="bench this running Stint (http://host:port) instead of starting one")
    ap.add_argument("--web-processes", type=int, help="passed to runstack --web-processes (default: its own)")
    ap.add_argument("--skip-timetagger", action="store_true", help="Stint only")
    ap.add_argument("--skip-stint", action="store_true", help="TimeTagger only")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "sync.json"), help="JSON output file")
    ap.add_argument("--keep-datadir", action="store_true", help="keep the servers' data dirs")
    ap.add_argument("--combine", nargs="+", metavar="RESULT_JSON", help="print medians over result files and exit")
    a = ap.parse_args(argv)
    if a.combine:
        return a
    a.clients = [int(x) for x in str(a.clients).split(",") if x.strip()]
    checks = [
        (all(1 <= c <= 64 for c in a.clients), "--clients must be 1..64"),
        (1 <= a.batch <= 1000, "--batch must be 1..1000 (Stint's limit)"),
        (0 < a.seconds <= 3600, "--seconds must be in (0, 3600]"),
        (1 <= a.max_batches <= 1_000_000, "--max-batches must be 1..1e6"),
        (0 <= a.big_batch <= 1000 and 1 <= a.big_reps <= 100, "--big-batch must be 0..1000, --big-reps 1..100"),
        (0 <= a.changes_records <= 2_000_000, "--changes-records must be 0..2e6"),
        (1 <= a.preload_batch <= 1000, "--preload-batch must be 1..1000"),
        (1 <= a.tt_preload_batch <= 20_000, "--tt-preload-batch must be 1..20000"),
        (1 <= a.changes <= 1000 and 1 <= a.changes_limit <= 1000, "--changes and --changes-limit must be 1..1000"),
        (a.changes <= a.changes_limit, "--changes must not exceed --changes-limit"),
        (1 <= a.changes_calls <= 10_000, "--changes-calls must be 1..10000"),
        (0 <= a.floor_calls <= 10_000, "--floor-calls must be 0..10000"),
        (0 <= a.full_calls <= 20 and 1 <= a.tt_full_calls <= 100, "bad --full-calls/--tt-full-calls"),
        (not (a.skip_stint and a.skip_timetagger), "nothing to do"),
    ]
    for ok, msg in checks:
        if not ok:
            ap.error(msg)
    return a


def ensure_timetagger() -> None:
    if (Path(DEFAULT_VENV) / "bin" / "python").exists():
        return
    log("TimeTagger venv missing: running bench/peers/timetagger_setup.sh ...")
    subprocess.run([str(BENCH_DIR / "peers" / "timetagger_setup.sh")], check=True, timeout=900)


def git_state() -> dict:
    def git(*args):
        try:
            return subprocess.run(
                ["git", "--no-optional-locks", *args], cwd=REPO_DIR, capture_output=True, text=True, timeout=30
            ).stdout.strip()
        except OSError:
            return None

    return {"commit": git("rev-parse", "HEAD"), "modified": (git("diff", "--name-only", "HEAD") or "").split()}


def main(argv=None) -> int:
    a = parse_args(argv)
    if a.combine:
        return combine(a.combine)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks that stop the servers
    command = shlex.join([sys.executable, *sys.argv]) if argv is None else shlex.join(["sync_bench.py", *argv])
    run_id = secrets.token_hex(3)
    password = "Bb-" + secrets.token_urlsafe(18)
    year_ago = datetime.now(UTC).replace(microsecond=0) - timedelta(days=365)

    tt_push_users = {n: [f"push{n}c{j}-u{i}" for i in range(n)] for j, n in enumerate(a.clients)}
    tt_big_user, tt_upd_user = "big-user", "updates-user"
    tt_users = [u for us in tt_push_users.values() for u in us] + [tt_big_user]
    if a.changes_records:
        tt_users.append(tt_upd_user)

    result = {
        "benchmark": "sync",
        "command": command,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
            "python_bench": platform.python_version(),
            "platform": platform.platform(),
            "note": "server(s) and load generator share these cores",
        },
        "params": {k: v for k, v in vars(a).items() if k not in ("out", "keep_datadir", "combine")},
        "workload": {
            "stint_item": "time_entry upsert, new uuid4 id and idempotency key, t..t+25min, "
            "t += 30 min per record per user",
            "ok_response": EXPECTED_PROCESSED,
            "timing": "request sent -> last response byte; records/s = processed / (barrier -> last response); "
            "nearest-rank percentiles",
        },
        "baseline_reference": BASELINE,
        "targets": TARGETS,
        "stint": None,
        "timetagger": None,
    }
    stack: StintStack | None = None
    srv: TimeTaggerServer | None = None
    budget = len(a.clients) * 2 * (a.seconds + 600) + 2 * a.preload_timeout + 3600
    try:
        if not a.skip_timetagger:
            ensure_timetagger()
            result["timetagger"] = {
                "version": timetagger_version(),
                "server": "python -m timetagger (uvicorn + asgineer + itemdb/SQLite, 1 process), 127.0.0.1",
                "push": [],
            }
        if not a.skip_stint:
            result["stint"] = {"git": git_state(), "push": []}
            if a.stint_url:
                host, port = parse_base_url(a.stint_url)
                result["stint"]["server"] = f"already running at {a.stint_url} (no per-process CPU accounting)"
            else:
                log("Stint: starting manage.py runstack (embedded PostgreSQL + Redis in a fresh data dir) ...")
                stack = StintStack(web_processes=a.web_processes, max_lifetime=budget, keep_datadir=a.keep_datadir)
                t = time.perf_counter()
                stack.start()
                host, port = stack.host, stack.port
                result["stint"]["server"] = (
                    f"manage.py runstack --no-seed: {stack.web_process_count()} daphne process(es) + Celery worker "
                    "(--concurrency 2) + beat; embedded PostgreSQL 18 + Redis (unix sockets), DEBUG=false, 127.0.0.1"
                )
                result["stint"]["stack_command"] = stack.command
                result["stint"]["web_processes"] = stack.web_process_count()
                result["stint"]["startup_s"] = round(time.perf_counter() - t, 1)
                log(
                    f"  up on {stack.base_url} in {result['stint']['startup_s']} s "
                    f"(data {stack.datadir}, log {stack.log_path})"
                )
            labels = [f"push{n}c{j}-u{i}" for j, n in enumerate(a.clients) for i in range(n)] + ["big"]
            if a.changes_records:
                labels.append("changes")
            # Pre-load history and the timed changes after it end where the 30-minute slots
            # reach now (an entry may not end more than a day ahead: tracking's time bounds).
            slots = a.changes_records + a.changes + 10
            hist_start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30 * slots)
            log(f"  registering {len(labels)} users (each its own company and project) ...")
            s_users = register_users(host, port, labels, run_id, password, year_ago)
            if "changes" in s_users:
                s_users["changes"].clock.next = hist_start
        if srv is None and not a.skip_timetagger:
            log(f"TimeTagger {result['timetagger']['version']}: starting server ({len(tt_users)} users) ...")
            srv = TimeTaggerServer(users=tt_users, max_lifetime=budget, keep_datadir=a.keep_datadir).start()
            log(f"  listening on {srv.base_url} (pid {srv.pid}, data {srv.datadir})")

        # 0. the per-request floor of each server, right now
        if a.floor_calls:
            if result["stint"] is not None:
                result["stint"]["floor_ms"] = f = run_stint_floor(host, port, s_users["big"], a.floor_calls)
                log(
                    f"Stint floor: GET /health/live p50 {f['health_live']['p50']} ms, "
                    f"GET /api/v1/me p50 {f['me']['p50']} ms"
                )
            if srv is not None:
                result["timetagger"]["floor_ms"] = f = run_tt_floor(srv, a.floor_calls)
                log(f"TimeTagger floor: GET /timetagger/status p50 {f['status']['p50']} ms")

        # 1. pushes, Stint then TimeTagger per client count
        for j, n in enumerate(a.clients):
            if result["stint"] is not None:
                log(
                    f"Stint push phase: {n} clients x {a.batch}-item batches, {a.seconds}s "
                    f"(max {a.max_batches} batches each)"
                )
                users = [s_users[f"push{n}c{j}-u{i}"] for i in range(n)]
                r = run_stint_push(host, port, stack, users, a.batch, a.seconds, a.max_batches)
                result["stint"]["push"].append(r)
                log(
                    f"  -> {r['records_per_s']} records/s, {r['requests']} requests, "
                    f"p50 {r['latency_ms'].get('p50')} ms, p99 {r['latency_ms'].get('p99')} ms, errors {r['errors']}; "
                    f"server CPU {r['server_cpu_by_role_s']}; "
                    f"idle again after {r['after_phase']['settle_s']} s"
                )
            if srv is not None:
                log(f"TimeTagger push phase: {n} clients x {a.batch}-record batches, {a.seconds}s")
                m0 = machine_busy_s()
                r = ttb.run_push(srv, tt_push_users[n], a.batch, a.seconds, a.max_batches)
                r["machine_busy_cpu_s_incl_setup"] = round(machine_busy_s() - m0, 2)
                result["timetagger"]["push"].append(r)
                log(
                    f"  -> {r['records_per_s']} records/s, {r['requests']} requests, "
                    f"p50 {r['latency_ms'].get('p50')} ms, "
                    f"p99 {r['latency_ms'].get('p99')} ms, errors {r['errors']}; server CPU {r['server_cpu_s']} s"
                )
                time.sleep(1.0)

        # 2. one big batch
        if a.big_batch:
            if result["stint"] is not None:
                log(f"Stint big batch: {a.big_batch} items x {a.big_reps}")
                result["stint"]["big_batch"] = run_stint_big(host, port, stack, s_users["big"], a.big_batch, a.big_reps)
            if srv is not None:
                log(f"TimeTagger big batch: {a.big_batch} records x {a.big_reps}")
                result["timetagger"]["big_batch"] = run_tt_big(srv, tt_big_user, a.big_batch, a.big_reps)

        # 3. changes pull over a large history
        if a.changes_records:
            if result["stint"] is not None:
                log(f"Stint changes phase: {a.changes_records} entries, then {a.changes} changes")
                result["stint"]["changes"] = run_stint_changes(
                    host,
                    port,
                    stack,
                    s_users["changes"],
                    a.changes_records,
                    a.preload_batch,
                    a.changes,
                    a.changes_calls,
                    a.full_calls,
                    a.changes_limit,
                    a.preload_timeout,
                )
            if srv is not None:
                log(f"TimeTagger updates phase: {a.changes_records} records, then {a.changes} changes")
                result["timetagger"]["updates"] = ttb.run_updates(
                    srv,
                    tt_upd_user,
                    a.changes_records,
                    a.tt_preload_batch,
                    a.changes,
                    a.changes_calls,
                    a.tt_full_calls,
                    a.preload_timeout,
                )

        if stack is not None and (stack.proc is None or stack.proc.poll() is not None):
            raise RuntimeError(f"Stint stack died:\n{stack.log_tail()}")
        if srv is not None and (srv.proc is None or srv.proc.poll() is not None):
            raise RuntimeError(f"TimeTagger server died:\n{srv.log_tail()}")
        if stack is not None:
            result["stint"]["stack_log_tail"] = stack.log_tail(10)
    finally:
        if srv is not None:
            srv.stop()
        if stack is not None:
            log("Stint: stopping the stack (SIGINT) ...")
            stack.stop()
    result["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    result["figures"] = figures(result)

    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2), flush=True)

    log("\n=== Sync: Stint vs TimeTagger, same run (BASELINES.md = TimeTagger on the reference machine) ===")
    for line in summary_lines(result["figures"]):
        log(line)
    s = result["stint"] or {}
    for r in s.get("push") or []:
        log(
            f"stint push {r['clients']} clients: server CPU {r['server_cpu_by_role_s']}, "
            f"bench CPU {r['bench_process_cpu_s']} s"
        )
    if s.get("big_batch"):
        log(f"stint big batch ({s['big_batch']['items']} items): {s['big_batch']['s']} s")
    log(
        f"machine: {os.cpu_count()} cores shared by the servers and this load generator; "
        f"load at start {result['machine']['loadavg_at_start']}"
    )
    log(f"command: {command}")
    log(f"written to {out}")
    errors = sum(r["errors"] for sys_ in ("stint", "timetagger") for r in ((result.get(sys_) or {}).get("push") or []))
    return 0 if errors == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
