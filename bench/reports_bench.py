"""Reports under load: 1,000,000 time entries across 200 users, then /reports/weekly,
/reports/team and an export of 100,000 entries, against the stack as `make run` starts it.

    .venv/bin/python bench/reports_bench.py                       # ~5 min
    .venv/bin/python bench/reports_bench.py --entries 200000      # a quicker look

Data (the generator is this file's `load`): 200 users, each their own membership; the first 50
in one company ("the 50-member company", owned by the benchmark's user), the rest in companies of
their own; each user's entries are back to back over the last ``--days`` days (no overlaps, so
the exclusion constraint holds), one of 5 projects of their company, 1 in 3 on a task. Loaded
with COPY straight into PostgreSQL (the API would take hours for a million).

Timed: ``/reports/weekly`` of one of the 50 users (``--calls`` times, p50/p95/p99); ``/reports/team``
for the 50-member company over the last 30 days (all 50 rows on one page, ``limit=50``); an XLSX
and a CSV export of that company's last ``--export-days`` (about 100,000 entries) by the stack's
worker: seconds from the request to READY, and the worker's resident memory sampled every 0.2 s.
Everything on 127.0.0.1; bounded in time."""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stint_client import StintClient  # noqa: E402
from stint_stack import BENCH_DIR, StintStack  # noqa: E402

PASSWORD = "Zq8-" + uuid.uuid4().hex


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))], 2)


def load(stack: StintStack, owner_token: str, entries: int, days: int, company_size: int = 50) -> dict:
    """COPY the users, memberships, projects, tasks and entries; returns ids to query. The
    first ``company_size`` users share the owner's company, the rest have one each."""
    import psycopg

    me = StintClient(stack.host, stack.port, token=owner_token)
    me_id = json.loads(me.request("GET", "/api/v1/me")[1])["id"]
    company = json.loads(me.request("GET", "/api/v1/companies")[1])["results"][0]["id"]
    dsn = f"postgresql://postgres@/stint_bench?host={stack.datadir / 'pg'}"
    rnd = random.Random(11)
    now = datetime.now(UTC).replace(microsecond=0)
    per_user = entries // 200
    span = timedelta(days=days) / per_user
    t = time.perf_counter()
    users = [me_id] + [str(uuid.uuid4()) for _ in range(199)]
    companies = [company] * company_size + [str(uuid.uuid4()) for _ in range(200 - company_size)]
    with psycopg.connect(dsn, autocommit=True) as conn, conn.transaction():
        for n, (user, comp) in enumerate(zip(users, companies, strict=True)):
            if n == 0:
                continue
            conn.execute(
                "INSERT INTO accounts_user (id, password, is_superuser, created_at, updated_at, email, name,"
                " timezone, settings, is_active, is_staff)"
                " VALUES (%s, '!', false, now(), now(), %s, %s, 'UTC', '{}', true, false)",
                [user, f"bench-{n}-{user[:8]}@example.com", f"Bench user {n:03d}"],
            )
            if comp != company:
                conn.execute(
                    "INSERT INTO organizations_company (id, created_at, updated_at, name, slug, timezone,"
                    " subscription_status, screenshots_enabled, screenshot_interval_seconds, screenshot_blur_level,"
                    " idle_timeout_seconds) VALUES (%s, now(), now(), %s, %s, 'UTC', 'FREE', false, 600, 0, 300)",
                    [comp, f"Bench {n}", f"bench-{comp}"],
                )
            conn.execute(
                "INSERT INTO organizations_membership (id, created_at, updated_at, company_id, user_id, role,"
                " is_active) VALUES (%s, now(), now(), %s, %s, 'MEMBER', true)",
                [str(uuid.uuid4()), comp, user],
            )
        projects: dict[str, list[str]] = {}
        tasks: dict[str, list[str]] = {}
        for comp in set(companies):
            projects[comp] = []
            for p in range(5):
                pid = str(uuid.uuid4())
                conn.execute(
                    "INSERT INTO organizations_project (id, created_at, updated_at, company_id, name, color, billable,"
                    " hourly_rate_cents, currency) VALUES (%s, now(), now(), %s, %s, '#4F46E5', true, %s, 'EUR')",
                    [pid, comp, f"Project {p}", 5000 + 1000 * p],
                )
                projects[comp].append(pid)
                tid = str(uuid.uuid4())
                conn.execute(
                    "INSERT INTO tracking_task (id, created_at, updated_at, company_id, project_id, title, status,"
                    " position, billing_type) VALUES (%s, now(), now(), %s, %s, %s, 'TODO', 0, 'NONE')",
                    [tid, comp, pid, f"Task {p}"],
                )
                tasks[pid] = [tid]
        log(f"  users, companies, projects: {time.perf_counter() - t:.1f} s")
        with (
            conn.cursor() as cur,
            cur.copy(
                "COPY tracking_timeentry (id, created_at, updated_at, company_id, user_id, project_id, task_id,"
                " description, started_at, ended_at, duration_seconds, timezone, billable, source) FROM STDIN"
            ) as copy,
        ):
            for n, (user, comp) in enumerate(zip(users, companies, strict=True)):
                start = now - timedelta(days=days)
                for _ in range(per_user):
                    length = int(span.total_seconds() * rnd.uniform(0.5, 0.95))
                    project = rnd.choice(projects[comp])
                    task = tasks[project][0] if rnd.random() < 0.33 else None
                    end = start + timedelta(seconds=length)
                    copy.write_row(
                        (str(uuid.uuid4()), now, now, comp, user, project, task, "Bench entry — café", start, end,
                         length, "UTC", rnd.random() < 0.8, "IMPORT")
                    )  # fmt: skip
                    start += span
                if n % 20 == 0:
                    log(f"    {n * per_user:,} entries ({time.perf_counter() - t:.0f} s)")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")
    return {"company": company, "me": me_id, "entries": per_user * 200, "load_s": round(time.perf_counter() - t, 1)}


def worker_rss(stack: StintStack) -> int:
    total = 0
    for pid, role in stack.processes().items():
        if role == "worker":
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total = max(total, int(line.split()[1]))
            except OSError:
                pass
    return total  # the largest worker process, kB


def run_export(stack: StintStack, client: StintClient, fmt: str, days: int) -> dict:
    today = datetime.now(UTC).date()
    body = {"report": "time_entries", "format": fmt, "from": str(today - timedelta(days=days - 1)), "to": str(today)}
    samples, stop = [], threading.Event()

    def sample():
        while not stop.is_set():
            samples.append(worker_rss(stack))
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    t = time.perf_counter()
    status, data = client.request("POST", "/api/v1/reports/exports", json.dumps(body).encode())
    assert status == 202, data
    export_id = json.loads(data)["id"]
    while True:
        detail = json.loads(client.request("GET", f"/api/v1/reports/exports/{export_id}")[1])
        if detail["status"] in ("READY", "FAILED") or time.perf_counter() - t > 300:
            break
        time.sleep(0.2)
    took = time.perf_counter() - t
    stop.set()
    sampler.join()
    return {"format": fmt, "status": detail["status"], "rows": detail["rows"], "bytes": detail["size_bytes"],
            "seconds": round(took, 1), "worker_rss_kb_first": samples[0] if samples else None,
            "worker_rss_kb_max": max(samples or [0]), "error": detail["error"]}  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--export-days", type=int, default=146, help="about 100,000 entries of the 50 users at 1M")
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "reports.json"))
    a = ap.parse_args(argv)
    if not (10_000 <= a.entries <= 2_000_000 and 30 <= a.days <= 730 and 1 <= a.calls <= 2000):
        ap.error("--entries 10k..2M, --days 30..730, --calls 1..2000")
    result = {
        "benchmark": "reports",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    stack = StintStack(max_lifetime=3600).start()
    try:
        owner = StintClient(stack.host, stack.port)
        owner.register(f"reports-{uuid.uuid4().hex[:6]}@bench.test", PASSWORD, "Bench owner", "Bench reports")
        log(f"loading {a.entries:,} entries ...")
        result["data"] = load(stack, owner.token, a.entries, a.days)
        log(f"  {result['data']}")
        times = []
        for _ in range(a.calls + 5):
            t = time.perf_counter()
            status, body = owner.request("GET", "/api/v1/reports/weekly?tz=UTC")
            times.append((time.perf_counter() - t) * 1000)
            assert status == 200, body[:200]
        times = times[5:]
        week = sum(d["seconds"] for d in json.loads(body)["days"])
        result["weekly"] = {"calls": a.calls, "p50_ms": pct(times, 50), "p95_ms": pct(times, 95),
                            "p99_ms": pct(times, 99), "week_seconds": week}  # fmt: skip
        log(f"weekly: {result['weekly']}")
        today = datetime.now(UTC).date()
        path = f"/api/v1/reports/team?from={today - timedelta(days=29)}&to={today}&tz=UTC&limit=50"
        times = []
        for _ in range(25):
            t = time.perf_counter()
            status, body = owner.request("GET", path)
            times.append((time.perf_counter() - t) * 1000)
            assert status == 200, body[:200]
        times = times[5:]
        rows = json.loads(body)["results"]
        result["team"] = {"calls": 20, "rows": len(rows), "p50_ms": pct(times, 50), "p95_ms": pct(times, 95),
                          "max_ms": round(max(times), 2)}  # fmt: skip
        log(f"team: {result['team']}")
        for fmt in ("csv", "xlsx"):
            result[f"export_{fmt}"] = run_export(stack, owner, fmt, a.export_days)
            log(f"export {fmt}: {result[f'export_{fmt}']}")
    finally:
        stack.stop()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
