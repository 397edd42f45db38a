"""Start and stop a throwaway Stint stack for benchmarks (stdlib only in this process).

The stack is the project's own ``manage.py runstack --port <free port> --no-seed`` run by
``.venv/bin/python`` from the checkout, with an environment that makes it start its **own**
embedded PostgreSQL 18 and Redis under a fresh data dir (never the developer's ``.data``):

* ``DATA_DIR=<bench/.data/stint-bench-XXXX>``   (removed afterwards unless kept)
* ``DATABASE_URL=`` and ``REDIS_URL=`` empty, ``CELERY_BROKER_URL`` unset  (embedded servers)
* ``DATABASE_NAME=stint_bench``, ``CACHE_KEY_PREFIX=stint-bench``, ``LOG_LEVEL=WARNING``
* ``STINT_ENV=development`` with ``DEBUG=false`` (production would need a SECRET_KEY and
  redirect to HTTPS; development with DEBUG off serves like production otherwise)

runstack migrates, then starts N daphne web processes (one listening socket), a Celery worker
(``--concurrency 2``) and beat. It is ready when ``GET /health/ready`` answers 200. It stops on
SIGINT: its children first, then the embedded servers it started.

The only addition to ``manage.py runstack`` is a watchdog thread in the child (like the
TimeTagger harness): it sends the child SIGINT if the benchmark process dies or after
``max_lifetime`` seconds, so a crashed benchmark never leaves a stack behind. ``stop()``
falls back to ``python -m config.embedded stop <DATA_DIR>`` if PostgreSQL or Redis outlive it.

``cpu_by_role()`` reads /proc for the CPU time of every process of the stack, by role (web,
worker, beat, runstack, postgres, redis): on a 2-core machine this is where the cores go.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
THROTTLED_SCOPES = ("USER", "SYNC", "LOGIN", "REGISTER", "PASSWORD_RESET", "REFRESH")
DEFAULT_PYTHON = REPO_DIR / ".venv" / "bin" / "python"
DATA_PARENT = BENCH_DIR / ".data"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# Runs as the child: exactly `python manage.py runstack ...`, plus a watchdog thread.
_CHILD_BOOTSTRAP = r"""
import os, signal, sys, threading, time, runpy
parent = int(sys.argv[1]); deadline = time.monotonic() + float(sys.argv[2])
def _watchdog():
    while True:
        time.sleep(1.0)
        if os.getppid() != parent or time.monotonic() > deadline:
            sys.stderr.write("stint bench watchdog: parent gone or max lifetime reached, stopping the stack\n")
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGINT)  # runstack's own graceful stop
            time.sleep(60)
            os._exit(3)
threading.Thread(target=_watchdog, name="bench-watchdog", daemon=True).start()
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- /proc helpers
def _proc_stat(pid: int) -> tuple[int, float] | None:
    """(ppid, own + reaped children's CPU seconds) of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # fields[0] is field 3 (state): ppid=4, utime=14, stime=15, cutime=16, cstime=17
    ppid = int(fields[1])
    ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
    return ppid, ticks / CLK_TCK


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _all_ppids() -> dict[int, int]:
    out = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = _proc_stat(int(name))
            if st:
                out[int(name)] = st[0]
    return out


def _descendants(root: int, ppids: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid in ppids.items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def _pid_from_file(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


class StintStack:
    """``manage.py runstack`` on 127.0.0.1:<free port> with its own embedded PostgreSQL/Redis."""

    def __init__(
        self,
        python: Path = DEFAULT_PYTHON,
        web_processes: int | None = None,
        max_lifetime: float = 7200.0,
        startup_timeout: float = 240.0,
        keep_datadir: bool = False,
        extra_env: dict | None = None,
    ):
        self.python = Path(python)
        self.web_processes = web_processes
        self.max_lifetime = max_lifetime
        self.startup_timeout = startup_timeout
        self.keep_datadir = keep_datadir
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None
        self.datadir: Path | None = None
        self.port: int | None = None
        self.command: list[str] = []
        self._log = None

    host = "127.0.0.1"
    runstack_extra_args: tuple[str, ...] = ()  # JoiningNode: --no-services --no-beat

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path | None:
        return self.datadir / "stack.log" if self.datadir else None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}}
        env.update(
            DATA_DIR=str(self.datadir),
            DATABASE_URL="",  # empty (not unset): a .env file cannot point us at a real server
            REDIS_URL="",
            DATABASE_NAME="stint_bench",
            CACHE_KEY_PREFIX="stint-bench",
            LOG_LEVEL="WARNING",
            STINT_ENV="development",
            DEBUG="false",
            PYTHONUNBUFFERED="1",
        )
        # Benchmarks measure throughput, not the rate limits: a run registers hundreds of users
        # from one address and a tracker sends as fast as it can (common/throttling.py). The
        # per-user limits stay on, far out of reach, so their counting is in every figure.
        env.update({f"THROTTLE_{scope}_RATE": "off" for scope in THROTTLED_SCOPES})
        env.update({f"THROTTLE_{scope}_RATE": "100000000/min" for scope in ("USER", "SYNC")})
        env.update(self.extra_env)
        return env

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> StintStack:
        if not self.python.exists():
            raise FileNotFoundError(f"{self.python} not found: create the project venv first (make install)")
        dotenv = REPO_DIR / ".env"
        if dotenv.exists() and "CELERY_BROKER_URL" in dotenv.read_text(errors="replace"):
            raise RuntimeError(f"{dotenv} sets CELERY_BROKER_URL: the bench stack would use that broker")
        DATA_PARENT.mkdir(parents=True, exist_ok=True)
        self.datadir = Path(tempfile.mkdtemp(prefix="stint-bench-", dir=DATA_PARENT))
        last_err = None
        for _attempt in range(3):  # a free port can be taken between probe and bind: retry
            self.port = free_loopback_port()
            args = ["manage.py", "runstack", "--port", str(self.port), "--no-seed"]
            if self.web_processes:
                args += ["--web-processes", str(self.web_processes)]
            args += list(self.runstack_extra_args)
            self.command = [
                str(self.python),
                "-c",
                "<watchdog bootstrap>",
                str(os.getpid()),
                str(self.max_lifetime),
                *args,
            ]
            self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in _terminate()
            self.proc = subprocess.Popen(
                [str(self.python), "-c", _CHILD_BOOTSTRAP, str(os.getpid()), str(self.max_lifetime), *args],
                env=self.env(),
                cwd=REPO_DIR,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C on the bench reaches the stack only through stop()
            )
            try:
                self._wait_ready()
                return self
            except Exception as err:
                last_err = err
                self._terminate()
        self.stop()
        raise RuntimeError(f"Stint stack did not start: {last_err}")

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"runstack exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health/ready")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.25)
        raise TimeoutError(f"stack not ready after {self.startup_timeout}s:\n{self.log_tail()}")

    def log_tail(self, n: int = 30) -> str:
        try:
            return b"\n".join(self.log_path.read_bytes().splitlines()[-n:]).decode(errors="replace")
        except (OSError, AttributeError):
            return ""

    def _terminate(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # runstack: children, then embedded PG/Redis
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)  # its own session: only what we started
                self.proc.wait(timeout=10)
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self.datadir and self.datadir.exists():
            self._stop_embedded_leftovers()

    def _stop_embedded_leftovers(self) -> None:
        pg = _pid_from_file(self.datadir / "pg" / "postmaster.pid")
        rd = _pid_from_file(self.datadir / "redis" / "redis.pid")
        if not any(p and _proc_stat(p) for p in (pg, rd)):
            return
        subprocess.run(
            [str(self.python), "-m", "config.embedded", "stop", str(self.datadir)],
            cwd=REPO_DIR,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )

    def stop(self) -> None:
        self._terminate()
        if self.datadir and not self.keep_datadir:
            shutil.rmtree(self.datadir, ignore_errors=True)
            self.datadir = None

    def __enter__(self) -> StintStack:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- where the CPU goes -------------------------------------------------------------------
    def processes(self) -> dict[int, str]:
        """{pid: role} for every live process of the stack."""
        if self.proc is None:
            return {}
        ppids = _all_ppids()
        roles: dict[int, str] = {}
        for pid in _descendants(self.proc.pid, ppids):
            cmd = _cmdline(pid)
            if pid == self.proc.pid:
                roles[pid] = "runstack"
            elif "daphne" in cmd:
                roles[pid] = "web"
            elif "celery" in cmd and " beat" in cmd:
                roles[pid] = "beat"
            elif "celery" in cmd:
                roles[pid] = "worker"
            else:
                roles[pid] = "other"
        for role, pidfile in (
            ("postgres", self.datadir / "pg" / "postmaster.pid"),
            ("redis", self.datadir / "redis" / "redis.pid"),
        ):
            root = _pid_from_file(pidfile)
            if root and root in ppids:
                for pid in _descendants(root, ppids):
                    roles[pid] = role
        return roles

    def cpu_snapshot(self) -> dict[int, tuple[str, float]]:
        out = {}
        for pid, role in self.processes().items():
            st = _proc_stat(pid)
            if st:
                out[pid] = (role, st[1])
        return out

    @staticmethod
    def cpu_delta(before: dict, after: dict) -> dict[str, float]:
        """CPU seconds per role between two snapshots (new processes count from zero)."""
        out: dict[str, float] = {}
        web: list[float] = []
        for pid, (role, cpu) in after.items():
            d = max(0.0, cpu - before.get(pid, (role, 0.0))[1])
            out[role] = out.get(role, 0.0) + d
            if role == "web":
                web.append(round(d, 3))
        out = {k: round(v, 3) for k, v in sorted(out.items())}
        out["total"] = round(sum(out.values()), 3)
        out["web_by_process"] = sorted(web, reverse=True)  # how evenly the kernel spread the connections
        return out

    def web_process_count(self) -> int:
        return sum(1 for role in self.processes().values() if role == "web")

    def wait_idle(self, max_wait: float = 180.0, window: float = 1.0, threshold: float = 0.08) -> float:
        """Wait until the stack uses less than ``threshold`` CPU-seconds per second over
        ``window`` (the worker has published what the last phase left it); returns the wait."""
        t0 = time.perf_counter()
        prev = self.cpu_snapshot()
        while time.perf_counter() - t0 < max_wait:
            time.sleep(window)
            cur = self.cpu_snapshot()
            if self.cpu_delta(prev, cur)["total"] / window < threshold:
                return time.perf_counter() - t0
            prev = cur
        return time.perf_counter() - t0


# --------------------------------------------------------------------------- a second node
def _socket_dir(preferred: Path, name: str) -> Path:
    """config.embedded._short_dir without importing the project: where an embedded server of a
    data dir puts its unix socket (the dir itself, or /tmp/stint-<hash> when the path is long)."""
    import hashlib

    if len(str(preferred / name)) <= 100:
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"stint-{digest}"


class JoiningNode(StintStack):
    """A second node of ``first``'s deployment, as docs/serving.md "Several nodes" starts one:
    ``manage.py runstack --no-services --no-beat`` on its own free port with its own DATA_DIR
    (its Prometheus dir), pointed at ``first``'s embedded PostgreSQL and Redis by their unix
    sockets. It migrates nothing and runs no beat; its web processes and worker groups share
    the first node's database, queues and channel layer. Start it after ``first`` is ready
    (that one migrated); stop it before ``first`` (which stops the servers)."""

    runstack_extra_args = ("--no-services", "--no-beat")

    def __init__(self, first: StintStack, **kwargs):
        super().__init__(python=first.python, **kwargs)
        if first.datadir is None:
            raise RuntimeError("start the first node before the one that joins it")
        self.first = first

    def env(self) -> dict:
        from urllib.parse import quote

        env = super().env()
        first_dir = self.first.datadir
        pg_dir = _socket_dir(first_dir / "pg", ".s.PGSQL.5432")
        redis_sock = _socket_dir(first_dir / "redis", "redis.sock") / "redis.sock"
        env["DATABASE_URL"] = f"postgres://postgres@{quote(str(pg_dir), safe='')}/stint_bench"
        env["REDIS_URL"] = f"unix://{redis_sock}?db=0"
        return env
