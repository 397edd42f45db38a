"""Webhooks from the change log under load (issue 19), in ONE run against the stack as
`make run` starts it (production-mode, its webhooks worker at concurrency 4):

    .venv/bin/python bench/webhooks_bench.py                 # 1,000 events/s for 60 s, ~10 min
    .venv/bin/python bench/webhooks_bench.py --quick         # 200 events/s for 10 s

Two phases on the same stack, the same load, each in a fresh company (its own owner) so one
phase's backlog is not the other's:

a. 9 live endpoints (receivers on 127.0.0.1), subscribed to ``*``;
b. the same 9 live + 1 dead endpoint: a listener that accepts the connection, reads the request
   and never answers, so every attempt holds a webhooks worker process for the whole
   ``WEBHOOK_TIMEOUT_SECONDS`` (10 s). That is harsher than a refused connection (which fails
   in a millisecond) and what a hung receiver really does.

Load: the company's OWNER pushes ``POST /api/v1/sync/batch`` of ``--batch`` (100) new finished
entries from ``--clients`` threads, paced to ``--rate`` events/s for ``--seconds``: one item is
one ``entry.upserted`` in the change log (counted in the database after the phase, with
``sync.applied`` and other private events, which are never delivered). After the load the bench
waits up to ``--drain`` seconds for the receivers to get every event, then the phase's endpoints
are switched off (PATCH active false) so their backlog stops.

Lag = the receiver's arrival time - the payload's ``timestamp``, which is the change's ``at``
(``Change.at``: set when the write recorded it, inside its transaction, a few ms before the
commit; so the lag is from slightly before the commit). A sample of deliveries per endpoint is
verified with the ``standardwebhooks`` library and each endpoint's secret.

Progress on stderr; JSON in --out (default bench/results/webhooks.json)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reports_bench import log, pct  # noqa: E402
from stint_client import StintClient, batch_body  # noqa: E402
from stint_stack import BENCH_DIR, StintStack  # noqa: E402

PASSWORD = "Zq8-" + uuid.uuid4().hex
LIVE = 9
NOT_DELIVERED = {"sync.applied", "report.ready", "presence.changed"}  # docs/webhooks.md: private
SAMPLE = 20  # deliveries kept per endpoint for signature checks


# --------------------------------------------------------------------------- receivers
class Receivers:
    """Asyncio HTTP/1.1 receivers on 127.0.0.1 in a thread of this process: a live one answers
    204 at once and records (arrival, timestamp, webhook-id, type); a dead one reads the request
    and never answers (the connection is held until the sender gives up)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.records: dict[int, list[tuple[float, str, str, str]]] = {}
        self.samples: dict[int, list[tuple[bytes, dict]]] = {}
        self.dead_connections = 0
        self._held: list[asyncio.StreamWriter] = []
        self.thread = threading.Thread(target=self.loop.run_forever, name="receivers", daemon=True)
        self.thread.start()

    def start(self, live: bool) -> tuple[int, int]:
        """(index, port) of a new receiver."""
        index = len(self.records)
        self.records[index] = []
        self.samples[index] = []
        handler = (lambda r, w: self._live(index, r, w)) if live else self._dead
        server = asyncio.run_coroutine_threadsafe(asyncio.start_server(handler, "127.0.0.1", 0), self.loop).result()
        return index, server.sockets[0].getsockname()[1]

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> tuple[dict, bytes] | None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return headers, body

    async def _live(self, index: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                got = await self._read(reader)
                if got is None:
                    break
                headers, body = got
                arrived = time.time()
                event = json.loads(body)
                self.records[index].append((arrived, event["timestamp"], headers.get("webhook-id", ""), event["type"]))
                if len(self.samples[index]) < SAMPLE:
                    self.samples[index].append((body, headers))
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def _dead(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.dead_connections += 1
        self._held.append(writer)
        try:
            while await reader.read(65536):  # read what comes, answer nothing, until the sender hangs up
                pass
        except ConnectionError:
            pass
        writer.close()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)


# --------------------------------------------------------------------------- database
def _db(stack: StintStack):
    import psycopg

    return psycopg.connect(f"postgresql://postgres@/stint_bench?host={stack.datadir / 'pg'}", autocommit=True)


def log_head(stack: StintStack) -> int:
    with _db(stack) as conn:
        row = conn.execute("SELECT head FROM sync_syncstate WHERE id = 1").fetchone()
        return row[0] if row else 0


def committed(stack: StintStack, company_id: str, after: int) -> dict:
    """The company's change-log events past ``after``: per event, and the committed rate of the
    deliverable ones (count / first-to-last ``at``)."""
    with _db(stack) as conn:
        rows = conn.execute(
            "SELECT event, count(*), min(at), max(at) FROM sync_change"
            " WHERE company_id = %s AND (cursor > %s OR cursor IS NULL) GROUP BY event",
            [company_id, after],
        ).fetchall()
        unnumbered = conn.execute(
            "SELECT count(*) FROM sync_change WHERE company_id = %s AND cursor IS NULL", [company_id]
        ).fetchone()[0]
    by_event = {e: n for e, n, _, _ in rows}
    live = [(n, lo, hi) for e, n, lo, hi in rows if e not in NOT_DELIVERED]
    total = sum(n for n, _, _ in live)
    span = (max(hi for _, _, hi in live) - min(lo for _, lo, _ in live)).total_seconds() if live else 0.0
    return {
        "by_event": by_event,
        "deliverable": total,
        "unnumbered_at_count": unnumbered,
        "span_s": round(span, 3),
        "rate_per_s": round(total / span, 1) if span else None,
    }


def attempts(stack: StintStack, company_id: str) -> dict:
    """The phase's delivery rows by (status, attempts, last error): rows sent more than once
    (a timeout or a failure retried, which the receiver may have had: a duplicate) and why."""
    with _db(stack) as conn:
        rows = conn.execute(
            "SELECT d.status, d.attempts, d.error, count(*) FROM integrations_webhookdelivery d"
            " JOIN integrations_webhookendpoint e ON e.id = d.endpoint_id"
            " WHERE e.company_id = %s AND e.description <> 'dead'"
            " GROUP BY 1, 2, 3 ORDER BY 4 DESC",
            [company_id],
        ).fetchall()
    return {f"{status} x{n} {error[:80]}".strip(): count for status, n, error, count in rows}


# --------------------------------------------------------------------------- load
class Slots:
    """Non-overlapping 30 s slots (20 s entries) of the one pushing user, shared by the threads."""

    def __init__(self, start: datetime) -> None:
        self.next = start
        self.lock = threading.Lock()

    def take(self, n: int) -> list[datetime]:
        with self.lock:
            out = [self.next + timedelta(seconds=30 * i) for i in range(n)]
            self.next += timedelta(seconds=30 * n)
            return out


def items(slots: Slots, project_id: str, n: int) -> list[dict]:
    now = datetime.now(UTC).isoformat()
    return [
        {
            "idempotency_key": str(uuid.uuid4()),
            "entity": "time_entry",
            "action": "upsert",
            "client_updated_at": now,
            "data": {
                "id": str(uuid.uuid4()),
                "project_id": project_id,
                "started_at": t.isoformat(),
                "ended_at": (t + timedelta(seconds=20)).isoformat(),
                "description": "webhooks bench",
            },
        }
        for t in slots.take(n)
    ]


def push_load(stack: StintStack, token: str, project_id: str, a: argparse.Namespace) -> dict:
    """``--rate`` events/s for ``--seconds``: batch k is due at t0 + k * batch / rate; a thread
    behind schedule sends at once (the achieved rate is what the database says)."""
    total_batches = max(1, round(a.rate * a.seconds / a.batch))
    slots = Slots(datetime.now(UTC).replace(microsecond=0) - timedelta(days=60))
    state = {"next": 0, "errors": 0, "processed": 0, "late_max_s": 0.0}
    lock = threading.Lock()
    latencies: list[float] = []
    t0 = time.perf_counter() + 0.5

    def worker(i: int) -> None:
        c = StintClient(stack.host, stack.port, token=token)
        try:
            while True:
                with lock:
                    k = state["next"]
                    if k >= total_batches:
                        return
                    state["next"] += 1
                body = batch_body(f"whbench-{i}", items(slots, project_id, a.batch))
                due = t0 + k * a.batch / a.rate
                wait = due - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
                start = time.perf_counter()
                status, data = c.batch_raw(body)
                ms = (time.perf_counter() - start) * 1000
                with lock:
                    latencies.append(ms)
                    state["late_max_s"] = max(state["late_max_s"], start - due)
                    if status != 200 or json.loads(data).get("processed") != a.batch:
                        state["errors"] += 1
                    else:
                        state["processed"] += a.batch
        finally:
            c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    return {
        "batches": total_batches,
        "items_processed": state["processed"],
        "errors": state["errors"],
        "elapsed_s": round(elapsed, 2),
        "max_behind_schedule_s": round(state["late_max_s"], 2),
        "batch_ms": {"p50": pct(latencies, 50), "p95": pct(latencies, 95), "p99": pct(latencies, 99)},
    }


# --------------------------------------------------------------------------- one phase
def verify_samples(recv: Receivers, index: int, secret: str) -> tuple[int, int]:
    from standardwebhooks import Webhook

    wh = Webhook(secret)
    ok = 0
    for body, headers in recv.samples[index]:
        wh.verify(body, {k: headers[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")})
        ok += 1
    # and a tampered body must fail, or the check above proves nothing
    tampered_fails = 0
    if recv.samples[index]:
        body, headers = recv.samples[index][0]
        try:
            wh.verify(body.replace(b'"', b"'", 1), headers)
        except Exception:
            tampered_fails = 1
    return ok, tampered_fails


def phase(stack: StintStack, recv: Receivers, name: str, dead: bool, a: argparse.Namespace) -> dict:
    owner = StintClient(stack.host, stack.port)
    run = uuid.uuid4().hex[:6]
    reg = owner.register(f"whbench-{run}-{name}@bench.test", PASSWORD, "Bench owner", f"Bench webhooks {name}")
    company_id = reg["company"]["id"]
    project_id = owner.create_project("Bench webhooks")
    endpoints = []
    for i in range(LIVE + (1 if dead else 0)):
        is_dead = i == LIVE
        index, port = recv.start(live=not is_dead)
        ep = owner._json(
            "POST",
            "/api/v1/webhooks",
            {"company_id": company_id, "url": f"http://127.0.0.1:{port}/hook", "events": ["*"],
             "description": "dead" if is_dead else f"live {i}"},
            expect=(201,),
            what="create webhook",
        )  # fmt: skip
        endpoints.append({"id": ep["id"], "secret": ep["secret"], "receiver": index, "dead": is_dead})
    head0 = log_head(stack)
    log(f"[{name}] {len(endpoints)} endpoints ({'1 dead' if dead else 'none dead'}), log head {head0}")
    cpu0 = stack.cpu_snapshot()
    load0 = os.getloadavg()
    t_load = time.time()
    load = push_load(stack, owner.token, project_id, a)
    log(f"[{name}] load done: {load}")
    expected = committed(stack, company_id, head0)
    live_eps = [e for e in endpoints if not e["dead"]]
    deadline = time.monotonic() + a.drain
    while time.monotonic() < deadline:
        got = [len({r[2] for r in recv.records[e["receiver"]]}) for e in live_eps]
        expected = committed(stack, company_id, head0)
        log(f"[{name}] draining: delivered per live endpoint {min(got)}..{max(got)} of {expected['deliverable']}")
        if min(got) >= expected["deliverable"] and expected["unnumbered_at_count"] == 0:
            break
        time.sleep(2.0)
    t_end = time.time()
    cpu = StintStack.cpu_delta(cpu0, stack.cpu_snapshot())
    rows = attempts(stack, company_id)
    for e in endpoints:  # stop this phase's backlog before the next phase
        owner._json("PATCH", f"/api/v1/webhooks/{e['id']}?company={company_id}", {"active": False}, what="pause")
    owner.close()

    # One snapshot of what arrived: an undrained phase's receivers still get events while this
    # runs, and counting a growing list twice (ids, then length) made arrivals look like
    # duplicates (the 45 and 11 of two runs before this fix).
    snapshot = {e["receiver"]: list(recv.records[e["receiver"]]) for e in live_eps}
    lags: list[float] = []
    per_endpoint = []
    verified = tampered = 0
    for e in live_eps:
        recs = snapshot[e["receiver"]]
        ids = {r[2] for r in recs}
        ep_lags = [arr - datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() for arr, ts, _, _ in recs]
        lags.extend(ep_lags)
        ok, bad = verify_samples(recv, e["receiver"], e["secret"])
        verified += ok
        tampered += bad
        per_endpoint.append({"delivered": len(ids), "duplicates": len(recs) - len(ids),
                             "p99_s": pct(ep_lags, 99) if ep_lags else None})  # fmt: skip
    arrivals = sorted(r[0] for recs in snapshot.values() for r in recs)
    delivered = sum(p["delivered"] for p in per_endpoint)
    want = expected["deliverable"] * len(live_eps)
    return {
        "endpoints": {"live": len(live_eps), "dead": int(dead)},
        "load": load,
        "committed": expected,
        "loadavg_at_start": [round(x, 2) for x in load0],
        "lag_s": {"p50": pct(lags, 50), "p95": pct(lags, 95), "p99": pct(lags, 99), "max": round(max(lags), 3)}
        if lags
        else None,
        "delivered": delivered,
        "expected": want,
        "missing": want - delivered,
        "drained": delivered >= want,
        "delivery_rate_per_s": round(len(arrivals) / (arrivals[-1] - t_load), 1) if arrivals else 0,
        "wall_s": round(t_end - t_load, 1),
        "per_endpoint": per_endpoint,
        "signatures_verified": verified,
        "tampered_rejected": tampered,
        "dead_connections": recv.dead_connections if dead else 0,
        "live_rows_by_status_attempts_error": rows,
        "cpu_s_by_role": cpu,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rate", type=float, default=1000.0, help="events/s committed (default 1000)")
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--batch", type=int, default=100, help="entries per sync batch (one event each)")
    ap.add_argument("--clients", type=int, default=4, help="pushing threads")
    ap.add_argument("--drain", type=float, default=180.0, help="max seconds to wait for delivery after the load")
    ap.add_argument("--quick", action="store_true", help="200 events/s for 10 s, 60 s drain")
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "webhooks.json"))
    ap.add_argument("--keep", action="store_true", help="keep the stack's data dir (its stack.log) afterwards")
    a = ap.parse_args(argv)
    if a.quick:
        a.rate, a.seconds, a.drain = 200.0, 10.0, 60.0
    if not (1 <= a.rate <= 20_000 and 1 <= a.seconds <= 600 and 1 <= a.batch <= 1000 and 1 <= a.clients <= 32):
        ap.error("--rate 1..20000, --seconds 1..600, --batch 1..1000, --clients 1..32")
    result: dict = {
        "benchmark": "webhooks",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "options": {"rate": a.rate, "seconds": a.seconds, "batch": a.batch, "clients": a.clients, "drain": a.drain},
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    recv = Receivers()
    stack = StintStack(
        max_lifetime=3600, keep_datadir=a.keep, extra_env={"WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"}
    ).start()
    if a.keep:
        log(f"stack data dir (kept): {stack.datadir}")
    try:
        result["a_live_only"] = phase(stack, recv, "a", dead=False, a=a)
        stack.wait_idle(max_wait=60)
        result["b_with_dead"] = phase(stack, recv, "b", dead=True, a=a)
    finally:
        stack.stop()
        recv.stop()
    pa, pb = result["a_live_only"], result["b_with_dead"]
    if pa["lag_s"] and pb["lag_s"]:
        result["p99_ratio_b_over_a"] = round(pb["lag_s"]["p99"] / pa["lag_s"]["p99"], 3)
    for key in ("a_live_only", "b_with_dead"):
        p = result[key]
        log(f"{key}: committed {p['committed']['rate_per_s']}/s, lag {p['lag_s']}, delivered {p['delivered']}"
            f"/{p['expected']} ({p['delivery_rate_per_s']}/s), verified {p['signatures_verified']}")  # fmt: skip
    log(f"p99 b/a: {result.get('p99_ratio_b_over_a')}")
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    log(f"written to {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
