"""Timesheets and locked periods under load (issue 18), in ONE run against the stack as
`make run` starts it:

    .venv/bin/python bench/timesheets_bench.py                   # ~6 min
    .venv/bin/python bench/timesheets_bench.py --entries 200000 --seconds 5   # a quicker look
    .venv/bin/python bench/timesheets_bench.py --skip-locks      # GET /timesheets only (~3 min)

1. The lock check's cost on the hot paths. bench/sync_bench.py's own phases (8 clients pushing
   100-item batches; one 1,000-item batch) with the period-lock triggers enabled and disabled
   (``ALTER TABLE ... DISABLE TRIGGER``), alternating ON, OFF, ON, OFF so drift hits both alike.
   Each pushing user's company has a ``locked_until`` and 20 APPROVED weeks in the past of the
   entries pushed, so every statement's check probes real lock rows (and finds no conflict).
   Figure: median ON / median OFF (target: within 5 %).
2. ``GET /api/v1/timesheets`` for a 200-member company over one month, with 1,000,000 entries in
   the table (bench/reports_bench.py's loader, all 200 users in one company) and every week older
   than five weeks APPROVED: ``--calls`` requests of the first page and of every page, p50/p95/p99
   (target: p95 under 100 ms).

Progress on stderr; JSON in --out (default bench/results/timesheets.json)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reports_bench import load, log, pct  # noqa: E402
from stint_client import StintClient  # noqa: E402
from stint_stack import BENCH_DIR, StintStack  # noqa: E402
from sync_bench import register_users, run_stint_big, run_stint_push  # noqa: E402

PASSWORD = "Zq8-" + uuid.uuid4().hex
TRIGGERS = ("tracking_entry_period_insert", "tracking_entry_period_update", "tracking_entry_period_delete")


def _dsn(stack: StintStack) -> str:
    return f"postgresql://postgres@/stint_bench?host={stack.datadir / 'pg'}"


def set_triggers(stack: StintStack, enabled: bool) -> None:
    import psycopg

    verb = "ENABLE" if enabled else "DISABLE"
    with psycopg.connect(_dsn(stack), autocommit=True) as conn:
        for name in TRIGGERS:
            conn.execute(f"ALTER TABLE tracking_timeentry {verb} TRIGGER {name}")


def lock_the_past(stack: StintStack, emails: list[str], before: datetime, weeks: int = 20) -> None:
    """Each user's company locked up to ``before`` - 1 day, and ``weeks`` APPROVED weeks before that."""
    import psycopg

    monday = (before - timedelta(days=before.weekday() + 7)).replace(hour=0, minute=0, second=0, microsecond=0)
    with psycopg.connect(_dsn(stack), autocommit=True) as conn, conn.transaction():
        rows = conn.execute(
            "SELECT u.id, m.company_id FROM accounts_user u JOIN organizations_membership m ON m.user_id = u.id"
            " WHERE u.email = ANY(%s)",
            [emails],
        ).fetchall()
        for user_id, company_id in rows:
            conn.execute(
                "UPDATE organizations_company SET locked_until = %s WHERE id = %s",
                [(before - timedelta(days=1)).date(), company_id],
            )
            for w in range(1, weeks + 1):
                start = monday - timedelta(weeks=w)
                conn.execute(
                    "INSERT INTO tracking_timesheet (id, created_at, updated_at, company_id, user_id, period_start,"
                    " period_end, timezone, starts_at, ends_at, status, total_seconds, billable_seconds,"
                    " submitted_at, comment) VALUES (%s, now(), now(), %s, %s, %s, %s, 'UTC', %s, %s, 'APPROVED',"
                    " 0, 0, now(), '')",
                    [str(uuid.uuid4()), company_id, user_id, start.date(), (start + timedelta(days=6)).date(),
                     start, start + timedelta(days=7)],
                )  # fmt: skip


def approve_old_weeks(stack: StintStack, company: str, older_than: datetime) -> int:
    """APPROVED sheets, with their real totals, for every member's week before ``older_than``."""
    import psycopg

    with psycopg.connect(_dsn(stack), autocommit=True) as conn:
        cur = conn.execute(
            """
            INSERT INTO tracking_timesheet (id, created_at, updated_at, company_id, user_id, period_start,
                period_end, timezone, starts_at, ends_at, status, total_seconds, billable_seconds,
                submitted_at, comment)
            SELECT gen_random_uuid(), now(), now(), e.company_id, e.user_id, w::date, w::date + 6, 'UTC',
                   w, w + interval '7 days', 'APPROVED', sum(e.duration_seconds),
                   coalesce(sum(e.duration_seconds) FILTER (WHERE e.billable), 0), now(), ''
              FROM tracking_timeentry e
             CROSS JOIN LATERAL (SELECT date_trunc('week', e.started_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS w) k
             WHERE e.company_id = %s AND e.deleted_at IS NULL AND e.started_at < %s
             GROUP BY e.company_id, e.user_id, w
            """,
            [company, older_than],
        )
        conn.execute("ANALYZE tracking_timesheet")
        return cur.rowcount


def lock_overhead(stack: StintStack, a: argparse.Namespace) -> dict:
    run_id = uuid.uuid4().hex[:6]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1000)
    labels = [f"c{i}" for i in range(a.clients)] + ["big"]
    users = register_users(stack.host, stack.port, labels, run_id, PASSWORD, start)
    lock_the_past(stack, [u.email for u in users.values()], start)
    pushers = [users[label] for label in labels[:-1]]
    modes = ["on", "off", "on", "off"]
    push: dict[str, list[dict]] = {"on": [], "off": []}
    big: dict[str, list[dict]] = {"on": [], "off": []}
    try:
        for mode in modes:
            set_triggers(stack, mode == "on")
            log(f"[locks {mode}] push, {a.clients} clients x 100 items, {a.seconds} s")
            push[mode].append(run_stint_push(stack.host, stack.port, stack, pushers, 100, a.seconds, 10_000))
            log(f"  {push[mode][-1]['records_per_s']} records/s, p50 {push[mode][-1]['latency_ms']['p50']} ms")
            log(f"[locks {mode}] big batch x {a.big_reps}")
            big[mode].append(run_stint_big(stack.host, stack.port, stack, users["big"], 1000, a.big_reps))
    finally:
        set_triggers(stack, True)

    def med(values: list[float]) -> float:
        return round(statistics.median(values), 4)

    rps = {m: med([r["records_per_s"] for r in push[m]]) for m in ("on", "off")}
    p50 = {m: med([r["latency_ms"]["p50"] for r in push[m]]) for m in ("on", "off")}
    big_s = {m: med([s for r in big[m] for s in r["s"]]) for m in ("on", "off")}
    return {
        "order": modes,
        "push_records_per_s": rps,
        "push_p50_ms": p50,
        "big_batch_median_s": big_s,
        # > 1 means slower with the locks on
        "push_throughput_cost": round(rps["off"] / rps["on"], 4),
        "big_batch_cost": round(big_s["on"] / big_s["off"], 4),
        "runs": {"push": push, "big": big},
    }


def timesheets_list(stack: StintStack, owner: StintClient, a: argparse.Namespace) -> dict:
    log(f"loading {a.entries:,} entries, 200 members in one company ...")
    data = load(stack, owner.token, a.entries, 365, company_size=200)
    today = datetime.now(UTC).date()
    approved = approve_old_weeks(stack, data["company"], datetime.now(UTC) - timedelta(weeks=5))
    log(f"  {data}; {approved:,} weeks APPROVED")
    first = today - timedelta(days=30)
    path = f"/api/v1/timesheets?from={first}&to={today}"

    def timed(p: str) -> tuple[float, dict]:
        t = time.perf_counter()
        status, body = owner.request("GET", p)
        ms = (time.perf_counter() - t) * 1000
        assert status == 200, body[:300]
        return ms, json.loads(body)

    first_page, rows = [], 0
    for _ in range(a.calls + 5):
        ms, page = timed(path)
        first_page.append(ms)
        rows = len(page["results"])
    first_page = first_page[5:]
    walks, pages, total_rows = [], 0, 0
    for _ in range(max(5, a.calls // 10) + 1):
        t, nxt, pages, total_rows = time.perf_counter(), path, 0, 0
        while nxt:
            _, page = timed(nxt)
            pages += 1
            total_rows += len(page["results"])
            nxt = page["next"] and urlsplit(page["next"])._replace(scheme="", netloc="").geturl()
        walks.append((time.perf_counter() - t) * 1000)
    walks = walks[1:]
    return {
        "data": data,
        "approved_weeks": approved,
        "path": path,
        "first_page": {"calls": len(first_page), "rows": rows, "p50_ms": pct(first_page, 50),
                       "p95_ms": pct(first_page, 95), "p99_ms": pct(first_page, 99)},
        "all_pages": {"walks": len(walks), "pages": pages, "rows": total_rows, "p50_ms": pct(walks, 50),
                      "p95_ms": pct(walks, 95)},
    }  # fmt: skip


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--big-reps", type=int, default=3)
    ap.add_argument("--calls", type=int, default=100)
    ap.add_argument("--skip-list", action="store_true", help="only the lock overhead")
    ap.add_argument("--skip-locks", action="store_true", help="only GET /timesheets")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "timesheets.json"))
    a = ap.parse_args(argv)
    if not (10_000 <= a.entries <= 2_000_000 and 1 <= a.clients <= 32 and 1 <= a.calls <= 2000):
        ap.error("--entries 10k..2M, --clients 1..32, --calls 1..2000")
    result: dict = {
        "benchmark": "timesheets",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    stack = StintStack(max_lifetime=3600).start()
    try:
        owner = StintClient(stack.host, stack.port)
        owner.register(f"timesheets-{uuid.uuid4().hex[:6]}@bench.test", PASSWORD, "Bench owner", "Bench timesheets")
        if not a.skip_list:
            result["timesheets_list"] = timesheets_list(stack, owner, a)
            log(f"timesheets: first page {result['timesheets_list']['first_page']}")
            log(f"            all pages {result['timesheets_list']['all_pages']}")
        if not a.skip_locks:
            result["lock_overhead"] = lock_overhead(stack, a)
            lo = result["lock_overhead"]
            log(f"locks: push {lo['push_records_per_s']} records/s (cost x{lo['push_throughput_cost']}),"
                f" big batch {lo['big_batch_median_s']} s (cost x{lo['big_batch_cost']})")  # fmt: skip
    finally:
        stack.stop()
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
