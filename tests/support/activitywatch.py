"""ActivityWatch's side of the tests: events as watchers send them, the ``/api/0/`` routes."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import random
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from rest_framework.test import APIClient

from tests.support.servers import wait_until_up

AW = "/api/0"


def personal_token(user, scopes=("ingest",), company=None) -> str:
    from accounts.personal_tokens import personal_token_create

    return personal_token_create(user=user, name="ActivityWatch", scopes=list(scopes), company=company)[1]


def aw_api(user, scopes=("ingest",), company=None, basic: bool = True) -> APIClient:
    """A client authenticated as a watcher is: a personal access token as the user name of
    HTTP Basic (what ``hostname = "<token>@host"`` makes the requests library send), or as
    Bearer."""
    token = personal_token(user, scopes, company)
    client = APIClient()
    if basic:
        client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{token}:".encode()).decode())
    else:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def at(seconds: float, base: datetime | None = None) -> str:
    """A timestamp ``seconds`` after ``base`` (default: ten minutes ago, on a whole second),
    as aw-core renders one."""
    base = base or datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    return (base + timedelta(seconds=seconds)).isoformat()


def event(seconds: float, duration: float = 0, base: datetime | None = None, **data) -> dict:
    return {"timestamp": at(seconds, base), "duration": duration, "data": data}


def create_bucket(
    api, bucket_id: str, type_: str = "currentwindow", hostname: str = "laptop", client: str = "aw-watcher-window"
):
    return api.post(f"{AW}/buckets/{bucket_id}", {"client": client, "type": type_, "hostname": hostname}, format="json")


def heartbeat(api, bucket_id: str, body, pulsetime: float = 60):
    return api.post(f"{AW}/buckets/{bucket_id}/heartbeat?pulsetime={pulsetime}", body, format="json")


# --------------------------------------------------------------------------- the real clients
#
# aw-client 0.5.15 and aw-server 0.12.0 live in bench/.venvs/aw-server (bench/peers/aw_setup.sh,
# run once and cached): aw-server 0.12 depends on aw-client, and aw-core pins packages the
# project's venv has newer versions of (platformdirs 3.10), so neither is installed there.

REPO = Path(__file__).resolve().parents[2]
AW_VENV = REPO / "bench" / ".venvs" / "aw-server"
AW_PYTHON = AW_VENV / "bin" / "python"
DRIVER = REPO / "bench" / "peers" / "aw_client_driver.py"


def aw_python() -> tuple[Path | None, str]:
    """The venv's Python, creating the venv once (from PyPI) if it is missing, and why not when
    it cannot be made here (no network). Two tries: one pip run can lose to a slow index."""
    probe = [str(AW_PYTHON), "-c", "import aw_client, aw_server"]
    why = ""
    for _ in range(2):
        if AW_PYTHON.exists() and subprocess.run(probe, capture_output=True, timeout=120).returncode == 0:
            return AW_PYTHON, ""
        try:
            subprocess.run(
                ["bash", str(REPO / "bench" / "peers" / "aw_setup.sh")], check=True, timeout=900, capture_output=True
            )
        except subprocess.CalledProcessError as exc:
            why = (exc.stderr or b"").decode(errors="replace")[-800:]
        except (subprocess.SubprocessError, OSError) as exc:
            why = f"{type(exc).__name__}: {exc}"
    if AW_PYTHON.exists() and subprocess.run(probe, capture_output=True, timeout=120).returncode == 0:
        return AW_PYTHON, ""
    return None, why


def isolated_home(home: Path) -> dict[str, str]:
    """Environment for an ActivityWatch process whose config, data and queue stay in ``home``."""
    home.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
    }


def drive(python: Path, home: Path, spec: dict) -> dict:
    """Run the real aw-client against a server (bench/peers/aw_client_driver.py)."""
    result = subprocess.run(
        [str(python), str(DRIVER)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=240,
        env=isolated_home(home),
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return json.loads(result.stdout)


@contextlib.contextmanager
def aw_server(python: Path, home: Path, port: int):
    """aw-server 0.12 in testing mode on ``port``, its data in ``home``."""
    env = isolated_home(home)
    log = (home / "aw-server.log").open("wb")
    proc = subprocess.Popen(
        [str(python), "-m", "aw_server", "--testing", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_until_up(
            proc, f"http://127.0.0.1:{port}/api/0/info", log=home / "aw-server.log", timeout=60, what="aw-server"
        )
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def window_stream(seed: int, count: int, base: datetime) -> list[dict]:
    """What a window watcher sends: a heartbeat every 1-3 s (millisecond timestamps), the
    window changing now and then, and a few pauses longer than a minute (past pulsetime)."""
    rng = random.Random(seed)
    windows = [
        {"app": "Code", "title": "stint.py"},
        {"app": "Firefox", "title": "Docs"},
        {"app": "Slack", "title": "#dev"},
    ]
    current, moment, stream = windows[0], base, []
    for _ in range(count):
        moment += timedelta(milliseconds=rng.randint(1000, 3000))
        if rng.random() < 0.03:
            moment += timedelta(seconds=rng.randint(61, 200))
        if rng.random() < 0.15:
            current = rng.choice(windows)
        duration = 0.0 if rng.random() < 0.8 else round(rng.uniform(0.1, 2.0), 3)
        stream.append({"timestamp": moment.isoformat(), "duration": duration, "data": dict(current)})
    return stream
