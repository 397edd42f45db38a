"""Start and stop a throwaway TimeTagger server for benchmarks (stdlib only).

The server is the stock ``python -m timetagger`` of the venv made by
``timetagger_setup.sh`` (uvicorn + asgineer + itemdb/SQLite, one process), started with:

* ``TIMETAGGER_BIND=127.0.0.1:<free port>``   (loopback only)
* ``TIMETAGGER_DATADIR=<fresh temp dir>``      (user DBs land in ``<dir>/users/*.db``)
* ``TIMETAGGER_CREDENTIALS=user1:hash1,...``   (bcrypt hashes, made with the venv's bcrypt)
* ``TIMETAGGER_LOG_LEVEL=warning``

A client exchanges username/password for a web token at
``POST /timetagger/api/v2/bootstrap_authentication`` (see ``timetagger_client.py``).

The only addition to ``python -m timetagger`` is a watchdog thread in the child: it exits the
server if the parent process dies or after ``max_lifetime`` seconds, so a crashed benchmark
never leaves a server behind.

Usage as a module::

    with TimeTaggerServer(users=["alice", "bob"]) as srv:
        srv.base_url, srv.passwords["alice"]

Usage from the shell (serves for a bounded time, prints connection details)::

    python bench/peers/timetagger_server.py --users 2 --seconds 60
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
DEFAULT_VENV = BENCH_DIR / ".venvs" / "timetagger"
PATH_PREFIX = "/timetagger/"  # TimeTagger's default config.path_prefix
BCRYPT_ROUNDS = 4  # the minimum: keeps token bootstrap ~1 ms; only affects login, not the measured API calls

# Runs inside the TimeTagger venv: exactly `python -m timetagger`, plus a watchdog thread.
_CHILD_BOOTSTRAP = r"""
import os, sys, threading, time, runpy
parent = int(sys.argv[1]); deadline = time.monotonic() + float(sys.argv[2])
def _watchdog():
    while True:
        time.sleep(1.0)
        if os.getppid() != parent or time.monotonic() > deadline:
            sys.stderr.write("timetagger watchdog: parent gone or max lifetime reached, exiting\n")
            sys.stderr.flush()
            os._exit(3)
threading.Thread(target=_watchdog, name="bench-watchdog", daemon=True).start()
sys.argv = ["timetagger"]
runpy.run_module("timetagger", run_name="__main__", alter_sys=True)
"""

# Runs inside the TimeTagger venv: bcrypt-hash the passwords read from stdin (JSON {user: pw}).
_HASH_SCRIPT = r"""
import json, sys, bcrypt
pw = json.load(sys.stdin); rounds = int(sys.argv[1])
json.dump({u: bcrypt.hashpw(p.encode(), bcrypt.gensalt(rounds=rounds)).decode() for u, p in pw.items()}, sys.stdout)
"""


def venv_python(venv: Path = DEFAULT_VENV) -> Path:
    py = Path(venv) / "bin" / "python"
    if not py.exists():
        raise FileNotFoundError(f"{py} not found - run bench/peers/timetagger_setup.sh first")
    return py


def timetagger_version(venv: Path = DEFAULT_VENV) -> str:
    out = subprocess.run(
        [str(venv_python(venv)), "-c", "import timetagger; print(timetagger.__version__)"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return out.stdout.strip()


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_credentials(passwords: dict[str, str], venv: Path = DEFAULT_VENV) -> str:
    """Return the TIMETAGGER_CREDENTIALS value ("user:bcrypthash,...") for {user: password}."""
    for user in passwords:
        if not user or any(c in user for c in ":,; "):
            raise ValueError(f"username {user!r} may not be empty or contain ':', ',', ';' or spaces")
    out = subprocess.run(
        [str(venv_python(venv)), "-c", _HASH_SCRIPT, str(BCRYPT_ROUNDS)],
        input=json.dumps(passwords),
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    )
    hashes = json.loads(out.stdout)
    return ",".join(f"{u}:{h}" for u, h in hashes.items())


class TimeTaggerServer:
    """A TimeTagger server on 127.0.0.1:<free port> with a fresh temp data dir."""

    def __init__(
        self,
        users: list[str] | tuple[str, ...] = (),
        venv: Path = DEFAULT_VENV,
        max_lifetime: float = 3600.0,
        startup_timeout: float = 60.0,
        tmp_parent: str | None = None,
        keep_datadir: bool = False,
    ):
        self.venv = Path(venv)
        self.users = list(users)
        self.passwords = {u: f"pw-{u}" for u in self.users}
        self.max_lifetime = max_lifetime
        self.startup_timeout = startup_timeout
        self.tmp_parent = tmp_parent
        self.keep_datadir = keep_datadir
        self.proc: subprocess.Popen | None = None
        self.datadir: str | None = None
        self.port: int | None = None
        self._log = None

    # -- properties ---------------------------------------------------------------------------
    @property
    def host(self) -> str:
        return "127.0.0.1"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH_PREFIX}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def log_path(self) -> str | None:
        return os.path.join(self.datadir, "server.log") if self.datadir else None

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> TimeTaggerServer:
        if self.proc is not None:
            raise RuntimeError("already started")
        py = venv_python(self.venv)
        self.datadir = tempfile.mkdtemp(prefix="tt-bench-", dir=self.tmp_parent)
        creds = make_credentials(self.passwords, self.venv) if self.users else ""
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry
            self.port = free_loopback_port()
            env = {k: v for k, v in os.environ.items() if not k.startswith("TIMETAGGER_")}
            env.update(
                TIMETAGGER_BIND=f"127.0.0.1:{self.port}",
                TIMETAGGER_DATADIR=self.datadir,
                TIMETAGGER_LOG_LEVEL="warning",
                PYTHONUNBUFFERED="1",
            )
            if creds:
                env["TIMETAGGER_CREDENTIALS"] = creds
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()
            self.proc = subprocess.Popen(
                [str(py), "-c", _CHILD_BOOTSTRAP, str(os.getpid()), str(self.max_lifetime)],
                env=env,
                cwd=self.datadir,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
            )
            try:
                self._wait_ready()
                return self
            except Exception as err:  # port clash or slow start: clean up and retry
                last_err = err
                self._terminate()
        self.stop()
        raise RuntimeError(f"TimeTagger server did not start: {last_err}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", f"{PATH_PREFIX}status")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200 and body == b"ok":
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"server not ready after {self.startup_timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-n:]).decode(errors="replace")
        except (OSError, TypeError):
            return ""

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # uvicorn shuts down gracefully on SIGTERM
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        self._terminate()
        if self.datadir and not self.keep_datadir:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None

    def cpu_seconds(self) -> float | None:
        """user+system CPU seconds used so far by the server process (all its threads), Linux only."""
        if self.proc is None:
            return None
        try:
            with open(f"/proc/{self.proc.pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            return None

    def __enter__(self) -> TimeTaggerServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=1, help="number of users user0..userN-1 (default 1)")
    ap.add_argument("--seconds", type=float, default=60.0, help="serve this long, then stop (default 60)")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server and remove its data dir
    users = [f"user{i}" for i in range(args.users)]
    with TimeTaggerServer(users=users, max_lifetime=args.seconds + 30) as srv:
        print(
            json.dumps(
                {"base_url": srv.base_url, "pid": srv.pid, "datadir": srv.datadir, "passwords": srv.passwords}, indent=2
            ),
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            time.sleep(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
