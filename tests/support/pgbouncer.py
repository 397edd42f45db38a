"""A real PgBouncer (Debian's package) in transaction mode in front of the test database.

``pgbouncer()`` starts one on a free port; ``through()`` points this process's Django
connections at it for a block (the servers a test starts then follow: they get their
DATABASE_URL from ``conftest.database_url_for_subprocess``, which reads the connection).

With ``STINT_TEST_PGBOUNCER=1`` (and ``DATABASE_POOLER=pgbouncer``, which the settings read:
``make test-pgbouncer`` sets both) conftest.py takes ``django_db_setup`` from here: the test
database is created and migrated directly, then every connection of the session, of this
process and of the daphne and Celery processes tests start, goes through one PgBouncer with
a few server connections, so consecutive transactions of one client land on different ones."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connections

ENABLED = os.environ.get("STINT_TEST_PGBOUNCER", "") not in {"", "0"}
SESSION_POOL_SIZE = 8  # server connections per database for the whole session: far fewer than clients
session_port: int | None = None  # the session's PgBouncer, while STINT_TEST_PGBOUNCER runs one


def binary() -> str | None:
    return shutil.which("pgbouncer") or next(
        (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.access(p, os.X_OK)), None
    )


def _free_port() -> int:
    from conftest import free_port  # the one port picker (below the ephemeral range)

    return free_port()


def _run_as(host: str) -> list[str]:
    """PgBouncer refuses to run as root: as root, drop to the owner of the server's socket
    directory (the embedded PostgreSQL's user) or to nobody for a TCP server."""
    if os.geteuid() != 0:
        return []
    user = pwd.getpwuid(os.stat(host).st_uid).pw_name if host.startswith("/") else "nobody"
    return ["-u", user]


@contextlib.contextmanager
def pgbouncer(*, pool_size: int, extra: str = "") -> Iterator[int]:
    """A PgBouncer in transaction mode on 127.0.0.1, in front of the server of Django's
    ``default`` database (any database name, as the client asks: ``*``), at most ``pool_size``
    server connections per database; yields its port. ``extra``: more [pgbouncer] settings."""
    exe = binary()
    assert exe, "pgbouncer is not installed (Debian: apt-get install -y pgbouncer)"
    db = connections.settings["default"]
    host, port, user = db["HOST"] or "/var/run/postgresql", str(db["PORT"] or 5432), db["USER"]
    password = db.get("PASSWORD") or ""
    listen = _free_port()
    workdir = Path(tempfile.mkdtemp(prefix="stint-pgbouncer-"))
    workdir.chmod(0o755)  # read by the user it drops to
    (workdir / "users.txt").write_text(f'"{user}" "{password}"\n')
    server = f"host={host} port={port} user={user}" + (f" password={password}" if password else "")
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = {server}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {listen}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "users.txt"}
admin_users = {user}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
{extra}
"""
    )
    for name in ("users.txt", "pgbouncer.ini"):
        (workdir / name).chmod(0o644)
    log = workdir / "pgbouncer.log"
    proc = subprocess.Popen(
        [exe, *_run_as(host), str(workdir / "pgbouncer.ini")], stdout=log.open("w"), stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "pgbouncer did not come up"
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", listen), timeout=1):
                break
            time.sleep(0.05)
        yield listen
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def connect(port: int, **kwargs) -> psycopg.Connection:
    """A plain psycopg connection to the test database through the PgBouncer on ``port``."""
    db = connections.settings["default"]
    return psycopg.connect(host="127.0.0.1", port=port, dbname=db["NAME"], user=db["USER"], **kwargs)


def admin(port: int, command: str) -> list[dict]:
    """A SHOW command on the PgBouncer's admin console (simple query protocol: ClientCursor)."""
    user = connections.settings["default"]["USER"]
    with psycopg.connect(
        host="127.0.0.1", port=port, dbname="pgbouncer", user=user, autocommit=True, cursor_factory=psycopg.ClientCursor
    ) as conn:
        cursor = conn.execute(command)
        names = [c.name for c in cursor.description or []]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _reset_pools() -> None:
    for alias in connections:
        connections[alias].close()
        # The next connection builds a pool on the new address (the stubs predate Django's pool).
        connections[alias].close_pool()  # type: ignore[attr-defined]


@contextlib.contextmanager
def through(port: int) -> Iterator[None]:
    """Django's connections (every alias on the ``default`` server, every thread) go through
    the PgBouncer on ``port`` while the block runs."""
    db = connections.settings["default"]
    target = (db["HOST"], db["PORT"])
    moved = [a for a in connections if (connections.settings[a]["HOST"], connections.settings[a]["PORT"]) == target]
    _reset_pools()
    for alias in moved:
        connections.settings[alias]["HOST"], connections.settings[alias]["PORT"] = "127.0.0.1", str(port)
    try:
        yield
    finally:
        _reset_pools()
        for alias in moved:
            connections.settings[alias]["HOST"], connections.settings[alias]["PORT"] = target


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """pytest-django's, then the rest of the session through PgBouncer (conftest.py uses this
    one when STINT_TEST_PGBOUNCER is set). The test database is created and migrated directly
    (DDL and CREATE DATABASE need no pooler) and dropped directly after PgBouncer stopped."""
    if settings.DATABASE_POOLER != "pgbouncer":
        raise pytest.UsageError("STINT_TEST_PGBOUNCER=1 needs DATABASE_POOLER=pgbouncer too (make test-pgbouncer)")
    global session_port
    with pgbouncer(pool_size=SESSION_POOL_SIZE) as port, through(port):
        session_port = port
        yield
        session_port = None
