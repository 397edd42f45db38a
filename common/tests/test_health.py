"""Health endpoints against real dependencies: a real redis-server is started, then killed."""

from __future__ import annotations

import subprocess
import time

import pytest

from config import embedded

pytestmark = pytest.mark.django_db


def test_live_is_200(api):
    response = api.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_is_200_when_everything_answers(api):
    response = api.get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok", "broker": "ok"}}


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


def test_ready_is_503_naming_redis_and_broker_when_redis_dies(api, settings, throwaway_redis):
    proc, sock = throwaway_redis
    settings.REDIS_URL = f"unix://{sock}?db=0"
    settings.CELERY_BROKER_URL = f"redis+socket://{sock}"
    assert api.get("/health/ready").status_code == 200

    proc.kill()
    proc.wait()
    response = api.get("/health/ready")

    assert response.status_code == 503
    body = response.json()
    assert body["type"] == "server_error"
    assert {e["attr"] for e in body["errors"]} == {"redis", "broker"}
    assert body["checks"] == {"database": "ok", "redis": "down", "broker": "down"}
