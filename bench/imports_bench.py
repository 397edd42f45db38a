"""Issue 20's import benchmark: a 1,000,000-row Toggl detailed CSV (200 members, a year)
imported into a fresh company, as a dry run and then for real, through the same path as
``manage.py import_data`` (``imports.services.import_file``: the job row, the stored file, the
pipeline the Celery task runs), against the database DATABASE_URL names (migrated).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stint_bench REDIS_URL=redis://127.0.0.1:6379/6 \\
        .venv/bin/python bench/imports_bench.py [--rows 1000000] [--members 200]

Targets: import < 60 s, dry run < 30 s, memory flat. The process's RSS is sampled every 0.25 s
(/proc/self/status) while each phase runs; the ratio to PostgreSQL's COPY (168k rows/s,
/work/shared/BASELINES.md) is the rows imported per second over that. Prints JSON on stdout,
progress on stderr. The file goes to a temporary directory and is removed afterwards; the
company stays (a new one per run: its slug carries the time)."""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from accounts.models import User  # noqa: E402
from imports import services  # noqa: E402
from organizations.models import Company, Membership, Role  # noqa: E402
from tracking.models import TimeEntry  # noqa: E402

COPY_ROWS_PER_SECOND = 168_000  # BASELINES.md
HEADER = [
    "User", "Email", "Client", "Project", "Task", "Description", "Billable", "Start date", "Start time",
    "End date", "End time", "Duration", "Tags", "Amount (EUR)",
]  # fmt: skip


def write_csv(path: Path, *, rows: int, members: int, tag: str) -> None:
    """Toggl's shape, sorted by start as Toggl exports it: each member's day is back-to-back
    entries of 20-40 minutes from 08:00 local (Europe/Berlin, so both DST changes are in)."""
    per_member = rows // members
    per_day = 14
    days = -(-per_member // per_day)
    first = date(2025, 1, 6)
    clients = [f"Client {c}" for c in range(5)]
    written = 0
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(HEADER)
        for d in range(days):
            day = first + timedelta(days=d)
            for m in range(members):
                clock = datetime(day.year, day.month, day.day, 8, 0)  # noqa: DTZ001  # local wall time, as Toggl writes it
                for k in range(per_day):
                    if written >= rows or d * per_day + k >= per_member:
                        break
                    minutes = 20 + (m * 7 + k * 3 + d) % 21
                    end = clock + timedelta(minutes=minutes)
                    p = (m + k) % 20
                    out.writerow(
                        [
                            f"Member {m}", f"m{m}@{tag}.bench.invalid", clients[p % 5], f"Project {p}",
                            f"Task {k % 3}" if k % 4 else "", f"Work item {d}-{k}", "Yes" if k % 3 else "No",
                            day.isoformat(), clock.strftime("%H:%M:%S"), day.isoformat(), end.strftime("%H:%M:%S"),
                            f"00:{minutes:02d}:00", "deep, focus" if k % 5 == 0 else "", "",
                        ]
                    )  # fmt: skip
                    written += 1
                    clock = end


def company(members: int, tag: str) -> Membership:
    with transaction.atomic():
        c = Company.objects.create(name=f"Bench imports {tag}", slug=f"bench-imports-{tag}", timezone="Europe/Berlin")
        users = User.objects.bulk_create(
            [
                User(email=f"m{i}@{tag}.bench.invalid", name=f"Member {i}", timezone="Europe/Berlin", password="!")
                for i in range(members)
            ]
        )
        roles = [Role.OWNER] + [Role.MEMBER] * (members - 1)
        Membership.objects.bulk_create(
            [Membership(company=c, user=u, role=r) for u, r in zip(users, roles, strict=True)]
        )
    return Membership.objects.select_related("company", "user").get(company=c, role=Role.OWNER)


class RssSampler:
    def __init__(self, every: float = 0.25) -> None:
        self.every, self.samples, self._stop = every, [], threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def rss_mb() -> float:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append(round(self.rss_mb(), 1))
            time.sleep(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict:
        s = self.samples or [0.0]
        tenth = max(1, len(s) // 10)
        return {
            "start_mb": s[0],
            "max_mb": max(s),
            "end_mb": s[-1],
            "first_tenth_mean_mb": round(sum(s[:tenth]) / tenth, 1),
            "last_tenth_mean_mb": round(sum(s[-tenth:]) / tenth, 1),
            "samples": len(s),
        }


def backend_cpu_seconds() -> float:
    """CPU of this connection's PostgreSQL backend (same machine): user + system ticks."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def phase(membership: Membership, path: Path, *, dry_run: bool) -> dict:
    print(f"{'dry run' if dry_run else 'import'}: {os.getloadavg()[0]:.2f} load", file=sys.stderr)
    last = [0.0]

    def progress(job) -> None:
        if time.monotonic() - last[0] > 5:
            last[0] = time.monotonic()
            print(f"  {job.progress_done}/{job.progress_total} rows", file=sys.stderr)

    load = os.getloadavg()[0]
    cpu_before, pg_before = time.process_time(), backend_cpu_seconds()
    with RssSampler() as rss:
        started = time.perf_counter()
        job = services.import_file(
            membership=membership, path=str(path), source="toggl_csv", dry_run=dry_run, tz="Europe/Berlin",
            on_progress=progress,
        )  # fmt: skip
        seconds = time.perf_counter() - started
    cpu, pg_cpu = time.process_time() - cpu_before, backend_cpu_seconds() - pg_before
    summary = dict(job.summary)
    summary["errors"] = summary["errors"][:3]
    return {
        "status": job.status,
        "seconds": round(seconds, 1),
        "rows": job.progress_done,
        "rows_per_second": round(job.progress_done / seconds),
        "ratio_to_copy": round(job.progress_done / seconds / COPY_ROWS_PER_SECOND, 3),
        "load_average_at_start": round(load, 2),
        "load_average_at_end": round(os.getloadavg()[0], 2),
        # CPU spent by this process and its PostgreSQL backend: what the phase costs whatever
        # else the machine runs (wall time on a shared machine is mostly waiting for a core).
        "process_cpu_seconds": round(cpu, 1),
        "postgres_backend_cpu_seconds": round(pg_cpu, 1),
        "rss": rss.summary(),
        "summary": summary,
    }


def profiled(prefix: str | None, name: str, run, *args, **kwargs):
    """``run(*args, **kwargs)``, under cProfile when ``prefix`` is given (its times are inflated)."""
    if prefix is None:
        return run(*args, **kwargs)
    import cProfile

    profile = cProfile.Profile()
    result = profile.runcall(run, *args, **kwargs)
    profile.dump_stats(f"{prefix}-{name}.prof")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--profile", metavar="PREFIX", help="write cProfile stats of each phase to PREFIX-<phase>.prof")
    args = parser.parse_args()
    tag = time.strftime("%Y%m%d%H%M%S")
    settings.MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="stint-imports-bench-media-"))
    with tempfile.TemporaryDirectory(prefix="stint-imports-bench-") as tmp:
        path = Path(tmp) / "toggl.csv"
        started = time.perf_counter()
        write_csv(path, rows=args.rows, members=args.members, tag=tag)
        print(f"wrote {path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        owner = company(args.members, tag)
        dry = profiled(args.profile, "dry", phase, owner, path, dry_run=True)
        real = profiled(args.profile, "import", phase, owner, path, dry_run=False)
        again = profiled(args.profile, "again", phase, owner, path, dry_run=True)  # everything is a duplicate now
    result = {
        "rows": args.rows,
        "members": args.members,
        "file_mb": round(path.stat().st_size / 1e6, 1) if path.exists() else None,
        "chunk_rows": settings.IMPORT_CHUNK_ROWS,
        "dry_run": dry,
        "import": real,
        "dry_run_after": again,
        "entries_in_company": TimeEntry.objects.filter(company_id=owner.company_id).count(),
        "summaries_equal": dry["summary"] == real["summary"],
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
