"""Two nodes of one deployment (issue 21 item 3), with real processes: node B is `runstack` as
the first machine runs it (migrates, runs beat), node A joins it with `runstack --no-services
--no-beat`, each on its own port and data dir, both on the test's PostgreSQL and Redis. Sockets
on one node see what is written through the other, idempotency keys and timer starts hold
across them, and when node A is SIGKILLed under load its clients move to node B and resume
from their cursor, missing nothing and getting nothing twice.

One pair of nodes for the module (about 20 s to start); the test that kills node A runs last."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import psutil
import pytest
import websockets
from django.conf import settings
from django.db.models import Max
from django.utils import timezone
from websockets.typing import Subprotocol

from accounts.models import User
from accounts.services import DeviceInfo, session_create
from accounts.tests.factories import UserFactory
from activity.models import Heartbeat, HeartbeatInbox
from changelog.models import Change
from common.redis import get_client, key
from conftest import database_url_for_subprocess, free_port
from organizations import services as org_services
from organizations.models import Company, Project
from tests.support.servers import resuming_client, runstack
from tracking.models import TimeEntry

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@dataclass
class Node:
    port: int
    proc: subprocess.Popen  # runstack, the leader of the node's process group
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws/realtime/"

    def children(self) -> list[str]:
        return [" ".join(child.cmdline()) for child in psutil.Process(self.proc.pid).children()]


@dataclass
class Nodes:
    a: Node
    b: Node


@pytest.fixture(scope="module")
def nodes(django_db_setup, tmp_path_factory):
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    b_dir, a_dir = tmp_path_factory.mktemp("node-b"), tmp_path_factory.mktemp("node-a")
    b_port, a_port = free_port(), free_port()
    first = ("--no-seed", "--web-processes", "1")
    joining = ("--no-services", "--no-beat", "--web-processes", "1")
    with (
        runstack(b_port, {**env, "DATA_DIR": str(b_dir)}, *first, log=b_dir / "node.log") as b,
        runstack(a_port, {**env, "DATA_DIR": str(a_dir)}, *joining, log=a_dir / "node.log") as a,
    ):
        yield Nodes(a=Node(a_port, a, a_dir / "node.log"), b=Node(b_port, b, b_dir / "node.log"))


@dataclass
class Owner:
    user: User
    company: Company
    project: Project

    def token(self) -> str:
        """A new signed-in device of the owner."""
        return session_create(user=self.user, device=DeviceInfo(device_name="desk"), stay_logged_in=False).access


@pytest.fixture
def owner():
    user = UserFactory()
    company = org_services.company_create(owner=user, name=f"Nodes {uuid.uuid4().hex[:6]}")
    project = org_services.project_create(company=company, data={"name": "Shared"})
    return Owner(user, company, project)


def _client(node: Node, token: str) -> httpx.Client:
    return httpx.Client(base_url=node.base, headers={"Authorization": f"Bearer {token}"}, timeout=10)


async def _next_event(ws, timeout: float = 5) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if frame["type"] not in {"presence.changed", "pong"}:
            return frame


def test_a_second_beat_stands_by_and_takes_over_when_the_first_stops(tmp_path):
    """Two beats on the real broker: only the lease holder sends; the other takes over when the
    holder stops cleanly (at once) or dies (when its lease runs out)."""
    from config.celery import SingletonScheduler, app

    class Beat(SingletonScheduler):
        LEASE = ("beat", f"test-{uuid.uuid4().hex[:8]}")  # not the one a running node's beat holds
        LEASE_SECONDS = 3.0  # long enough for the ticks below on a busy machine

    queue = f"test-beat-{uuid.uuid4().hex[:8]}"
    previous = app.conf.beat_schedule
    app.conf.beat_schedule = {"probe": {"task": "tests.beat_probe", "schedule": 0.1, "options": {"queue": queue}}}

    def sent() -> int:
        with app.connection_for_write() as conn:
            try:
                return conn.default_channel.queue_declare(queue=queue, passive=True).message_count
            except Exception:  # noqa: BLE001  (not declared yet: nothing sent)
                return 0

    def ticks(*beats, times: int = 4) -> None:
        for _ in range(times):
            for beat in beats:
                beat.tick()
            time.sleep(0.15)

    try:
        first = Beat(app=app, schedule_filename=str(tmp_path / "first"))
        second = Beat(app=app, schedule_filename=str(tmp_path / "second"))
        ticks(first, second)
        assert (first.leading, second.leading) == (True, False)
        by_first = sent()
        assert 2 <= by_first <= 4  # one beat's worth: each due run sent once
        second_alone = sent()
        ticks(second)
        assert sent() == second_alone  # standing by sends nothing

        first.close()  # a clean stop hands the lease over
        ticks(second)
        assert second.leading
        assert sent() > second_alone

        third = Beat(app=app, schedule_filename=str(tmp_path / "third"))
        ticks(third, times=1)
        assert not third.leading
        time.sleep(Beat.LEASE_SECONDS + 0.2)  # the leader dies without a word: its lease runs out
        ticks(third, times=1)
        assert third.leading
    finally:
        app.conf.beat_schedule = previous
        with app.connection_for_write() as conn:
            conn.default_channel.queue_delete(queue)


def test_the_joined_node_serves_and_works_but_runs_no_beat_and_one_beat_leads(nodes):
    a = nodes.a.children()
    assert sum("daphne" in c for c in a) == 1, a
    assert sum("celery" in c and " worker" in c for c in a) == 3, a  # realtime, webhooks, the rest
    assert not [c for c in a if " beat" in c], a
    [beat] = [child for child in psutil.Process(nodes.b.proc.pid).children() if " beat" in " ".join(child.cmdline())]
    # the beat holds the lease (renewed every few seconds; this test's Redis cleanup may have just removed it)
    lease = key("beat", "leader")
    deadline = time.monotonic() + 15
    while not (holder := get_client().get(lease)):
        assert time.monotonic() < deadline, "no beat holds the lease"
        time.sleep(0.2)
    assert holder.decode().split(":")[1] == str(beat.pid)
    assert "migration(s) not applied" not in nodes.a.log.read_text()


def test_a_socket_on_node_a_gets_what_is_written_through_node_b(nodes, owner):
    token = owner.token()

    async def body() -> tuple[httpx.Response, dict]:
        async with websockets.connect(
            nodes.a.ws, subprotocols=[Subprotocol("bearer"), Subprotocol(token)], open_timeout=5
        ) as ws:
            await ws.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] in {"pong", "presence.changed"}
            with _client(nodes.b, token) as b:
                response = await asyncio.to_thread(
                    b.post, "/api/v1/time-entries/start", json={"project_id": str(owner.project.id)}
                )
            assert response.status_code == 201, response.text
            return response, await _next_event(ws)

    response, event = asyncio.run(body())
    assert (event["type"], event["data"]["id"]) == ("timer.started", response.json()["id"])
    assert event["cursor"] == Change.objects.get(entity_id=response.json()["id"], event="timer.started").cursor


def test_an_idempotency_key_used_on_node_a_is_replayed_by_node_b(nodes, owner):
    token = owner.token()
    started = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    entry = {"project_id": str(owner.project.id), "started_at": started, "duration_seconds": 600}
    headers = {"Idempotency-Key": f"two-nodes-{uuid.uuid4()}"}
    with _client(nodes.a, token) as a, _client(nodes.b, token) as b:
        first = a.post("/api/v1/time-entries", json=entry, headers=headers)
        again = b.post("/api/v1/time-entries", json=entry, headers=headers)
        other = b.post("/api/v1/time-entries", json={**entry, "duration_seconds": 60}, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert "Idempotent-Replayed" not in first.headers
    assert other.status_code == 422, other.text
    assert other.json()["errors"][0]["code"] == "idempotency_key_reused"
    assert TimeEntry.objects.filter(user=owner.user).count() == 1


def test_timer_starts_at_once_on_both_nodes_leave_one_running(nodes, owner):
    token = owner.token()
    with _client(nodes.a, token) as a, _client(nodes.b, token) as b:
        for round_ in range(5):
            barrier = threading.Barrier(2)
            results: dict[str, httpx.Response] = {}

            def start(name: str, client: httpx.Client, barrier=barrier, results=results, round_=round_) -> None:
                barrier.wait()
                results[name] = client.post(
                    "/api/v1/time-entries/start",
                    json={"project_id": str(owner.project.id), "description": f"{name}{round_}"},
                )

            threads = [threading.Thread(target=start, args=(n, c)) for n, c in (("a", a), ("b", b))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(20)
            statuses = sorted(r.status_code for r in results.values())
            assert statuses in ([201, 201], [201, 409]), {n: r.text for n, r in results.items()}
            running = TimeEntry.objects.filter(user=owner.user, ended_at__isnull=True)
            assert running.count() == 1, list(running.values("description", "started_at"))
            current = b.get("/api/v1/time-entries/current")
            assert current.status_code == 200
            assert current.json()["id"] == str(running.get().id)


WRITERS, WRITES_EACH, KILL_AFTER = 3, 20, 18


@pytest.mark.timeout(300)
def test_node_a_sigkilled_under_load_its_clients_resume_on_node_b_missing_nothing_twice_nothing(nodes, owner):
    """Runs last: it kills node A (the module's nodes are not used after it)."""
    head = Change.objects.aggregate(head=Max("cursor"))["head"] or 0
    tokens = [owner.token() for _ in range(3)]
    writer_token = owner.token()
    killed = threading.Event()
    a_down = threading.Event()  # the load balancer's view: A failed a request (a passive health check)
    sockets = [({}, [], []) for _ in tokens]  # (seen, log, received) of each client on node A
    entries: dict[str, str] = {}  # Idempotency-Key -> the entry it created
    attempts: list[tuple[str, str, object]] = []
    accepted: list[int] = []
    unanswered: list[int] = []  # heartbeats of a batch whose answer never came (node A killed)
    start = timezone.now().replace(microsecond=0) - timedelta(days=2)

    def kill_node_a() -> None:
        os.killpg(nodes.a.proc.pid, signal.SIGKILL)  # the machine is gone: web, workers, all at once
        killed.set()

    async def write(client_a, client_b, writer: int, i: int) -> None:
        """One logical write through the load balancer: node A or node B by turns, until a
        request to A fails; a request that fails is retried on node B with the same key."""
        n = writer * WRITES_EACH + i
        idem = f"load-{uuid.uuid4()}"
        at = start + timedelta(minutes=5 * n)
        body = {"project_id": str(owner.project.id), "started_at": at.isoformat(), "duration_seconds": 60}
        client = client_a if n % 2 == 0 and not a_down.is_set() else client_b
        for _ in range(20):
            try:
                response = await client.post("/api/v1/time-entries", json=body, headers={"Idempotency-Key": idem})
                attempts.append((idem, "a" if client is client_a else "b", response.status_code))
                if response.status_code == 201:
                    entries[idem] = response.json()["id"]
                    break
            except httpx.HTTPError as exc:
                attempts.append((idem, "a" if client is client_a else "b", type(exc).__name__))
            if client is client_a:
                a_down.set()
            client = client_b
            await asyncio.sleep(0.2)
        beats = [
            {"timestamp": (at + timedelta(seconds=s)).isoformat(), "duration": 1, "app": f"app{n}"} for s in range(3)
        ]
        try:
            response = await client.post("/api/v1/sync/heartbeats", json={"device_id": "nodes", "heartbeats": beats})
            if response.status_code == 202:
                accepted.append(response.json()["accepted"])
        except httpx.HTTPError:
            unanswered.append(len(beats))  # A may have stored it just before it died

    async def writer(client_a, client_b, number: int, done: list) -> None:
        for i in range(WRITES_EACH):
            await write(client_a, client_b, number, i)
            done.append(1)
            if len(done) == KILL_AFTER:  # in the middle of the load, requests in flight on A
                await asyncio.to_thread(kill_node_a)
            await asyncio.sleep(0.05)

    async def body():
        stop = asyncio.Event()
        # each client knows both nodes (the load balancer's view): A first, B when A fails
        clients = [
            asyncio.create_task(resuming_client([nodes.a.ws, nodes.b.ws], token, head, seen, stop, log, received))
            for token, (seen, log, received) in zip(tokens, sockets, strict=True)
        ]
        while not all(any(e[0] == "connected" for e in socket[1]) for socket in sockets):
            await asyncio.sleep(0.1)
        headers = {"Authorization": f"Bearer {writer_token}"}
        done: list = []
        async with (
            httpx.AsyncClient(base_url=nodes.a.base, headers=headers, timeout=5) as client_a,
            httpx.AsyncClient(base_url=nodes.b.base, headers=headers, timeout=10) as client_b,
        ):
            await asyncio.gather(*(writer(client_a, client_b, n, done) for n in range(WRITERS)))
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if all(_entries_seen(socket[0]) >= set(entries.values()) for socket in sockets):
                break
            await asyncio.sleep(0.3)
        stop.set()
        await asyncio.gather(*clients)

    asyncio.run(body())

    assert killed.is_set()
    assert nodes.a.proc.wait(timeout=10) == -signal.SIGKILL
    # every logical write landed once: retries on B with the key replayed or created, never twice
    assert len(entries) == WRITERS * WRITES_EACH, attempts
    created = set(map(str, TimeEntry.objects.filter(user=owner.user).values_list("id", flat=True)))
    assert created == set(entries.values())
    assert any(node == "a" for _, node, _ in attempts)  # the load went through both nodes
    assert any(status != 201 for _, node, status in attempts if node == "a"), "nothing was in flight on A"
    # every 202'd heartbeat is stored, merged or waiting; a batch whose answer was lost with
    # node A may be stored too (its client cannot know), and nothing else is
    stored = (
        HeartbeatInbox.objects.filter(device_id="nodes").count() + Heartbeat.objects.filter(device_id="nodes").count()
    )
    assert sum(accepted) <= stored <= sum(accepted) + sum(unanswered), (stored, sum(accepted), unanswered)
    ours = set(Change.objects.filter(company_id=owner.company.id, cursor__gt=head).values_list("cursor", flat=True))
    for seen, log, received in sockets:
        # it was on node A, lost it, and came back on node B
        assert log[0] == ("connected", head, nodes.a.ws), log
        assert ("connected", nodes.b.ws) in {(e[0], e[2]) for e in log[1:]}, log
        # from its cursor: every change of the company, in order of cursor, none twice
        assert _entries_seen(seen) >= set(entries.values()), (set(entries.values()) - _entries_seen(seen), log)
        assert ours <= set(seen), sorted(ours - set(seen))
        assert len(received) == len(set(received)), "a change reached the socket twice"


def _entries_seen(seen: dict) -> set[str]:
    return {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}
