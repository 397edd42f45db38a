"""Realtime fan-out and burst benchmark (issue: sync and realtime; results in docs/benchmarks.md).

Run with the project's venv (it needs the ``websockets`` client from requirements-dev.txt):

    .venv/bin/python bench/realtime_bench.py                      # starts its own stack
    .venv/bin/python bench/realtime_bench.py --sockets 1000 --reps 20 --out bench/results/realtime.json

What it measures, against ``manage.py runstack`` as ``make run`` starts it (N daphne processes on
one port, a Celery worker, beat; embedded PostgreSQL and Redis in a throwaway data dir):

* **fan-out**: ``--sockets`` WebSockets of one MEMBER (``["bearer", TOKEN]``), spread by the
  kernel over the web processes. Another connection starts and stops that member's timer over
  REST; each socket's latency is from just before the REST request is sent to the moment it
  reads the ``timer.started`` / ``timer.stopped`` frame. Per repetition: p50, p99 and max over
  the sockets; reported: the median of those over ``--reps`` repetitions, and the p99 over
  every (socket, repetition) pair.
* **burst**: one socket; ``--burst`` new entries of that member arrive as (a) one sync batch
  (published by the worker) and (b) as many single ``POST /time-entries`` from 8 threads at
  once (each published by its own web request). The socket must end up holding every one of
  them exactly once, in strictly increasing cursor order; the time to the last one is reported.

Every loop is bounded in count and time; everything is on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stint_client import API, EntryClock, StintClient, make_items  # noqa: E402
from stint_stack import BENCH_DIR, JoiningNode, StintStack  # noqa: E402

PASSWORD = "Bench-realtime-1!"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))]


def setup_users(host: str, port: int) -> dict:
    """An owner with a company and a project, and a MEMBER invited into it (tokens for both)."""
    run = uuid.uuid4().hex[:6]
    owner = StintClient(host, port)
    out = owner.register(f"owner-{run}@bench.test", PASSWORD, "Owner", f"Realtime {run}")
    company_id = out["company"]["id"]
    project_id = owner.create_project("Fan-out")
    invite = owner._json(
        "POST",
        f"{API}companies/{company_id}/invitations",
        {"email": f"member-{run}@bench.test", "role": "MEMBER"},
        expect=(201,),
        what="invite",
    )
    member = StintClient(host, port)
    member.register(f"member-{run}@bench.test", PASSWORD, "Member", f"Own {run}")
    member._json("POST", f"{API}invitations/{invite['token']}/accept", {}, expect=(200, 201), what="accept")
    return {"owner": owner, "member": member, "company_id": company_id, "project_id": project_id}


class Tally:
    """Counts sockets that received the awaited event type: the fan-out waits on this event
    instead of polling 1,000 sockets (polling cost the shared cores more than the delivery)."""

    def __init__(self) -> None:
        self.kind: str | None = None
        self.count = 0
        self.target = 0
        self.done = asyncio.Event()

    def expect(self, kind: str, target: int) -> None:
        self.kind, self.count, self.target = kind, 0, target
        self.done.clear()

    def saw(self, kind: str) -> None:
        if kind == self.kind:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


class Socket:
    """One WebSocket that records when each event type/cursor arrives."""

    def __init__(self, ws, tally: Tally | None = None, node: int = 0):
        self.ws = ws
        self.node = node  # index of the node (--nodes 2) it is connected to
        self.tally = tally
        self.arrivals: list[tuple[float, str, int | None, str | None]] = []  # (t, type, cursor, entity id)
        self.closed: int | None = None

    async def read(self, parse: bool) -> None:
        try:
            async for frame in self.ws:
                t = time.perf_counter()
                if parse:
                    event = json.loads(frame)
                    data = event.get("data") or {}
                    self.arrivals.append((t, event.get("type"), event.get("cursor"), data.get("id")))
                else:  # fan-out: only the type, without decoding the whole frame
                    kind = (
                        "timer.started"
                        if '"timer.started"' in frame
                        else ("timer.stopped" if '"timer.stopped"' in frame else "other")
                    )
                    self.arrivals.append((t, kind, None, None))
                    if self.tally is not None:
                        self.tally.saw(kind)
        except websockets.ConnectionClosed as exc:
            self.closed = exc.rcvd.code if exc.rcvd else 1006


async def open_sockets(
    url: str | list[str], token: str, count: int, parse: bool, concurrency: int = 50, tally: Tally | None = None
) -> list[Socket]:
    """``count`` sockets; with several urls (one per node) socket i goes to urls[i % len(urls)]."""
    urls = [url] if isinstance(url, str) else url
    sockets: list[Socket] = []
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        node = i % len(urls)
        async with gate:
            ws = await websockets.connect(urls[node], subprotocols=["bearer", token], max_size=2**20, open_timeout=60)
            sock = Socket(ws, tally, node)
            sockets.append(sock)
            sock.task = asyncio.ensure_future(sock.read(parse))

    await asyncio.gather(*(one(i) for i in range(count)))
    return sockets


def web_rss_kb(stacks: list) -> dict:
    """Resident memory (VmRSS, kB) of every web (daphne) process of the stacks, by node."""
    out = {}
    for n, stack in enumerate(stacks):
        for pid, role in stack.processes().items():
            if role != "web":
                continue
            try:
                with open(f"/proc/{pid}/status") as f:
                    rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
            except (OSError, StopIteration):
                continue
            out[f"node{n}:{pid}"] = rss
    return out


async def fanout(host: str, ports: list[int], users: dict, sockets_n: int, reps: int, stacks: list) -> dict:
    """Sockets spread over ``ports`` (one per node); the REST request of repetition r goes to
    node r % len(ports), so with two nodes half the events are written on the other node."""
    urls = [f"ws://{host}:{port}/ws/realtime/" for port in ports]
    member: StintClient = users["member"]
    rss_before = web_rss_kb(stacks)
    t = time.perf_counter()
    tally = Tally()
    sockets = await open_sockets(urls, member.token, sockets_n, parse=False, tally=tally)
    connect_s = time.perf_counter() - t
    log(f"  {len(sockets)} sockets open in {connect_s:.1f} s")
    # The generator's own full collections walked all 5,000 sockets' objects during one event
    # of every run (~0.35 s more of its CPU in that event, and that event's p99 ~0.3 s above the
    # others, with or without the servers' changes): out of the collector's sight from here.
    gc.collect()
    gc.freeze()
    await asyncio.sleep(3.0)  # presence and join traffic settles
    await asyncio.sleep(5.0 if len(ports) > 1 else 0.0)  # idle sockets before their memory is read
    rss_after = web_rss_kb(stacks)
    memory = None
    if rss_before:
        grown = sum(rss_after.get(k, 0) for k in rss_before) - sum(rss_before.values())
        memory = {
            "web_rss_before_kb": rss_before,
            "web_rss_after_kb": rss_after,
            "grown_kb": grown,
            "kb_per_socket": round(grown / len(sockets), 1),
        }
        log(
            f"  web processes' RSS {sum(rss_before.values())} -> {sum(rss_after.values())} kB: "
            f"{memory['kb_per_socket']} kB per idle socket"
        )
    rests = [StintClient(host, port, token=member.token) for port in ports]
    loop = asyncio.get_running_loop()
    by_node: dict[int, list[float]] = {n: [] for n in range(len(ports))}
    per_rep, all_latencies, missing = [], [], 0
    for rep in range(reps):
        kind = "timer.started" if rep % 2 == 0 else "timer.stopped"
        marks = [len(s.arrivals) for s in sockets]
        path, body = (
            (API + "time-entries/start", {"project_id": users["project_id"]})
            if kind == "timer.started"
            else (API + "time-entries/stop", {})
        )
        tally.expect(kind, len(sockets))
        rest = rests[rep % len(rests)]
        cpu0 = time.process_time()  # this load generator's own CPU: it shares the cores
        sent = time.perf_counter()
        status, data = await loop.run_in_executor(None, rest.request, "POST", path, json.dumps(body).encode())
        answered_ms = (time.perf_counter() - sent) * 1000
        if status not in (200, 201):
            raise RuntimeError(f"{path}: {status} {data[:200]!r}")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(tally.done.wait(), 10)
        client_cpu_ms = (time.process_time() - cpu0) * 1000
        latencies = []
        for s, m in zip(sockets, marks, strict=True):
            got = [a[0] for a in s.arrivals[m:] if a[1] == kind]
            if got:
                latencies.append((got[0] - sent) * 1000)
                by_node[s.node].append((got[0] - sent) * 1000)
            else:
                missing += 1
        all_latencies += latencies
        row = {
            "event": kind,
            "written_on_node": rep % len(rests),
            "received": len(latencies),
            "p50_ms": round(pct(latencies, 50), 1),
            "p99_ms": round(pct(latencies, 99), 1),
            "max_ms": round(max(latencies), 1),
            "first_ms": round(min(latencies), 1),
            "rest_answered_ms": round(answered_ms, 1),
            "client_cpu_ms": round(client_cpu_ms, 1),
        }
        per_rep.append(row)
        log(
            f"  rep {rep + 1}/{reps} {kind}: {row['received']}/{len(sockets)} sockets, "
            f"first {row['first_ms']} ms, p50 {row['p50_ms']} ms, p99 {row['p99_ms']} ms, max {row['max_ms']} ms "
            f"(REST answered after {row['rest_answered_ms']} ms; bench CPU {row['client_cpu_ms']} ms)"
        )
        await asyncio.sleep(0.5)
    closed = sum(1 for s in sockets if s.closed is not None)
    for s in sockets:
        await s.ws.close()
    for rest in rests:
        rest.close()
    return {
        "sockets": len(sockets),
        "nodes": len(ports),
        "sockets_by_node": [sum(1 for s in sockets if s.node == n) for n in range(len(ports))],
        "p99_by_node_ms": [round(pct(v, 99), 1) if v else None for v in by_node.values()],
        "p50_all_ms": round(pct(all_latencies, 50), 1),
        "memory": memory,
        "connect_s": round(connect_s, 2),
        "reps": per_rep,
        "median_of_p50_ms": round(statistics.median(r["p50_ms"] for r in per_rep), 1),
        "median_of_p99_ms": round(statistics.median(r["p99_ms"] for r in per_rep), 1),
        "p99_all_ms": round(pct(all_latencies, 99), 1),
        "max_all_ms": round(max(all_latencies), 1),
        "missing": missing,
        "closed_early": closed,
    }


def _check_burst(sock: Socket, ids: set[str], started: float) -> dict:
    mine = [a for a in sock.arrivals if a[1] == "entry.upserted" and a[3] in ids]
    # sync.applied is out of band (it carries the batch's last cursor and may come first).
    cursors = [a[2] for a in sock.arrivals if a[2] is not None and a[1] != "sync.applied"]
    return {
        "expected": len(ids),
        "received": len(mine),
        "distinct": len({a[3] for a in mine}),
        "in_order": all(b > a for a, b in zip(cursors, cursors[1:], strict=False)),
        "last_after_ms": round((max(a[0] for a in mine) - started) * 1000, 1) if mine else None,
    }


async def burst(host: str, port: int, users: dict, n: int) -> dict:
    """The socket is on ``port``; the member's writes go to its client's node (with --nodes 2
    the socket is on the second node and every write is made on the first)."""
    url = f"ws://{host}:{port}/ws/realtime/"
    member: StintClient = users["member"]
    loop = asyncio.get_running_loop()
    out = {}
    clock = EntryClock(datetime.now(UTC).replace(microsecond=0) - timedelta(days=200))

    # (a) one sync batch of n entries, published by the worker
    [sock] = await open_sockets(url, member.token, 1, parse=True)
    await asyncio.sleep(1.0)
    items = make_items(n, users["project_id"], clock)
    ids = {i["data"]["id"] for i in items}
    started = time.perf_counter()
    body = json.dumps({"device_id": "burst", "items": items}).encode()
    status, data = await loop.run_in_executor(None, member.request, "POST", API + "sync/batch", body)
    assert status == 200, data[:300]
    await _until(lambda: len({a[3] for a in sock.arrivals if a[3] in ids}) >= n, 30)
    out["batch"] = _check_burst(sock, ids, started)
    await sock.ws.close()
    log(f"  burst (one batch of {n}): {out['batch']}")

    # (b) n single REST writes from 8 threads at once, each published by its own request
    [sock] = await open_sockets(url, member.token, 1, parse=True)
    await asyncio.sleep(1.0)
    slots = [clock.take() for _ in range(n)]
    ids = set()
    lock = threading.Lock()

    def writer(part: list[datetime]) -> None:
        c = StintClient(host, port, token=member.token)
        for t in part:
            payload = {
                "project_id": users["project_id"],
                "started_at": t.isoformat(),
                "ended_at": (t + timedelta(minutes=25)).isoformat(),
            }
            status, data = c.request("POST", API + "time-entries", json.dumps(payload).encode())
            assert status == 201, data[:300]
            with lock:
                ids.add(json.loads(data)["id"])
        c.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=writer, args=(slots[i::8],)) for i in range(8)]
    for th in threads:
        th.start()
    await loop.run_in_executor(None, lambda: [th.join() for th in threads])
    await _until(lambda: len({a[3] for a in sock.arrivals if a[3] in ids}) >= n, 30)
    out["single_writes"] = _check_burst(sock, ids, started)
    out["single_writes"]["closed"] = sock.closed
    await sock.ws.close()
    log(f"  burst ({n} single writes, 8 threads): {out['single_writes']}")
    return out


async def _until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return False


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sockets", type=int, default=1000)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--burst", type=int, default=500)
    ap.add_argument("--web-processes", type=int, help="runstack --web-processes per node (default: its own, 2)")
    ap.add_argument(
        "--nodes",
        type=int,
        default=1,
        choices=(1, 2),
        help="2: a second node joins the stack (runstack --no-services --no-beat); sockets split over both",
    )
    ap.add_argument("--stint-url", help="a running Stint (http://127.0.0.1:PORT) instead of a fresh stack")
    ap.add_argument(
        "--client-nice",
        type=int,
        default=10,
        help="niceness this load generator takes once the stacks are up (0: none); the servers keep theirs",
    )
    ap.add_argument("--out", default=str(BENCH_DIR / "results" / "realtime.json"))
    a = ap.parse_args(argv)
    if not (1 <= a.sockets <= 5000 and 1 <= a.reps <= 200 and 1 <= a.burst <= 1000):
        ap.error("--sockets 1..5000, --reps 1..200, --burst 1..1000")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * a.sockets + 1024)), hard))

    result = {
        "benchmark": "realtime",
        "command": " ".join([sys.executable, *sys.argv]),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "loadavg_at_start": [round(x, 2) for x in os.getloadavg()]},
    }
    stack = None
    stacks: list[StintStack] = []
    if a.nodes == 2 and a.stint_url:
        ap.error("--nodes 2 starts its own two nodes: no --stint-url")
    try:
        if a.stint_url:
            host, port = a.stint_url.removeprefix("http://").split(":")
            port = int(port)
            ports = [port]
        else:
            stack = StintStack(web_processes=a.web_processes, max_lifetime=1800)
            stack.start()
            stacks.append(stack)
            host, port = stack.host, stack.port
            log(f"stack up on {stack.base_url} ({stack.web_process_count()} web processes)")
            if a.nodes == 2:
                second = JoiningNode(stack, web_processes=a.web_processes, max_lifetime=1800)
                stacks.append(second)
                second.start()
                log(f"second node up on {second.base_url} ({second.web_process_count()} web processes)")
            ports = [s.port for s in stacks]
            result["web_processes"] = [s.web_process_count() for s in stacks]
        if a.client_nice > 0:
            # Only now: the stacks' processes were started at our niceness and keep it. The
            # sockets' client shares the machine's cores with the servers it measures (~0.3 s of
            # CPU per event at 5,000 sockets); niced, it yields them to the servers.
            result["client_nice"] = os.nice(a.client_nice)
            log(f"load generator niced to {result['client_nice']}")
        users = setup_users(host, port)
        log(f"fan-out: {a.sockets} sockets over {len(ports)} node(s) x {a.reps} events")
        before = [s.cpu_snapshot() for s in stacks]
        result["fanout"] = asyncio.run(fanout(host, ports, users, a.sockets, a.reps, stacks))
        if stacks:
            cpu = [s.cpu_delta(b, s.cpu_snapshot()) for s, b in zip(stacks, before, strict=True)]
            result["fanout"]["server_cpu_s"] = cpu[0] if len(cpu) == 1 else cpu
        log(f"burst: {a.burst} events to one socket (on node {len(ports) - 1}, written on node 0)")
        result["burst"] = asyncio.run(burst(host, ports[-1], users, a.burst))
    finally:
        for s in reversed(stacks):  # the joining node first: the first one stops the servers
            s.stop()
    result["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(result, indent=2))
    f = result["fanout"]
    log(
        f"\nfan-out to {f['sockets']} sockets: median p50 {f['median_of_p50_ms']} ms, median p99 "
        f"{f['median_of_p99_ms']} ms, p99 of all {f['p99_all_ms']} ms, max {f['max_all_ms']} ms, missing {f['missing']}"
    )
    if f.get("memory"):
        log(f"memory per idle socket: {f['memory']['kb_per_socket']} kB (web processes of {f['nodes']} node(s))")
    log(f"load average at start {result['machine']['loadavg_at_start']}, at end {result['machine']['loadavg_at_end']}")
    for name, b in result["burst"].items():
        log(
            f"burst {name}: {b['received']}/{b['expected']} (distinct {b['distinct']}), in order {b['in_order']}, "
            f"last after {b['last_after_ms']} ms"
        )
    log(f"written to {a.out}")
    ok = f["missing"] == 0 and all(
        b["received"] == b["expected"] == b["distinct"] and b["in_order"] for b in result["burst"].values()
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
