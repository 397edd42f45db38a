"""Faults, with real processes and real services: a Celery worker SIGKILLed with hundreds of
jobs queued, Redis restarted under traffic, PostgreSQL stopped. Each uses servers of its own
where it kills one (a private redis-server, a private PostgreSQL), never the shared ones."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from PIL import Image

from accounts.tests.factories import UserFactory
from changelog.models import Change
from conftest import QUEUE_GROUPS, database_url_for_subprocess, free_port, queue_env, routed
from organizations import services as org_services
from organizations.models import Company
from screenshots import services as screenshot_services
from screenshots.models import Screenshot, ScreenshotStatus
from tests.support.servers import redis_server, resuming_client, runstack

ROOT = Path(django_settings.BASE_DIR)


def _wait_for(predicate, *, timeout: float, interval: float = 0.2, what: str, state=lambda: ""):
    """``state()`` says where things stood when the wait timed out."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what} {state()}"
        time.sleep(interval)
    return value


def _kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL a process and every child it forked (it was started in its own session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


# --------------------------------------------------------------------------- a killed worker

JOBS = 500


def _tiny_png(seed: int) -> bytes:
    image = Image.new("RGB", (24, 16), (seed % 256, (seed * 7) % 256, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def _worker(queue: str, data_dir: Path, visibility_timeout: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": django_settings.REDIS_URL,
        "DATA_DIR": str(data_dir),  # its MEDIA_ROOT is this test's
        **queue_env(dict.fromkeys(QUEUE_GROUPS, queue)),  # screenshots (media) too
        "CELERY_VISIBILITY_TIMEOUT": str(visibility_timeout),
        "LOG_LEVEL": "ERROR",
    }
    argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "prefork"]
    argv += ["--concurrency", "2", "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"]
    argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(data_dir / f"worker-{uuid.uuid4().hex[:6]}.log", "wb") as log:  # the child keeps its own copy
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _worker_logs(data_dir: Path) -> str:
    """The last lines each worker wrote (errors only: LOG_LEVEL=ERROR), for a failure message."""
    return "\n".join(
        f"{p.name}: {p.read_bytes()[-1500:].decode(errors='replace')}" for p in data_dir.glob("worker-*.log")
    )


@pytest.mark.slow
# Its own waits bound it (120 s for the first progress, 300 s for the rest), not the suite-wide
# 120 s: under `make test` the worker's 500 images share 2 cores with three other test processes
# (docs/testing.md); a run beside another suite took more than 120 s to finish them.
@pytest.mark.timeout(480)
@pytest.mark.django_db(transaction=True)
def test_a_sigkilled_worker_leaves_every_screenshot_ready_exactly_once(settings, tmp_path):
    # given 500 uploads queued for processing on a private queue
    settings.MEDIA_ROOT = tmp_path / "media"
    queue = f"test-kill-{uuid.uuid4().hex[:8]}"
    visibility_timeout = 2  # seconds before Redis hands a dead worker's messages out again
    owner = UserFactory()
    company = org_services.company_create(owner=owner, name="Shots")
    Company.objects.filter(pk=company.pk).update(screenshots_enabled=True, screenshot_blur_level=1)
    membership = owner.memberships.get()
    # process_screenshot goes to the media queue: route every group to this test's queue
    with routed(dict.fromkeys(QUEUE_GROUPS, queue)):
        workers = []
        try:
            with transaction.atomic():  # one commit: the 500 tasks are sent together, after it
                for i in range(JOBS):
                    screenshot_services.screenshot_upload(
                        membership=membership,
                        fileobj=SimpleUploadedFile(f"{i}.png", _tiny_png(i)),
                        captured_at=timezone.now(),
                    )
            ready = Screenshot.objects.filter(status=ScreenshotStatus.READY)

            # when a worker is SIGKILLed (the main process and its pool) part-way through
            workers.append(_worker(queue, tmp_path, visibility_timeout))
            _wait_for(
                lambda: ready.count() >= 40,
                timeout=120,
                what="the first worker to make progress",
                state=lambda: _worker_logs(tmp_path),
            )
            _kill_group(workers[-1])
            done_at_kill = ready.count()
            assert done_at_kill < JOBS, "the worker finished before it was killed: nothing was tested"
            time.sleep(visibility_timeout + 0.5)  # its reserved messages become visible again

            # and a new worker starts
            workers.append(_worker(queue, tmp_path, visibility_timeout))

            def all_ready() -> bool:
                # beat's requeue-lost-screenshots, sooner: a message the killed worker had popped
                # but not yet recorded as unacknowledged is lost (kombu's Redis transport)
                screenshot_services.screenshots_requeue_lost(older_than=timedelta(seconds=15))
                return ready.count() == JOBS

            _wait_for(
                all_ready,
                timeout=300,
                interval=0.5,
                what="every screenshot to be READY",
                state=lambda: (
                    dict(Counter(Screenshot.objects.values_list("status", "attempts"))),
                    _worker_logs(tmp_path),
                ),
            )
            time.sleep(1)  # a duplicate delivery, had there been one, would show now
        finally:
            for worker in workers:
                _kill_group(worker)

    # then every job completed exactly once
    shots = list(Screenshot.objects.all())
    assert len(shots) == JOBS
    assert {s.status for s in shots} == {ScreenshotStatus.READY}
    # at most the messages the killed worker held (2 processes x prefetch 1, plus the one
    # each was running) took a second attempt; nothing took three
    attempts = sorted(s.attempts for s in shots)
    assert set(attempts) <= {1, 2}
    assert attempts.count(2) <= 4
    ready_events = Change.objects.filter(entity="screenshot", event="screenshot.ready")
    assert ready_events.count() == JOBS
    assert ready_events.values("entity_id").distinct().count() == JOBS
    # and each left exactly its image and thumbnail: no original, no second copy
    media = tmp_path / "media" / "screenshots"
    files = sorted(str(p.relative_to(media)) for p in media.rglob("*") if p.is_file())
    expected = sorted(
        f"{s.company_id}/{s.user_id}/{s.pk}/{name}" for s in shots for name in ("image.webp", "thumbnail.webp")
    )
    assert files == expected


# --------------------------------------------------------------------------- helpers for servers


def _http(method: str, url: str, *, body: dict | None = None, token: str | None = None, timeout: float = 10):
    """(status, json body, seconds taken) of one real HTTP request."""
    headers = {"Content-Type": "application/json", "Host": "127.0.0.1"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, (json.loads(raw) if raw else None), time.monotonic() - started


def _daphne(port: int, env: dict) -> subprocess.Popen:
    argv = [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
    return subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def _wait_http_ok(url: str, proc: subprocess.Popen, *, timeout: float = 60) -> None:
    def up():
        assert proc.poll() is None, "the server exited"
        try:
            return _http("GET", url, timeout=2)[0] == 200
        except OSError:
            return False

    _wait_for(up, timeout=timeout, interval=0.3, what=f"{url} to answer 200")


# --------------------------------------------------------------------------- PostgreSQL stops


@pytest.mark.slow
def test_postgres_down_is_503_within_2s_and_the_api_recovers_without_a_restart(tmp_path, pg_data_dir):
    from config import embedded

    # given a private PostgreSQL (initdb in tmp; the shared one is never touched), migrated,
    # and a real server process on it
    data_dir = pg_data_dir
    pg = embedded.ensure_postgres(data_dir, "stint")
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{pg.user}@{quote(str(pg.socket_dir), safe='')}/stint",
        "REDIS_URL": django_settings.REDIS_URL,
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "ERROR",
    }
    server = None
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=180
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = _daphne(port, env)
        _wait_http_ok(f"{base}/health/ready", server)
        status, body, _ = _http(
            "POST",
            f"{base}/api/v1/auth/register",
            body={"email": "dba@example.com", "password": "a-long-enough-passphrase", "name": "D"},
        )
        assert status == 201, body
        token = body["access"]
        assert _http("GET", f"{base}/api/v1/me", token=token)[0] == 200
        assert _http("GET", f"{base}/api/v1/time-entries", token=token)[0] == 200

        # when PostgreSQL stops
        embedded.stop_postgres(data_dir)

        # then readiness says so within 2 s, naming the database, and the API answers 503
        status, body, took = _http("GET", f"{base}/health/ready", timeout=10)
        assert status == 503, body
        assert took < 2, f"/health/ready took {took:.2f} s"
        assert body["checks"]["database"] == "down"
        assert [e["attr"] for e in body["errors"]] == ["database"]
        # (an endpoint that reads the database: /me is answered from the process's cached user
        # row, accounts/user_cache.py, so it needs none)
        status, body, took = _http("GET", f"{base}/api/v1/time-entries", token=token, timeout=15)
        assert status == 503, body
        assert body["type"] == "server_error"

        # when it comes back, the same server process recovers on its own
        embedded.ensure_postgres(data_dir, "stint")
        _wait_for(lambda: _http("GET", f"{base}/health/ready", timeout=5)[0] == 200, timeout=20, what="ready again")
        _wait_for(
            lambda: _http("GET", f"{base}/api/v1/time-entries", token=token, timeout=5)[0] == 200,
            timeout=20,
            what="the API to answer again",
        )
        assert server.poll() is None
    finally:
        if server is not None:
            _kill_group(server)
        embedded.stop_postgres(data_dir)


# --------------------------------------------------------------------------- Redis restarts


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_redis_restart_loses_no_accepted_heartbeat_or_committed_event(tmp_path):
    from accounts.services import DeviceInfo, session_create
    from activity.models import Heartbeat, HeartbeatInbox
    from tracking.models import TimeEntry

    # given a private Redis (append-only, like production) under a real stack: runstack's
    # daphne, Celery worker and beat, on the test database
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    sock = Path(tempfile.mkdtemp(prefix="stint-r-")) / "r.sock"  # short: unix socket paths are capped
    servers = {"redis": redis_server(sock, redis_dir)}
    owner = UserFactory()
    company = org_services.company_create(owner=owner, name="Restart Co")
    project = org_services.project_create(company=company, data={"name": "Busy"})
    token = session_create(user=owner, device=DeviceInfo(device_name="tracker"), stay_logged_in=False).access
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "data").mkdir()  # beat keeps its schedule file there
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": f"unix://{sock}?db=0",
        "DATA_DIR": str(tmp_path / "data"),
        "LOG_LEVEL": "ERROR",
    }
    stack_log = tmp_path / "stack.log"
    stack = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port), "--no-seed", "--web-processes", "1"],
        cwd=ROOT,
        env=env,
        stdout=stack_log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        _wait_http_ok(f"{base}/health/ready", stack, timeout=90)
        accepted, entries, statuses, log = [], [], [], []
        head = Change.objects.aggregate(head=Max("cursor"))["head"] or 0  # the client's starting cursor
        seen: dict[int, dict] = {}

        async def traffic():
            import httpx

            stop = asyncio.Event()
            ws = asyncio.create_task(
                resuming_client(f"ws://127.0.0.1:{port}/ws/realtime/", token, head, seen, stop, log)
            )
            headers = {"Authorization": f"Bearer {token}"}
            start = timezone.now().replace(microsecond=0) - timedelta(hours=6)
            async with httpx.AsyncClient(base_url=base, headers=headers, timeout=10) as client:
                for i in range(60):  # ~10 s of traffic; Redis restarts a third of the way in
                    if i == 20:
                        servers["redis"].send_signal(signal.SIGTERM)  # a restart: it writes its AOF and exits
                        await asyncio.to_thread(servers["redis"].wait, 10)
                        await asyncio.sleep(1.0)  # down for a second, under traffic
                    if i == 26:
                        servers["redis"] = await asyncio.to_thread(redis_server, sock, redis_dir)
                    at = start + timedelta(minutes=2 * i)
                    beats = [
                        {"timestamp": (at + timedelta(seconds=s)).isoformat(), "duration": 1, "app": f"app{i}"}
                        for s in range(5)
                    ]
                    try:
                        r = await client.post("/api/v1/sync/heartbeats", json={"device_id": "d1", "heartbeats": beats})
                        statuses.append(r.status_code)
                        if r.status_code == 202:
                            accepted.append(r.json()["accepted"])
                        r = await client.post(
                            "/api/v1/time-entries",
                            json={"project_id": str(project.id), "started_at": at.isoformat(), "duration_seconds": 60},
                        )
                        statuses.append(r.status_code)
                        if r.status_code == 201:
                            entries.append(r.json()["id"])
                    except httpx.HTTPError as exc:
                        statuses.append(type(exc).__name__)
                    await asyncio.sleep(0.15)
                # then every committed change reaches the client (resumed from its cursor)
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    got = {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}
                    if set(entries) <= got:
                        break
                    await asyncio.sleep(0.3)
            stop.set()
            await ws

        asyncio.run(traffic())
    finally:
        os.killpg(stack.pid, signal.SIGINT)  # runstack stops its children
        try:
            stack.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_group(stack)
        _kill_group(servers["redis"])
        shutil.rmtree(sock.parent, ignore_errors=True)

    # the test did test something: most requests went through, some around the restart did not
    assert len(accepted) >= 40, (statuses, log, stack_log.read_text()[-3000:])
    assert len(entries) >= 40, statuses
    assert 503 in statuses  # Redis was down for real, and said so
    assert [event for event, *_ in log].count("connected") >= 2, log  # the socket dropped and came back
    # no accepted heartbeat is lost: each 202'd batch is stored (inbox or merged)
    stored = HeartbeatInbox.objects.filter(device_id="d1").count() + Heartbeat.objects.filter(device_id="d1").count()
    assert stored == sum(accepted), (stored, sum(accepted))
    # no committed event is lost: every created entry exists and reached the socket, in order
    assert TimeEntry.objects.filter(pk__in=entries).count() == len(entries)
    got = {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}
    assert set(entries) <= got, (set(entries) - got, log)
    ours = set(Change.objects.filter(company_id=company.id, cursor__gt=head).values_list("cursor", flat=True))
    assert ours <= set(seen), sorted(ours - set(seen))


# --------------------------------------------------------------------------- make run heals itself
# `make run` with no DATABASE_URL / REDIS_URL: runstack starts the embedded PostgreSQL and Redis
# and keeps them alive (config.supervision.Supervisor). One such stack for this section, with a
# data dir of its own; each test signs up its own user (its own company).


class EmbeddedStack:
    def __init__(self, data_dir: Path, port: int, proc: subprocess.Popen, log: Path):
        self.data_dir, self.port, self.proc, self.log = data_dir, port, proc, log
        self.base = f"http://127.0.0.1:{port}"

    def sign_up(self, name: str) -> tuple[str, str]:
        """(access token, project id) of a new owner of a new company."""
        status, body, _ = _http(
            "POST",
            f"{self.base}/api/v1/auth/register",
            body={"email": f"{name}@example.com", "password": "a-long-enough-passphrase", "name": name},
        )
        assert status == 201, body
        token = body["access"]
        status, project, _ = _http("POST", f"{self.base}/api/v1/projects", body={"name": name}, token=token)
        assert status == 201, project
        return token, project["id"]

    def sql(self, query: str, params: list | None = None) -> list[tuple]:
        """Read the stack's own (embedded) database directly."""
        import psycopg

        from config import embedded

        url = embedded.PostgresInfo(embedded.postgres_socket_dir(self.data_dir)).url("stint")
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(query, params or []).fetchall()

    def events(self, name: str) -> list[dict]:
        """The stack's structured log lines named ``name``."""
        found = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"{name}"' in line:
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    if record.get("event") == name:
                        found.append(record)
        return found

    def ready(self) -> bool:
        try:
            return _http("GET", f"{self.base}/health/ready", timeout=3)[0] == 200
        except OSError:
            return False


def _celery_booted(log: Path) -> bool:
    """runstack's three workers said ready and its beat started (stack/management/commands/runstack.py)."""
    text = log.read_text(errors="replace")
    workers = [line for line in text.splitlines() if line.startswith("{") and ' ready."' in line]
    names = {name for name in ("realtime@", "worker@", "webhooks@") if any(f'"{name}' in line for line in workers)}
    return len(names) == 3 and "beat: Starting..." in text


@pytest.fixture(scope="module")
def embedded_stack(tmp_path_factory):
    data_dir = Path(tempfile.mkdtemp(prefix="stint-heal-"))
    data_dir.chmod(0o755)  # the embedded PostgreSQL runs as its own user when we are root (conftest.pg_data_dir)
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    env.update({"DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"})
    port = free_port()
    log = tmp_path_factory.mktemp("heal") / "stack.log"  # where a failure's report finds it (conftest)
    try:
        with runstack(port, env, "--no-seed", "--web-processes", "1", log=log) as proc:
            # Up means its Celery processes too: each starts the embedded servers it finds down
            # (config.celery, start_embedded_services), so one still booting when a test kills
            # Redis may restart it behind the supervisor's back, and the supervisor logs no death.
            _wait_for(lambda: _celery_booted(log), timeout=60, what="runstack's Celery workers and beat")
            yield EmbeddedStack(data_dir, port, proc, log)
    finally:
        from config import embedded

        embedded.stop_redis(data_dir)  # only if runstack failed to
        embedded.stop_postgres(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)


def _heartbeats(at, i: int) -> list[dict]:
    return [{"timestamp": (at + timedelta(seconds=s)).isoformat(), "duration": 1, "app": f"app{i}"} for s in range(5)]


async def _post_entry(client, project: str, at, entries: list, statuses: list) -> None:
    import httpx

    try:
        r = await client.post(
            "/api/v1/time-entries", json={"project_id": project, "started_at": at.isoformat(), "duration_seconds": 60}
        )
        statuses.append(r.status_code)
        if r.status_code == 201:
            entries.append(r.json()["id"])
    except httpx.HTTPError as exc:
        statuses.append(type(exc).__name__)


async def _seen_all(seen: dict, entries: list, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if set(entries) <= {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}:
            return
        await asyncio.sleep(0.3)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_sigkilled_embedded_redis_is_restarted_heartbeats_merge_and_sockets_resume(embedded_stack):
    stack = embedded_stack
    token, project = stack.sign_up("redis-killer")
    from config import embedded

    pids = [embedded.redis_pid(stack.data_dir)]
    kills, accepted, entries, statuses, log, received = [], [], [], [], [], []
    seen: dict[int, dict] = {}
    ready_again: list[float] = []

    def kill_redis() -> None:
        """SIGKILL the embedded Redis, and wait for runstack to bring it back (a new pid)."""
        pid = embedded.redis_pid(stack.data_dir)
        assert pid is not None
        kills.append(time.time())
        os.kill(pid, signal.SIGKILL)
        _wait_for(
            lambda: (
                embedded.redis_pid(stack.data_dir) not in {None, pid}
                and embedded._redis_answers(embedded.redis_socket_path(stack.data_dir))
            ),
            timeout=20,
            interval=0.05,
            what="runstack to restart Redis",
        )
        pids.append(embedded.redis_pid(stack.data_dir))
        _wait_for(stack.ready, timeout=20, interval=0.1, what="/health/ready to answer 200 again")
        ready_again.append(time.time() - kills[-1])

    async def traffic():
        import httpx

        stop = asyncio.Event()
        ws = asyncio.create_task(
            resuming_client(f"ws://127.0.0.1:{stack.port}/ws/realtime/", token, 0, seen, stop, log, received)
        )
        start = timezone.now().replace(microsecond=0) - timedelta(hours=20)
        async with httpx.AsyncClient(base_url=stack.base, headers={"Authorization": f"Bearer {token}"}) as client:
            for i in range(45):
                # Killed three times within seconds: the third restart waits (backoff), and the
                # heartbeats accepted meanwhile wait in PostgreSQL.
                if i in (10, 14):
                    await asyncio.to_thread(kill_redis)
                if i == 18:
                    pid = embedded.redis_pid(stack.data_dir)
                    kills.append(time.time())
                    os.kill(pid, signal.SIGKILL)
                at = start + timedelta(minutes=2 * i)
                try:
                    r = await client.post(
                        "/api/v1/sync/heartbeats", json={"device_id": "healing", "heartbeats": _heartbeats(at, i)}
                    )
                    statuses.append(r.status_code)
                    if r.status_code == 202:
                        accepted.append((time.time(), r.json()["accepted"]))
                except httpx.HTTPError as exc:
                    statuses.append(type(exc).__name__)
                await _post_entry(client, project, at, entries, statuses)
                await asyncio.sleep(0.1)
            await asyncio.to_thread(
                _wait_for, stack.ready, timeout=30, interval=0.1, what="/health/ready after the third kill"
            )
            await _seen_all(seen, entries, within=30)
        stop.set()
        await ws

    asyncio.run(traffic())

    # runstack said it looks after the servers it started, noticed each death and restarted
    # Redis on the same socket and data dir, logged
    assert "Restarting the embedded postgres, redis if they die." in stack.log.read_text()
    died = [e for e in stack.events("embedded_service_died") if e["service"] == "redis"]
    restarted = [e for e in stack.events("embedded_service_restarted") if e["service"] == "redis"]
    assert len(died) == 3, died
    assert len(restarted) == 3, restarted
    assert [e["deaths_last_minute"] for e in died] == [1, 2, 3]
    assert all(e["down_s"] < 3 for e in restarted[:2]), restarted  # at once: seconds of 503 at most
    assert died[2]["restart_in_s"] == 1.0, died  # the third death in a minute backs off
    assert restarted[2]["down_s"] >= 1.0, restarted
    assert len(set(pids)) == 3, pids
    assert max(ready_again) < 10, ready_again
    assert embedded.redis_socket_path(stack.data_dir).is_socket()

    # heartbeats accepted while Redis was down (its merge trigger lost) waited and merged
    down_from, down_to = kills[2], kills[2] + restarted[2]["down_s"]
    assert any(down_from <= at <= down_to for at, _ in accepted), (kills, restarted, accepted, statuses)
    total = sum(n for _, n in accepted)

    def merged() -> bool:
        pending = stack.sql("SELECT count(*) FROM sync_heartbeatinbox WHERE device_id = 'healing'")[0][0]
        return pending == 0

    _wait_for(merged, timeout=30, interval=0.5, what="the waiting heartbeats to merge")
    stored = stack.sql("SELECT count(*) FROM tracking_heartbeat WHERE device_id = 'healing'")[0][0]
    assert stored == total, (stored, total)
    assert stack.sql("SELECT count(*) FROM tracking_appusage WHERE device_id = 'healing'")[0][0] > 0

    # the socket dropped with Redis, came back with its cursor, and missed nothing, twice nothing
    assert len(entries) >= 25, Counter(statuses)  # most went through; some met Redis down (503)
    assert [event for event, *_ in log].count("connected") >= 2, log
    got = {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}
    assert set(entries) <= got, (set(entries) - got, log)
    assert len(received) == len(set(received)), "a change reached the socket twice"


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_sigkilled_embedded_postgres_is_restarted_and_nothing_committed_is_lost(embedded_stack):
    stack = embedded_stack
    token, project = stack.sign_up("pg-killer")
    from config import embedded

    entries, statuses, log, received, accepted = [], [], [], [], []
    seen: dict[int, dict] = {}
    old_pid = embedded.postgres_pid(stack.data_dir)

    async def traffic():
        import httpx

        stop = asyncio.Event()
        ws = asyncio.create_task(
            resuming_client(f"ws://127.0.0.1:{stack.port}/ws/realtime/", token, 0, seen, stop, log, received)
        )
        start = timezone.now().replace(microsecond=0) - timedelta(hours=40)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=stack.base, headers=headers, timeout=10) as client:
            for i in range(40):
                if i == 12:
                    os.kill(old_pid, signal.SIGKILL)  # the postmaster; its backends follow it
                at = start + timedelta(minutes=2 * i)
                await _post_entry(client, project, at, entries, statuses)
                try:
                    r = await client.post(
                        "/api/v1/sync/heartbeats", json={"device_id": "pg-healing", "heartbeats": _heartbeats(at, i)}
                    )
                    if r.status_code == 202:
                        accepted.append(r.json()["accepted"])
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            await asyncio.to_thread(_wait_for, stack.ready, timeout=30, interval=0.1, what="ready again")
            await _post_entry(client, project, start + timedelta(minutes=200), entries, statuses)  # and after
            assert statuses[-1] == 201, statuses
            await _seen_all(seen, entries, within=30)
        stop.set()
        await ws

    asyncio.run(traffic())

    # PostgreSQL was down for real (requests failed), and runstack brought it back on its socket
    assert any(s != 201 for s in statuses), statuses
    new_pid = embedded.postgres_pid(stack.data_dir)
    assert new_pid not in {None, old_pid}
    [restarted] = [e for e in stack.events("embedded_service_restarted") if e["service"] == "postgres"]
    assert restarted["down_s"] < 15, restarted
    # nothing committed is lost: every 201'd entry and every 202'd heartbeat is there
    assert len(entries) >= 25, statuses
    ids = {str(row[0]) for row in stack.sql("SELECT id FROM tracking_timeentry WHERE id = ANY(%s::uuid[])", [entries])}
    assert ids == set(entries)
    stored = stack.sql(
        "SELECT (SELECT count(*) FROM sync_heartbeatinbox WHERE device_id = 'pg-healing')"
        " + (SELECT count(*) FROM tracking_heartbeat WHERE device_id = 'pg-healing')"
    )[0][0]
    assert stored == sum(accepted), (stored, sum(accepted))
    # and the socket resumed from its cursor: every entry reached it, none twice
    got = {f["data"].get("id") for f in seen.values() if f.get("type") == "entry.upserted"}
    assert set(entries) <= got, (set(entries) - got, log)
    assert len(received) == len(set(received)), "a change reached the socket twice"
