"""`make run`'s engine end to end: `manage.py runstack` serves /health/ready and /docs over a
real socket with a worker and beat beside it, and one SIGINT stops all of them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest
from django.conf import settings

from conftest import database_url_for_subprocess

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_runstack_serves_health_and_docs_and_stops_on_one_sigint(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "REDIS_URL": settings.REDIS_URL,
        "DATA_DIR": str(tmp_path),
        "LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runstack", "--port", str(port), "--no-seed"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        status = None
        while time.monotonic() < deadline:
            try:
                status, body = _get(f"http://127.0.0.1:{port}/health/ready")
                if status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stdout.read().decode()
            time.sleep(0.5)
        assert status == 200, body
        assert _get(f"http://127.0.0.1:{port}/docs")[0] == 200
        children = psutil.Process(proc.pid).children()
        commands = [" ".join(c.cmdline()) for c in children]
        # One daphne per web process (WEB_CONCURRENCY, default 2), all on the one port.
        web_processes = int(env.get("WEB_CONCURRENCY", "2"))
        assert sum("daphne" in c for c in commands) == web_processes, commands
        assert any("worker" in c for c in commands), commands
        assert any("beat" in c for c in commands), commands
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=45)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, proc.stdout.read().decode()[-3000:]
    for child in children:
        assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE
