"""`make run`: migrate, seed the demo when the database is empty, then serve daphne with a
Celery worker and beat beside it. One Ctrl-C stops all three, then the embedded PostgreSQL
and Redis if this process started them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

from config import embedded


class Command(BaseCommand):
    help = "Run the whole stack: web (daphne), Celery worker and beat."

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--no-seed", action="store_true", help="do not seed the demo data")

    def handle(self, *args, port: int, host: str, no_seed: bool, **options):
        self.stdout.write("Migrating ...")
        call_command("migrate", interactive=False, verbosity=0)
        if not no_seed and not get_user_model().objects.exists():
            self.stdout.write("Empty database: seeding the demo data ...")
            call_command("seed_demo")

        python = sys.executable
        beat_schedule = str(settings.DATA_DIR / "celerybeat-schedule")
        commands = {
            # -v 0: no plain-text access log; the request middleware logs each request as JSON.
            "web": [python, "-m", "daphne", "-v", "0", "-b", host, "-p", str(port), "config.asgi:application"],
            "worker": [python, "-m", "celery", "-A", "config", "worker", "-l", "info", "--concurrency", "2"],
            "beat": [python, "-m", "celery", "-A", "config", "beat", "-l", "info", "-s", beat_schedule],
        }
        procs = {name: subprocess.Popen(cmd) for name, cmd in commands.items()}
        self.stdout.write(
            self.style.SUCCESS(
                f"Stint is up on http://{host}:{port}/  (API docs: /docs, health: /health/ready). Ctrl-C stops it."
            )
        )

        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        exit_code = 0
        try:
            while not stopping:
                for name, proc in procs.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the stack.")
                        exit_code = proc.returncode or 1
                        stopping = True
                time.sleep(0.5)
        finally:
            self._stop(procs)
            self._stop_embedded()
        if exit_code:
            sys.exit(exit_code)

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
