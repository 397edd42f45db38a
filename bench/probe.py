"""Probe a running Stint: time every GET endpoint of the API, then load its busiest read.

    make run                                   # in another terminal: the stack with the demo data
    .venv/bin/python bench/probe.py            # http://127.0.0.1:8000, alex@studio.co
    .venv/bin/python bench/probe.py --url http://127.0.0.1:9000 --runs 20 --load-seconds 15 --json out.json

1. Every GET operation under /api/v1/ in /api/schema/ (path ids taken from the demo data through
   the list endpoints, signed file links from the objects that hand them out), one warm-up and
   ``--runs`` timed requests each, one after another on one keep-alive connection: p50, p95, p99.
2. The busiest read, ``GET /api/v1/sync/changes`` at the caller's head (every desktop tracker
   polls it every few seconds): ``--concurrency`` asyncio workers on httpx for ``--load-seconds``
   (and at most ``--max-requests``): requests/s and latency percentiles.

Loopback only (the URL must name 127.0.0.0/8, localhost or ::1); every loop is bounded in count
and time; progress goes to stderr, a Markdown table to stdout. Latency is from sending the request
to the last byte of the response; percentiles are nearest-rank.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import re
import socket
import sys
import time
from urllib.parse import urlsplit

import httpx

API = "/api/v1"
# Where each path parameter's id comes from: the list endpoint of the same resource.
ID_SOURCES = {
    "companies": "/companies",
    "clients": "/clients",
    "projects": "/projects",
    "tasks": "/tasks",
    "time-entries": "/time-entries",
    "teams": "/teams",
    "privacy-rules": "/privacy-rules",
    "screenshots": "/screenshots",
    "reports": "/reports/exports",
    "auth": "/auth/sessions",
}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def stats(values: list[float]) -> dict:
    return {q: round(percentile(values, n) * 1000, 2) for q, n in (("p50", 50), ("p95", 95), ("p99", 99))}


def require_loopback(url: str) -> None:
    host = urlsplit(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        sys.exit(f"refusing {url}: the probe only talks to this machine (127.0.0.0/8, localhost, ::1)")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def first_id(client: httpx.Client, list_path: str) -> str | None:
    response = client.get(API + list_path, params={"limit": 1})
    if response.status_code != 200:
        return None
    body = response.json()
    rows = body.get("results", body) if isinstance(body, dict) else body
    return str(rows[0]["id"]) if rows else None


def member_id(client: httpx.Client, members_path: str) -> str | None:
    response = client.get(members_path)
    rows = response.json() if response.status_code == 200 else []
    rows = rows.get("results", rows) if isinstance(rows, dict) else rows
    if not rows:
        return None
    row = rows[0]
    return str(row.get("user_id") or (row.get("user") or {}).get("id") or row.get("id"))


def resolve(client: httpx.Client, path: str, cache: dict) -> tuple[str | None, str]:
    """A concrete URL for a templated path, or (None, why not)."""
    segment = path.removeprefix(API + "/").split("/")[0]
    params = re.findall(r"{(\w+)}", path)
    url = path
    for name in params:
        if name == "variant":
            continue  # handled with the screenshot's signed links below
        source = "/companies" if (segment, name) == ("companies", "id") else ID_SOURCES.get(segment)
        if segment in {"companies", "teams"} and name == "user_id":
            value = member_id(client, f"{API}/{segment}/{cache[segment]}/members")
        else:
            if source is None:
                return None, f"no list endpoint gives an id for {{{name}}}"
            if source not in cache:
                cache[source] = first_id(client, source)
            value = cache[source]
        if value is None:
            return None, f"the demo data has nothing at {source or name}"
        cache.setdefault(segment, value)
        url = url.replace("{" + name + "}", value)
    return url, ""


def signed_links(client: httpx.Client, cache: dict) -> dict[str, str]:
    """Signed file links handed out by a READY screenshot (and a READY export, if any)."""
    links = {}
    shots = client.get(API + "/screenshots", params={"limit": 50})
    for shot in shots.json().get("results", []) if shots.status_code == 200 else []:
        if shot.get("image_url") and shot.get("thumbnail_url"):
            links[f"{API}/screenshots/{{screenshot_id}}/{{variant}} (image)"] = shot["image_url"]
            links[f"{API}/screenshots/{{screenshot_id}}/{{variant}} (thumbnail)"] = shot["thumbnail_url"]
            break
    export_id = cache.get("/reports/exports")
    if export_id:
        status = client.get(f"{API}/reports/exports/{export_id}")
        if status.status_code == 200 and status.json().get("download_url"):
            links[f"{API}/reports/exports/{{export_id}}/download"] = status.json()["download_url"]
    return links


def create_missing(client: httpx.Client) -> list[str]:
    """What the demo data lacks for a GET to have something to read: a privacy rule (matching
    nothing), a CSV export and a small screenshot (screenshots switched on for the company if
    they are off), each waited for until READY. Returns the
    requests that undo the rest afterwards (exports cannot be deleted: they expire)."""
    import io
    from datetime import UTC, datetime, timedelta

    cleanup = []
    if first_id(client, "/privacy-rules") is None:
        rule = client.post(f"{API}/privacy-rules", json={"field": "app", "pattern": "probe-nothing", "action": "drop"})
        if rule.status_code == 201:
            cleanup.append(("DELETE", f"{API}/privacy-rules/{rule.json()['id']}", None))
    if first_id(client, "/reports/exports") is None:
        today = datetime.now(UTC).date()
        body = {"report": "time_entries", "format": "csv", "from": str(today - timedelta(days=7)), "to": str(today)}
        export = client.post(f"{API}/reports/exports", json=body)
        if export.status_code == 202:
            wait_ready(client, f"{API}/reports/exports/{export.json()['id']}")
    if first_id(client, "/screenshots") is None:
        from PIL import Image

        png = io.BytesIO()
        Image.new("RGB", (320, 200), (40, 90, 160)).save(png, "PNG")

        def upload():
            return client.post(
                f"{API}/screenshots",
                files={"file": ("probe.png", png.getvalue(), "image/png")},
                data={"captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
            )

        shot = upload()
        if shot.status_code == 403:  # the company has them off: on for the probe, off again after
            company = first_id(client, "/companies")
            client.patch(f"{API}/companies/{company}", json={"screenshots_enabled": True})
            cleanup.append(("PATCH", f"{API}/companies/{company}", {"screenshots_enabled": False}))
            shot = upload()
        if shot.status_code == 201:
            wait_ready(client, f"{API}/screenshots/{shot.json()['id']}")
            cleanup.insert(0, ("DELETE", f"{API}/screenshots/{shot.json()['id']}", None))
        else:
            log(f"could not upload a screenshot: {shot.status_code} {shot.text[:150]}")
    return cleanup


def wait_ready(client: httpx.Client, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get(path).json().get("status") in {"READY", "FAILED"}:
            return
        time.sleep(0.3)
    log(f"{path} was not READY after {timeout} s (is the worker running?)")


def time_get(client: httpx.Client, url: str, runs: int) -> tuple[list[float], set[int]]:
    client.get(url)  # warm-up, untimed
    seconds, statuses = [], set()
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        response.read()
        seconds.append(time.perf_counter() - started)
        statuses.add(response.status_code)
    return seconds, statuses


async def load(base: str, token: str, path: str, *, concurrency: int, seconds: float, max_requests: int) -> dict:
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def worker(client: httpx.AsyncClient):
        nonlocal errors
        while time.monotonic() < deadline and len(latencies) + errors < max_requests:
            started = time.perf_counter()
            try:
                response = await client.get(path)
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append(time.perf_counter() - started)
            else:
                errors += 1

    async def progress():
        while time.monotonic() < deadline:
            await asyncio.sleep(1)
            log(f"  load: {len(latencies)} ok, {errors} errors")

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        started = time.monotonic()
        reporter = asyncio.create_task(progress())
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        elapsed = time.monotonic() - started
        reporter.cancel()
    return {
        "path": path,
        "concurrency": concurrency,
        "seconds": round(elapsed, 2),
        "requests": len(latencies),
        "errors": errors,
        "requests_per_second": round(len(latencies) / elapsed, 1),
        **(stats(latencies) if latencies else {}),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--email", default="alex@studio.co")
    parser.add_argument("--password", default="password123")
    parser.add_argument("--runs", type=int, default=20, help="timed requests per endpoint (max 200)")
    parser.add_argument("--load-seconds", type=float, default=10, help="length of the load run (max 120)")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-requests", type=int, default=50_000, help="stop the load run after this many")
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument(
        "--no-create-missing",
        dest="create_missing",
        action="store_false",
        help="do not create a privacy rule, an export and a screenshot when the data has none",
    )
    args = parser.parse_args()
    base = args.url.rstrip("/")
    require_loopback(base)
    runs, load_seconds = min(max(args.runs, 1), 200), min(max(args.load_seconds, 1), 120)

    with httpx.Client(base_url=base, timeout=30) as client:
        login = client.post(f"{API}/auth/login", json={"email": args.email, "password": args.password})
        if login.status_code != 200:
            sys.exit(f"login as {args.email} failed: {login.status_code} {login.text[:200]} (is the demo data loaded?)")
        token = login.json()["access"]
        client.headers["Authorization"] = f"Bearer {token}"
        schema = client.get("/api/schema/", params={"format": "json"}).json()
        paths = sorted(p for p, ops in schema["paths"].items() if "get" in ops and p.startswith(API))
        cleanup = create_missing(client) if args.create_missing else []
        cache: dict = {}
        targets: list[tuple[str, str | None, str]] = []
        for path in paths:
            if "{variant}" in path or path.endswith("/download"):
                continue  # signed file links, added below from the objects that hand them out
            url, why = resolve(client, path, cache)
            targets.append((path, url, why))
        links = signed_links(client, cache)
        targets += [(label, url, "") for label, url in links.items()]
        for path in paths:
            if ("{variant}" in path or path.endswith("/download")) and not any(t[0].startswith(path) for t in targets):
                targets.append((path, None, "no READY object in the demo data hands out this signed link"))

        results = []
        for i, (path, url, why) in enumerate(targets, 1):
            if url is None:
                log(f"[{i}/{len(targets)}] {path}: skipped ({why})")
                results.append({"path": path, "skipped": why})
                continue
            seconds, statuses = time_get(client, url, runs)
            row = {"path": path, "url": url, "runs": runs, "statuses": sorted(statuses), **stats(seconds)}
            results.append(row)
            log(f"[{i}/{len(targets)}] {path}: p50 {row['p50']} ms, p95 {row['p95']} ms ({row['statuses']})")

        head = client.get(f"{API}/sync/changes", params={"cursor": 0, "limit": 1000})
        cursor = 0
        while head.status_code == 200:  # walk to the head, as a tracker that is up to date
            body = head.json()
            cursor = body["next_cursor"]
            if not body["has_more"]:
                break
            head = client.get(f"{API}/sync/changes", params={"cursor": cursor, "limit": 1000})
        for method, path, body in cleanup:
            client.request(method, path, json=body)

    busiest = f"{API}/sync/changes?cursor={cursor}"
    log(f"load: GET {busiest}, {args.concurrency} workers, {load_seconds} s")
    loaded = asyncio.run(
        load(base, token, busiest, concurrency=args.concurrency, seconds=load_seconds, max_requests=args.max_requests)
    )

    print("| GET endpoint | p50 ms | p95 ms | p99 ms | status |\n|---|---|---|---|---|")
    for row in results:
        if "skipped" in row:
            print(f"| `{row['path']}` | - | - | - | skipped: {row['skipped']} |")
        else:
            status = ", ".join(map(str, row["statuses"]))
            print(f"| `{row['path']}` | {row['p50']} | {row['p95']} | {row['p99']} | {status} |")
    print(
        f"\nLoad, `GET {API}/sync/changes` at the head, {loaded['concurrency']} concurrent for "
        f"{loaded['seconds']} s: {loaded['requests']} requests ({loaded['requests_per_second']}/s), "
        f"{loaded['errors']} errors; p50 {loaded.get('p50')} ms, p95 {loaded.get('p95')} ms, "
        f"p99 {loaded.get('p99')} ms."
    )
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"url": base, "runs": runs, "endpoints": results, "load": loaded}, out, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
