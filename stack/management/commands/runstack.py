"""`make run`: migrate, seed the demo when the database is empty, then serve N daphne
processes with a Celery worker and beat beside them (restarted if they exit). One Ctrl-C stops
them all, then the embedded PostgreSQL and Redis if this process started them. Those it keeps
alive meanwhile: one that dies is started again on its socket and data dir (config.supervision
Supervisor), so a killed Redis costs seconds of 503s, not a manual restart.

A second machine joins the first with ``--no-services --no-beat`` (docs/serving.md "Several
nodes"): DATABASE_URL and REDIS_URL name the first node's (or the deployment's) servers; it
starts no embedded server, does not migrate (it refuses to serve a schema it does not match)
and runs no beat.

Web processes: daphne runs one event loop on one core, so one process per core (WEB_CONCURRENCY,
default 2). This process binds one listening socket per daphne on the same port (SO_REUSEPORT)
and each daphne adopts its own (``--fd``): the kernel spreads new connections over them, with
no proxy in front. Sockets on
different processes still see the same events: they meet in channels-redis groups."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config import embedded, supervision

# CPU priorities on one machine (higher: yields more). The web processes answer trackers at 0;
# the realtime worker yields to them as today's single worker did (a merge catches up between
# bursts); everything else yields to both, so a CPU-bound export cannot slow a merge either.
WORKER_NICENESS = {"realtime": 10, "webhooks": 10, "worker": 15}


def worker_queues() -> list[str]:
    """What the general worker reads: every queue but realtime's and the webhooks'."""
    return [
        settings.CELERY_MEDIA_QUEUE,
        settings.CELERY_JOBS_QUEUE,
        settings.CELERY_EMAIL_QUEUE,
        settings.CELERY_TASK_DEFAULT_QUEUE,
    ]


class Command(BaseCommand):
    help = "Run the whole stack: web (daphne), Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=settings.PORT)
        parser.add_argument("--host", default="127.0.0.1", help="an IPv4 address")
        parser.add_argument(
            "--web-processes",
            type=int,
            default=settings.WEB_CONCURRENCY,
            help="daphne processes sharing the port (default: WEB_CONCURRENCY, 2)",
        )
        parser.add_argument("--no-seed", action="store_true", help="do not seed the demo data")
        parser.add_argument(
            "--no-services",
            action="store_true",
            help="join an existing stack: DATABASE_URL and REDIS_URL must be set; no embedded "
            "server, no migrate, no seed (another node or a migrate job migrates)",
        )
        parser.add_argument(
            "--no-beat",
            action="store_true",
            help="run no Celery beat (one per deployment; a second one only stands by)",
        )

    def handle(
        self,
        *args,
        port: int,
        host: str,
        web_processes: int,
        no_seed: bool,
        no_services: bool,
        no_beat: bool,
        **options,
    ):
        if web_processes < 1:
            raise CommandError("--web-processes must be at least 1")
        if no_services:
            self._join_checks()
        else:
            self.stdout.write("Migrating ...")
            call_command("migrate", interactive=False, verbosity=0)
            if not no_seed and not get_user_model().objects.exists():
                self.stdout.write("Empty database: seeding the demo data ...")
                call_command("seed_demo")

        python = sys.executable
        # PORT too: with --port, the web processes and the worker build links (common.links) on
        # the port actually served, not on the environment's or the default 8000.
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(self._metrics_dir()), "PORT": str(port)}
        beat_schedule = str(settings.DATA_DIR / "celerybeat-schedule")
        # One listening socket per web process, all bound to the port with SO_REUSEPORT: the
        # kernel spreads new connections evenly over them. (With one shared socket, whichever
        # process was awake took them: 8 trackers' keep-alive connections all landed on one
        # process while the other idled - bench/heartbeat_bench.py.)
        listeners = [self._listen(host, port) for _ in range(web_processes)]

        def web(listener: socket.socket) -> list[str]:
            # -v 0: no plain-text access log; the request middleware logs each request as JSON.
            return [python, "-m", "daphne", "-v", "0", "--fd", str(listener.fileno()), "config.asgi:application"]

        def worker(name: str, queues: list[str], concurrency: int) -> list[str]:
            celery = [python, "-m", "celery", "-A", "config", "worker", "-l", "info"]
            return [*celery, "--concurrency", str(concurrency), "-n", f"{name}@%h", "-Q", ",".join(queues)]

        commands = {
            # Queues by latency (docs/operations.md "Queues"): the realtime worker merges
            # heartbeats and sequences changes for sockets, and nothing else, so an export or
            # a burst of screenshots on `worker` never delays them. Two processes each (prefork,
            # ~80 MB a child); prefetch 1 (settings), so a long task strands no other.
            "realtime": worker("realtime", [settings.CELERY_REALTIME_QUEUE], 2),
            "worker": worker("worker", worker_queues(), 2),
            # Webhook deliveries wait on other people's servers: their own queue and worker, so
            # a slow receiver holds back no merge or screenshot (docs/webhooks.md).
            "webhooks": worker("webhooks", [settings.CELERY_WEBHOOK_QUEUE], 4),
            "beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "info", "-s", beat_schedule],
        }
        if no_beat:
            del commands["beat"]
        # The embedded servers this process started (manage.py did, before this command ran);
        # none with --no-services, and never ones someone else started.
        supervisor = (
            None if no_services else supervision.Supervisor(settings.DATA_DIR, settings.DATABASES["default"]["NAME"])
        )
        procs = {
            f"web-{i + 1}": subprocess.Popen(web(listener), pass_fds=[listener.fileno()], env=env)
            for i, listener in enumerate(listeners)
        }
        procs.update({name: self._start(name, cmd, env) for name, cmd in commands.items()})
        restarts: dict[str, list[float]] = {name: [] for name in commands}
        for listener in listeners:
            listener.close()  # each daphne holds its own copy
        self.stdout.write(
            self.style.SUCCESS(
                f"Stint is up on http://{host}:{port}/  (API docs: /docs, health: /health/ready). Ctrl-C stops it."
            )
        )
        if supervisor is not None and supervisor.services:
            self.stdout.write(f"Restarting the embedded {', '.join(supervisor.services)} if they die.")

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                if supervisor is not None:
                    supervisor.check()
                for name, proc in list(procs.items()):
                    if proc.poll() is None or stopping:
                        continue
                    # The worker and beat are restarted, as compose's `restart:` does: Celery's
                    # worker exits on some broker losses (a Redis restart), and one lost
                    # dependency must not take the web processes down with it. One that keeps
                    # dying (5 times a minute: a bad configuration) stops the stack.
                    recent = [t for t in restarts.get(name, [None]) if t and t > time.monotonic() - 60]
                    if name in commands and len(recent) < 5:
                        self.stderr.write(f"{name} exited with {proc.returncode}; restarting it.")
                        restarts[name] = [*recent, time.monotonic()]
                        time.sleep(1)
                        procs[name] = self._start(name, commands[name], env)
                        continue
                    self.stderr.write(f"{name} exited with {proc.returncode}; stopping the stack.")
                    exit_code = proc.returncode or 1
                    stopping = True
                time.sleep(0.5)
        finally:
            self._stop(procs)
            self._stop_embedded()
        if exit_code:
            sys.exit(exit_code)

    def _join_checks(self) -> None:
        """A node joining a stack uses its servers and its schema, as they are."""
        if settings.EMBEDDED_SERVICES:
            raise CommandError(
                "--no-services joins an existing stack: set DATABASE_URL and REDIS_URL "
                f"(unset now: {', '.join(settings.EMBEDDED_SERVICES)})"
            )
        from django.db import connection
        from django.db.migrations.executor import MigrationExecutor

        # Migrating is the first node's (or the deploy's migrate job's) business: two nodes
        # migrating at once race, and one with newer code must not serve the old schema.
        executor = MigrationExecutor(connection)
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if pending:
            names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in pending[:5])
            raise CommandError(
                f"{len(pending)} migration(s) not applied ({names}...): run `manage.py migrate` once "
                "(the first node, or the migrate job) before nodes join"
            )

    @staticmethod
    def _start(name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        # On one machine the workers' merging and processing is background work: at a lower
        # CPU priority it yields to the web processes answering trackers (heartbeat p99) and
        # catches up between bursts (merge lag stays far below its 5 s budget).
        # The webhooks worker too: it mostly waits on receivers, and what it computes can wait.
        niceness = WORKER_NICENESS.get(name)
        nice = (lambda: os.nice(niceness)) if niceness else None  # noqa: E731
        return subprocess.Popen(cmd, env=env, preexec_fn=nice)  # runstack has one thread here

    @staticmethod
    def _metrics_dir() -> Path:
        """Where every process started here keeps its Prometheus values, so a scrape of any web
        process sums them all (common/metrics.py). Emptied first: files of a previous run's
        processes would be counted as alive forever."""
        directory = Path(settings.PROMETHEUS_MULTIPROC_DIR or settings.DATA_DIR / "prometheus")
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        return directory

    @staticmethod
    def _listen(host: str, port: int) -> socket.socket:
        # IPv4 only: daphne's --fd adopts the socket as AF_INET.
        try:
            address = socket.gethostbyname(host)
        except OSError as exc:
            raise CommandError(f"--host {host!r} is not an IPv4 address or resolvable name") from exc
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            listener.bind((address, port))
        except OSError as exc:
            listener.close()
            raise CommandError(f"Cannot listen on {host}:{port}: {exc.strerror}") from exc
        listener.listen(1024)
        return listener

    def _stop(self, procs: dict[str, subprocess.Popen]) -> None:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 15
        for name, proc in procs.items():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stderr.write(f"{name} did not stop in time; killing it.")
                proc.kill()
                proc.wait()

    def _stop_embedded(self) -> None:
        # Only what this process started: servers someone else started keep serving them.
        stopped = embedded.stop_started_here(settings.DATA_DIR)
        if stopped:
            self.stdout.write(f"Stopped embedded {', '.join(stopped)}.")
