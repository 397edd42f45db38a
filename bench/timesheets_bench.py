"""GET /timesheets at scale (issue 18's target: a 200-member company, one month, under 100 ms
p95 with 1,000,000 entries in the table), against the database DATABASE_URL names (migrated).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/stint_bench .venv/bin/python bench/timesheets_bench.py

Loads once (a company "bench-timesheets" is reused when present): 200 members in five time
zones, each with 14 entries a day, back to back, for the last ``--days`` days (365: 1,022,000
entries), inserted set-based with the period-lock check lifted for the load. Then times the
selector (``tracking.selectors.timesheet_list``: the one SQL query) and the whole request
through Django's test client (authentication, scoping, serialization), ``--calls`` times each,
and prints p50/p95/p99 in milliseconds as JSON. Run it on a quiet machine: the numbers are only
as good as the box's idle time."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services import DeviceInfo, session_create  # noqa: E402
from organizations.models import Company, Membership, Project, Role  # noqa: E402
from tracking.selectors import TimesheetFilters, timesheet_list  # noqa: E402

SLUG = "bench-timesheets"
ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo", "Pacific/Auckland"]


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))], 1)


def load(members: int, days: int) -> Company:
    company = Company.objects.filter(slug=SLUG).first()
    if company is not None:
        return company
    with transaction.atomic():
        company = Company.objects.create(name="Bench timesheets", slug=SLUG, timezone="Europe/Berlin")
        users = User.objects.bulk_create(
            [
                User(email=f"ts{i}@bench.invalid", name=f"Bench {i:03d}", timezone=ZONES[i % 5], password="!")
                for i in range(members)
            ]
        )
        roles = [Role.OWNER] + [Role.MEMBER] * (members - 1)
        Membership.objects.bulk_create(
            [Membership(company=company, user=u, role=role) for u, role in zip(users, roles, strict=True)]
        )
        project = Project.objects.create(company=company, name="Bench")
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL stint.period_locks = 'off'")  # a bulk load, nothing is locked yet
        cursor.execute(
            """
            INSERT INTO tracking_timeentry (id, created_at, updated_at, company_id, user_id, project_id,
                description, started_at, ended_at, duration_seconds, timezone, billable, source)
            SELECT gen_random_uuid(), now(), now(), %s, m.user_id, %s, '',
                   date_trunc('day', now()) - make_interval(days => d) + make_interval(mins => 360 + k * 40),
                   date_trunc('day', now()) - make_interval(days => d) + make_interval(mins => 395 + k * 40),
                   2100, 'UTC', k %% 3 <> 0, 'TIMER'
              FROM organizations_membership m, generate_series(1, %s) d, generate_series(0, 13) k
             WHERE m.company_id = %s
            """,
            [company.pk, project.pk, days, company.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE tracking_timeentry")  # index-only scans need the visibility map
    print(f"loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return company


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=200)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--calls", type=int, default=50)
    args = parser.parse_args()

    company = load(args.members, args.days)
    owner = Membership.objects.select_related("company", "user").get(company=company, role=Role.OWNER)
    today = timezone.now().date()
    first = today - timedelta(days=30)
    filters = TimesheetFilters(first=first, last=today)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM tracking_timeentry")
        entries = cursor.fetchone()[0]

    selector = []
    for _ in range(args.calls):
        t = time.perf_counter()
        page = timesheet_list(membership=owner, filters=filters, limit=200)
        selector.append((time.perf_counter() - t) * 1000)

    client = Client()
    tokens = session_create(user=owner.user, device=DeviceInfo(device_name="bench"), stay_logged_in=False)
    url = f"/api/v1/timesheets?company={company.pk}&from={first}&to={today}&limit=200"
    api = []
    for _ in range(args.calls):
        t = time.perf_counter()
        response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {tokens.access}", HTTP_HOST="127.0.0.1")
        api.append((time.perf_counter() - t) * 1000)
        assert response.status_code == 200, response.content[:300]

    print(
        json.dumps(
            {
                "entries_in_table": entries,
                "members": args.members,
                "rows_on_page": len(page.rows),
                "load_average": os.getloadavg()[0],
                "selector_ms": {"p50": pct(selector, 50), "p95": pct(selector, 95), "p99": pct(selector, 99)},
                "request_ms": {"p50": pct(api, 50), "p95": pct(api, 95), "p99": pct(api, 99)},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
