"""WakaTime's side, as the tests play it: the intake's URLs, a heartbeat as wakatime-cli 13
sends it, its user agent, and the real CLI run in a child process."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

PREFIX = "/api/compat/wakatime/v1"
BULK = f"{PREFIX}/users/current/heartbeats.bulk"
SINGLE = f"{PREFIX}/users/current/heartbeats"
STATUSBAR = f"{PREFIX}/users/current/statusbar/today"
UA = "wakatime/13.1.0 (Linux-6.1.0-x86_64-with-glibc2.36) Python3.11.7.final.0 vscode/1.80.0 vscode-wakatime/24.0.0"


def heartbeat(at, *, entity="/home/me/stint/app.py", **fields) -> dict:
    """A file heartbeat at Unix time ``at``, with what wakatime-cli 13.1.0 puts in one."""
    return {
        "time": at,
        "entity": entity,
        "type": "file",
        "category": "coding",
        "is_write": False,
        "project": fields.pop("project", "stint"),
        "branch": "main",
        "language": fields.pop("language", "Python"),
        "dependencies": [],
        "lines": 120,
        "lineno": None,
        "cursorpos": None,
        **fields,
    }


# wakatime 13.1.0's bundled requests reaches for collections.Mapping and friends, which moved to
# collections.abc (gone from collections since Python 3.10): alias them, then run its main.
_CLI = """
import collections, collections.abc, sys
for name in ("Mapping", "MutableMapping", "Sequence", "Iterable", "Callable"):
    setattr(collections, name, getattr(collections.abc, name))
from wakatime.main import execute
sys.exit(execute(sys.argv[1:]))
"""


def run_wakatime_cli(args: list[str], *, home: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """The pure-Python WakaTime CLI (the ``wakatime==13.1.0`` package) with ``args``, its
    config, logs and offline queue under ``home``."""
    env = {**os.environ, "HOME": str(home), "WAKATIME_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-c", _CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def wakatime_key(user, *, scopes=("ingest",), company=None) -> str:
    """A personal access token of ``user``, as ``api_key`` in ``~/.wakatime.cfg``."""
    from accounts.personal_tokens import personal_token_create

    _, raw = personal_token_create(user=user, name="wakatime", scopes=list(scopes), company=company)
    return raw


def basic(key: str) -> str:
    """The Authorization header wakatime-cli sends: Basic with base64 of the bare key."""
    return "Basic " + base64.b64encode(key.encode()).decode()
