"""`make run` keeps the servers it started alive, as it keeps its workers: a SIGKILLed Redis or
PostgreSQL is started again on the same socket and data dir within a second or so
(docs/serving.md). runstack owns the one Supervisor; config/embedded.py starts the servers."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from config import embedded

slog = structlog.get_logger("stint.embedded")


@dataclass
class _Watch:
    name: str
    deaths: list[float]  # when it was found dead, within the last BACKOFF_WINDOW seconds
    down_since: float | None = None  # found dead, not yet running again
    retry_at: float = 0.0  # no restart attempt before this (backoff)
    attempts: int = 0  # failed restart attempts of this outage


class Supervisor:
    """Restarts the embedded servers *this process started* (never ones it merely reused:
    another `make run` or a test session owns those) when their process dies. Call
    :meth:`check` often (runstack: every half second); it blocks only while a restart runs.

    Backoff: a server found dead is restarted at once; one that died ``BACKOFF_AFTER`` times
    within ``BACKOFF_WINDOW`` s (or whose restart fails) waits 1, 2, 4 ... up to
    ``BACKOFF_MAX`` s between attempts, so a server that cannot stay up (a full disk, a
    corrupt data dir) is not started in a tight loop; it is retried for as long as runstack runs."""

    BACKOFF_AFTER = 3
    BACKOFF_WINDOW = 60.0
    BACKOFF_MAX = 30.0
    ZOMBIE_GRACE = 10.0  # how long to wait for init to reap a dead PostgreSQL before trying anyway

    def __init__(self, data_dir: Path, database: str, *, clock=time.monotonic):
        self.data_dir = data_dir.resolve()
        self.database = database
        self.clock = clock
        started = embedded.started_here(self.data_dir)
        self.watches = {name: _Watch(name, []) for name in ("postgres", "redis") if name in started}
        self.restarts = 0

    @property
    def services(self) -> list[str]:
        return sorted(self.watches)

    def _pid(self, name: str) -> int | None:
        return embedded.postgres_pid(self.data_dir) if name == "postgres" else embedded.redis_pid(self.data_dir)

    def _start(self, name: str) -> None:
        if name == "postgres":
            embedded.ensure_postgres(self.data_dir, self.database)
        else:
            embedded.ensure_redis(self.data_dir)

    def _backoff(self, watch: _Watch) -> float:
        strikes = watch.attempts + max(0, len(watch.deaths) - self.BACKOFF_AFTER + 1)
        return 0.0 if strikes == 0 else min(self.BACKOFF_MAX, 2.0 ** (strikes - 1))

    def check(self) -> None:
        for watch in self.watches.values():
            self._check(watch)

    def _check(self, watch: _Watch) -> None:
        now = self.clock()
        pid = self._pid(watch.name)
        state = embedded.pid_state(pid)
        if state == "running" and watch.down_since is None:
            return
        if watch.down_since is None:  # found dead just now
            watch.down_since = now
            watch.deaths = [t for t in watch.deaths if t > now - self.BACKOFF_WINDOW] + [now]
            watch.attempts = 0
            watch.retry_at = now + self._backoff(watch)
            slog.error(
                "embedded_service_died",
                service=watch.name,
                pid=pid,
                deaths_last_minute=len(watch.deaths),
                restart_in_s=round(watch.retry_at - now, 1),
            )
        if now < watch.retry_at:
            return
        if watch.name == "postgres" and state == "zombie" and now - watch.down_since < self.ZOMBIE_GRACE:
            return  # its lock file still names a pid that exists; init reaps it in a moment
        try:
            self._start(watch.name)
        except Exception as exc:  # noqa: BLE001  (any failure to start: log, back off, retry)
            watch.attempts += 1
            watch.retry_at = self.clock() + self._backoff(watch)
            slog.error(
                "embedded_service_restart_failed",
                service=watch.name,
                attempt=watch.attempts,
                error=f"{type(exc).__name__}: {exc}"[:500],
                retry_in_s=round(watch.retry_at - self.clock(), 1),
            )
            return
        self.restarts += 1
        slog.warning(
            "embedded_service_restarted",
            service=watch.name,
            pid=self._pid(watch.name),
            down_s=round(self.clock() - watch.down_since, 2),
            attempts=watch.attempts + 1,
        )
        watch.down_since = None
        watch.attempts = 0
