"""Stint behind PgBouncer in transaction mode (docs/operations.md "PgBouncer"): the pooler
really hands one server connection to several clients, which is what breaks session-level
advisory locks, and the change-log sequencer still numbers gaplessly and publishes each change
once with two sequencers racing through it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

from changelog import audience, sequencer
from changelog.models import Change, SyncState
from tests.support import pgbouncer
from tests.support.changes import unnumbered_change

pytestmark = [
    pytest.mark.slow,
    # Only where it is missing and not asked for (.ci/run installs it and runs it).
    pytest.mark.skipif(pgbouncer.binary() is None and not pgbouncer.ENABLED, reason="apt-get install pgbouncer"),
]
LOCK = 0x5445_5354  # any key nobody else takes


def test_two_clients_share_one_server_connection_so_a_session_lock_excludes_nobody(transactional_db):
    with (
        pgbouncer.pgbouncer(pool_size=2) as port,
        pgbouncer.connect(port, autocommit=True) as a,
        pgbouncer.connect(port, autocommit=True) as b,
    ):
        assert {p["pool_mode"] for p in pgbouncer.admin(port, "SHOW POOLS") if p["database"] != "pgbouncer"} == {
            "transaction"
        }
        # Transaction mode: one server connection serves both clients in turn (session
        # mode would give each its own for as long as it stays connected).
        pid_a = a.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert b.execute("SELECT pg_backend_pid()").fetchone()[0] == pid_a
        assert a.execute("SELECT pg_try_advisory_lock(%s)", [LOCK]).fetchone()[0]
        # The lock lives on the server connection, not with client a: b, handed the same
        # connection, "takes" it too. This is why the sequencer's locks are xact locks.
        assert b.execute("SELECT pg_try_advisory_lock(%s)", [LOCK]).fetchone()[0]
        b.execute("SELECT pg_advisory_unlock_all()")
        # A transaction-scoped lock goes with the transaction, which keeps its connection.
        with a.transaction():
            assert a.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK]).fetchone()[0]
            assert not b.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK]).fetchone()[0]
            assert (
                b.execute("SELECT pg_backend_pid()").fetchone()[0] != a.execute("SELECT pg_backend_pid()").fetchone()[0]
            )
        assert b.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK]).fetchone()[0]


def _write(world, n: int) -> None:
    for i in range(n):
        unnumbered_change(world, project_id=world.project_open.id, entity_id=world.project_open.id, payload={"n": i})


@pytest.mark.usefixtures("fresh_channel_layer")
def test_two_sequencers_through_pgbouncer_number_gaplessly_and_publish_each_change_once(transactional_db, world):
    layer = get_channel_layer()
    listener = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(audience.user_group(world.users["member"].id), listener)
    rounds, per_round = 15, 7
    first_new = (Change.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1  # the world's are older
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def sequencer_thread() -> None:
        try:
            start.wait()
            for _ in range(rounds):
                _write(world, per_round)  # committed, unnumbered: as a service leaves them
                sequencer.sequence_and_publish()  # racing the other thread's, through 2 server connections
        except BaseException as exc:  # noqa: BLE001  (reported by the test below)
            errors.append(exc)
        finally:
            connection.close()

    with pgbouncer.pgbouncer(pool_size=2) as port, pgbouncer.through(port):
        threads = [threading.Thread(target=sequencer_thread) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=90)
        assert not errors, errors
        while sequencer.sequence_and_publish():  # what a bounded round left: the beat's job
            pass
        cursors = list(Change.objects.order_by("cursor").values_list("cursor", flat=True))
        ours = list(Change.objects.filter(id__gte=first_new).order_by("cursor").values_list("cursor", flat=True))
        state = SyncState.objects.get(pk=1)

    assert len(ours) == 2 * rounds * per_round
    assert cursors == list(range(1, len(cursors) + 1))  # every change numbered, no gap, no duplicate
    assert (state.head, state.published_upto) == (len(cursors), len(cursors))

    async def received() -> list[int]:  # on one event loop: channels-redis binds receiving to it
        sent: list[int] = []
        while len(sent) < len(ours):
            message = await asyncio.wait_for(layer.receive(listener), timeout=10)
            sent += [event["cursor"] for event in message["events"]]
        return sent

    assert async_to_sync(received)() == ours  # each of ours once, in cursor order


@pytest.mark.skipif(
    not pgbouncer.ENABLED, reason="STINT_TEST_PGBOUNCER=1 (make test-pgbouncer) runs the session through one"
)
def test_the_session_and_the_servers_it_starts_go_through_pgbouncer(transactional_db):
    from conftest import database_url_for_subprocess

    port = pgbouncer.session_port
    assert port
    assert connection.settings_dict["PORT"] == str(port)
    assert f"127.0.0.1:{port}/" in database_url_for_subprocess()  # daphne's and the Celery worker's
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        name = connection.settings_dict["NAME"]
        clients = [c for c in pgbouncer.admin(port, "SHOW CLIENTS") if c["database"] == name]
        assert clients  # this process's connection, held while the cursor is open
    pools = [p for p in pgbouncer.admin(port, "SHOW POOLS") if p["database"] == name]
    assert [p["pool_mode"] for p in pools] == ["transaction"]
    servers = [s for s in pgbouncer.admin(port, "SHOW SERVERS") if s["database"] == name]
    assert 0 < len(servers) <= pgbouncer.SESSION_POOL_SIZE


def test_settings_behind_a_transaction_pooler_keep_nothing_across_transactions():
    code = (
        "from django.conf import settings as s; import django; django.setup(); "
        "d = s.DATABASES['default']; "
        "print(d['OPTIONS']['prepare_threshold'], d['DISABLE_SERVER_SIDE_CURSORS'], s.HEARTBEAT_INTAKE_PREPARED)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": "postgres://u@localhost/x",
        "REDIS_URL": "redis://localhost:1/0",
    }

    def run(**overrides: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=settings.BASE_DIR,
            env={**env, **overrides},
            capture_output=True,
            text=True,
            timeout=60,
        )

    assert run(DATABASE_POOLER="pgbouncer").stdout.split() == ["None", "True", "False"]
    # PgBouncer 1.21+ keeps prepared statements (max_prepared_statements): the intake may prepare.
    assert run(DATABASE_POOLER="pgbouncer", HEARTBEAT_INTAKE_PREPARED="true").stdout.split()[2] == "True"
    refused = run(DATABASE_POOLER="session")
    assert refused.returncode != 0
    assert "DATABASE_POOLER must be empty" in refused.stderr
