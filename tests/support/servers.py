"""Waiting for a server a test started (daphne, aw-server) to answer."""

from __future__ import annotations

import subprocess
import time
import urllib.request
from pathlib import Path


def wait_until_up(proc: subprocess.Popen, url: str, *, log: Path, timeout: float, what: str) -> None:
    """Until ``url`` answers 200; fails with the server's last output if it exits first, or
    with ``what`` if it does not answer within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"{what} did not come up"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
