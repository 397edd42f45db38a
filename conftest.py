"""Fixtures shared by every app's tests: a clean slice of Redis per test, API clients, the
world of three (owner, member, outsider in another company), captured request logs, a fresh
channel layer. Shared helpers that are not fixtures live in tests/support/."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from channels.layers import channel_layers
from django.conf import settings
from rest_framework.test import APIClient

from common.redis import get_client
from config import embedded
from organizations.tests.world import expired, world  # noqa: F401  (fixtures for every app)
from tests.support import flush, pgbouncer
from tests.support.asgi import asgi_http  # noqa: F401  (one session-wide ASGI app and loop: the lean paths)
from tests.support.servers import wait_until_up

if pgbouncer.ENABLED:  # the session through a real PgBouncer in transaction mode (docs/testing.md)
    django_db_setup = pgbouncer.django_db_setup


@pytest.fixture(autouse=True)
def _clean_redis():
    """Tests share the real Redis; each starts with none of our keys (throttles, caches)."""
    client = get_client()
    keys = list(client.scan_iter(f"{settings.CACHE_KEY_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def request_logs():
    """What the configured JSON handler writes, for the request logger at INFO."""
    root_handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root_handler.formatter)
    logger = logging.getLogger("stint.request")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)


@pytest.fixture
def fresh_channel_layer():
    """For the socket tests (they name it in ``usefixtures``): each test runs on its own event
    loop; channels-redis binds its receive state to the loop that first used it, so every test
    gets a new layer object."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture
def celery_eager(settings):
    """Run .delay() inline, for unit tests of what a task does (a real worker is used in
    integration tests)."""
    from config.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


def database_url_for_subprocess() -> str:
    """A DATABASE_URL naming the database this test session uses (the test database), so a
    child process (a Celery worker, runstack) sees what the test wrote."""
    from urllib.parse import quote

    from django.db import connection

    db = connection.settings_dict
    host = quote(db["HOST"] or "", safe="")  # a unix-socket dir is percent-encoded
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{db['USER']}@{host}{port}/{db['NAME']}"


# The queue groups a test worker can take over (settings.CELERY_<GROUP>_QUEUE; "default" is
# CELERY_TASK_DEFAULT_QUEUE). Webhooks keep their own mechanism (CELERY_WEBHOOK_QUEUE).
QUEUE_GROUPS = ("realtime", "media", "jobs", "email", "default")


def _queue_setting(group: str) -> str:
    return "CELERY_TASK_DEFAULT_QUEUE" if group == "default" else f"CELERY_{group.upper()}_QUEUE"


@contextlib.contextmanager
def celery_worker(
    data_dir,
    *,
    queue: str | None = None,
    pool: tuple[str, ...] = ("--pool", "solo"),
    routing: dict[str, str] | None = None,
):
    """A real `celery -A config worker` on the real broker, reading the test database, its
    files under ``data_dir``. Its queue is private to this worker so nothing else's tasks reach
    it, and every queue group (QUEUE_GROUPS) routes to it while the block runs, here and in the
    worker. ``queue``: that name (a test that restarts the worker, or routes the webhooks queue
    to it), or several, comma-separated; ``pool``: e.g. threads, for a test that needs several
    tasks at once; ``routing``: group -> queue for every group instead (a test running one
    worker per queue group: each worker gets the same ``routing`` and its own ``queue``)."""
    from config.celery import app

    queue = queue or f"test-{uuid.uuid4().hex[:8]}"
    routing = routing or {group: queue.split(",")[0] for group in QUEUE_GROUPS}
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(data_dir),
        **queue_env(routing),
        "LOG_LEVEL": "WARNING",
    }
    name = queue.split(",")[0]
    log = Path(data_dir) / f"celery-{name}.log"  # a file: a full pipe would block it; kept on failure
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            queue,
            *pool,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(destination=[f"{name}@{os.uname().nodename}"], timeout=0.5):
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "the celery worker did not come up"
        with routed(routing):
            yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def queue_env(routing: dict[str, str]) -> dict[str, str]:
    """The environment a worker process needs to route each group as ``routing`` says."""
    return {_queue_setting(group): name for group, name in routing.items()}


@contextlib.contextmanager
def routed(routing: dict[str, str]):
    """While the block runs, this process sends each queue group's tasks where ``routing``
    says (group -> queue; groups left out keep their queue)."""
    from config.celery import app

    previous = app.conf.task_default_queue, app.conf.task_routes
    _route(app, routing.get("default", app.conf.task_default_queue), _rerouted(routing))
    try:
        yield
    finally:
        _route(app, *previous)


def _rerouted(routing: dict[str, str]) -> dict:
    """settings.CELERY_TASK_ROUTES with each group's queue replaced by ``routing``'s."""
    by_queue = {getattr(settings, _queue_setting(group)): name for group, name in routing.items()}
    return {
        task: {**route, "queue": by_queue.get(route["queue"], route["queue"])}
        for task, route in settings.CELERY_TASK_ROUTES.items()
    }


def _route(app, default_queue: str, routes) -> None:
    """Point this process's producer at other queues (Celery caches its router)."""
    app.conf.task_default_queue = default_queue
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    with celery_worker(tmp_path) as proc:
        yield proc


# Ports for the servers tests start: below the kernel's ephemeral range, so no outgoing connection
# (to PostgreSQL, Redis) and no bind to port 0 takes one between our check and the server's bind;
# at random, so parallel test processes (pytest-xdist) rarely try the same one.
def _below_ephemeral_ports() -> range:
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except OSError:
        low = 49152  # macOS and the BSDs
    return range(20000, low) if low > 21000 else range(1024, low)


def free_port() -> int:
    ports = _below_ephemeral_ports()
    while True:
        port = random.choice(ports)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # taken
            return port


@contextlib.contextmanager
def daphne_servers(ports: list[int], data_dir, **extra_env):
    """daphne processes serving config.asgi (HTTP and WebSockets) on ``ports``, as web
    processes of one deployment: they share nothing but the test database, Redis and
    ``data_dir``. ``PORT`` is the first port, so the default REALTIME_ALLOWED_ORIGINS allow
    a page served from it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(data_dir),
        "LOG_LEVEL": "WARNING",
        "PORT": str(ports[0]),
        **extra_env,
    }
    logs = [data_dir / f"daphne-{port}.log" for port in ports]  # a file: a full pipe would block it
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-v", "0", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
        )
        for port, log in zip(ports, logs, strict=True)
    ]
    try:
        for proc, port, log in zip(procs, ports, logs, strict=True):
            wait_until_up(proc, f"http://127.0.0.1:{port}/health/live", log=log, timeout=30, what="daphne")
        yield ports
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# Where the browser tests saved their screenshots, named at the end of the run.
browser_artifacts = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    path = config.stash.get(browser_artifacts, None)
    if path:
        terminalreporter.write_line(f"browser test screenshots: {path}")


def pytest_configure(config):
    """Start the embedded PostgreSQL/Redis when DATABASE_URL/REDIS_URL are unset (importing
    settings starts nothing). Once, in the process that runs the session: pytest-xdist's
    workers find them running. In every process: the cheap Argon2id (tests/support/hashers.py)
    hashes and checks passwords; a transactional test's tables are emptied by DELETE (flush.py)."""
    from django.test import override_settings

    flush.install()
    cheap = {"django.contrib.auth.hashers.Argon2PasswordHasher": "tests.support.hashers.CheapArgon2PasswordHasher"}
    hashers = [cheap.get(name, name) for name in settings.PASSWORD_HASHERS]
    override_settings(PASSWORD_HASHERS=hashers).enable()  # for the session: never disabled
    if not hasattr(config, "workerinput"):
        embedded.start_configured(settings)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the ids and the groups
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (`make test`: --dist loadgroup), the tests of a module that share a
    module-scoped fixture (daphne processes, Chromium, a generated client) run in one process,
    so it is set up once rather than once in every process.

    Schemathesis gives every operation's item the test function's id (the operation is only in
    the item's name), and --dist loadgroup schedules by id: 85 of the schema fuzz's 86
    operations never ran. Each item's id ends with its own name here."""
    for item in items:
        if item.parent is not None and item.nodeid.rpartition("::")[2] != item.name:
            # schemathesis sets the item's older ``_nodeid``; pytest 9 reads ``_id``
            item._id = item.parent.id.child(item.name)
    loadgroup = getattr(config.option, "loadgroup", False)  # set by pytest-xdist in its workers
    for item in items:
        fixturedefs = item._fixtureinfo.name2fixturedefs  # pytest has no public way to ask a scope
        if any(defs[-1].scope == "module" for defs in fixturedefs.values()):
            group = item.module.__name__
            item.add_marker(pytest.mark.xdist_group(group))
            if loadgroup:
                # pytest-xdist names the group in the id's "@group" suffix, through the older
                # ``_nodeid`` pytest 9 no longer reads: without this the module's fixture is set
                # up in every process that runs one of its tests.
                item._id = type(item._id).parse(f"{item.nodeid}@{group}")
        if _is_e2e(item):
            item.add_marker(pytest.mark.e2e)


# `make e2e`: the tests that drive real servers over real sockets or a real browser. A module
# listed here does so in every test; elsewhere, a test that asks for one of these fixtures.
E2E_MODULES = {
    "tests/test_dashboard_browser.py",
    "tests/test_faults.py",
    "tests/test_generated_client.py",
    "activity/tests/test_wakatime_cli.py",
    "activity/tests/test_activitywatch_clients.py",
}
E2E_FIXTURES = {"daphnes", "browser", "tab"}


def _is_e2e(item) -> bool:
    path = Path(str(item.fspath)).relative_to(settings.BASE_DIR).as_posix()
    return path in E2E_MODULES or bool(E2E_FIXTURES & set(item.fixturenames))


# --------------------------------------------------------------------------- artifacts of failures

ARTIFACTS = Path(settings.BASE_DIR) / ".data" / "artifacts"
_started = pytest.StashKey[float]()


def pytest_runtest_setup(item):
    item.stash[_started] = time.time()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test leaves the logs of the servers it started (daphne, celery, aw-server: the
    *.log files written under pytest's temp dir while it ran) in .data/artifacts/logs/<test>/,
    which CI keeps with the JUnit XML and the coverage report."""
    report = yield
    if report.failed and item.stash.get(_started, None) is not None:
        with contextlib.suppress(Exception):  # evidence gathering must never fail the run
            base = item.config._tmp_path_factory.getbasetemp()  # pytest has no public accessor
            logs = [p for p in base.rglob("*.log") if p.stat().st_mtime >= item.stash[_started] - 1]
            if logs:
                target = ARTIFACTS / "logs" / re.sub(r"[^\w.-]+", "_", item.nodeid)[:180]
                target.mkdir(parents=True, exist_ok=True)
                for log in logs[:50]:
                    shutil.copy(log, target / f"{log.parent.name}-{log.name}")
    return report


@pytest.hookimpl(trylast=True)  # after pytest-xdist's workers have finished (and dropped their databases)
def pytest_sessionfinish(session, exitstatus):
    """Stop the embedded PostgreSQL/Redis if this test run started them (a running `make run`
    keeps its own)."""
    if hasattr(session.config, "workerinput"):
        return
    stopped = embedded.stop_started_here(settings.DATA_DIR)
    if stopped:
        session.config.get_terminal_writer().line(f"stopped embedded {', '.join(stopped)}")


@pytest.fixture
def pg_data_dir():
    """A DATA_DIR for a private embedded PostgreSQL, outside pytest's base temp dir. Running as
    root, the server runs as the embedded_postgres user, which must traverse every parent; but
    pytest resets its base dir (/tmp/pytest-of-<user>) to 0700 whenever another session starts
    (another checkout's test run), and the server's own pg_ctl then fails."""
    path = Path(tempfile.mkdtemp(prefix="stint-pgtest-"))
    path.chmod(0o755)
    yield path
    embedded.stop_postgres(path)
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def throwaway_redis(tmp_path):
    """A redis-server of our own on a unix socket, so killing it harms nothing else."""
    sock = tmp_path / "r.sock"
    proc = subprocess.Popen(
        [
            str(embedded.redis_server_binary()),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while not sock.exists():
        assert time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.02)
    yield proc, sock
    proc.kill()
    proc.wait()
