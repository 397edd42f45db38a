"""Celery wiring. Settings come from Django's (CELERY_*), tasks from every app's tasks.py.
The beat schedule lives here, in one place, each entry saying why it exists."""

import contextlib
import os
import socket
import uuid

import redis
import structlog
from celery import Celery
from celery.beat import PersistentScheduler
from celery.signals import beat_init, celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

logger = structlog.get_logger(__name__)

app = Celery("stint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class SingletonScheduler(PersistentScheduler):
    """Beat, one per deployment, however many are started: a beat sends periodic tasks only
    while it holds a lease in Redis, renewed on every tick. Any other beat (a second node
    started without --no-beat, two beat pods overlapping in a rollout) stands by and takes
    over within LEASE_SECONDS of the leader's death, or at once when it stops cleanly. The
    periodic tasks are idempotent anyway (each says why); the lease keeps them from running
    twice as often."""

    LEASE = ("beat", "leader")  # its Redis key, under CACHE_KEY_PREFIX (one deployment, one lease)
    LEASE_SECONDS = 30.0
    STANDBY_POLL_SECONDS = 5.0
    # Renew our lease, or take a free one: one round trip, atomic.
    _HOLD = (
        "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end "
        "if redis.call('set', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end return 0"
    )
    _RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, *args, **kwargs):
        self.token = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.leading = False
        super().__init__(*args, **kwargs)

    def _lease(self) -> tuple[redis.Redis, str]:
        from common.redis import get_client, key

        return get_client(), key(*self.LEASE)

    def hold_lease(self) -> bool:
        client, lease = self._lease()
        try:
            held = bool(client.eval(self._HOLD, 1, lease, self.token, int(self.LEASE_SECONDS * 1000)))
        except redis.RedisError as exc:  # Redis down: nothing could be sent anyway; retry soon
            logger.warning("beat_lease_unavailable", error=f"{type(exc).__name__}: {exc}")
            held = False
        if held != self.leading:
            logger.info("beat_lease_taken" if held else "beat_lease_lost", beat=self.token)
        self.leading = held
        return held

    def tick(self, *args, **kwargs) -> float:
        if not self.hold_lease():
            return self.STANDBY_POLL_SECONDS
        # Back in time to renew the lease however far off the next entry is.
        return min(super().tick(*args, **kwargs), self.LEASE_SECONDS / 3)

    def close(self) -> None:
        if self.leading:  # hand over at once rather than after the lease runs out
            client, lease = self._lease()
            with contextlib.suppress(redis.RedisError):  # else it runs out on its own
                client.eval(self._RELEASE, 1, lease, self.token)
            self.leading = False
        super().close()


app.conf.beat_scheduler = "config.celery:SingletonScheduler"


@celeryd_init.connect
@beat_init.connect
def start_embedded_services(**kwargs) -> None:
    """A worker or beat with no DATABASE_URL / REDIS_URL uses the embedded servers: start them
    (or find them running, as under `make run`) before it connects. Importing settings does not."""
    from django.conf import settings

    from config import embedded

    embedded.start_configured(settings)


app.conf.beat_schedule = {
    # Expired and revoked device sessions and spent reset tokens are dead weight; prune daily.
    "prune-auth-tokens": {"task": "accounts.tasks.prune_expired_tokens", "schedule": 24 * 3600},
    # Idempotency-Key outcomes are promised for 24 h; older ones are only weight. Hourly.
    "prune-idempotency-records": {"task": "common.tasks.prune_idempotency_records", "schedule": 3600},
    # Changes are numbered and pushed to sockets on commit by whoever committed them; a process
    # that dies right after a commit leaves its changes unnumbered, invisible to sockets and to
    # /sync/changes. Every 5 s bounds that delay; a run with nothing pending is one cheap query.
    # Expires so a backlog of stale runs (worker down) collapses instead of queueing up.
    # SPEC keeps the change log 30 days (clients further behind do a full resync: 410) and
    # batch item keys at least 30; daily is plenty.
    "prune-changes": {"task": "changelog.tasks.prune_changes", "schedule": 24 * 3600},
    "prune-item-keys": {"task": "sync.tasks.prune_item_keys", "schedule": 24 * 3600},
    "sequence-changes": {"task": "changelog.tasks.sequence_changes", "schedule": 5.0, "options": {"expires": 5}},
    # Intake queues a merge itself (debounced); this bounds the merge lag when that trigger
    # was lost (broker blip, worker restart). Expires like sequence-changes.
    "merge-heartbeats": {"task": "activity.tasks.merge_heartbeats", "schedule": 3.0, "options": {"expires": 3}},
    # Heartbeat and interval partitions for the months ahead; raw heartbeats past retention go.
    "maintain-partitions": {"task": "activity.tasks.maintain_partitions", "schedule": 6 * 3600},
    # Export files are promised for EXPORT_RETENTION_DAYS; past that they are only weight.
    "purge-exports": {"task": "reports.tasks.purge_exports", "schedule": 3600},
    # A worker SIGKILLed just as it took a message from Redis loses that message (it is neither
    # waiting nor unacknowledged): the job would stay PENDING for good. Once its queue is empty,
    # jobs PENDING for JOB_REQUEUE_AFTER_SECONDS are sent again (common.jobs.requeue_lost).
    "requeue-lost-screenshots": {
        "task": "screenshots.tasks.requeue_lost_screenshots",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    "requeue-lost-exports": {
        "task": "reports.tasks.requeue_lost_exports",
        "schedule": 60.0,
        "options": {"expires": 60},
    },
    # Each company keeps screenshots screenshot_retention_days; older ones and their files go.
    "purge-screenshots": {"task": "screenshots.tasks.purge_screenshots", "schedule": 3600},
    # The audit log is kept AUDIT_RETENTION_DAYS (unset: forever, and the run deletes nothing).
    # Retention is counted in days, so daily is precise enough; the purge is the only DELETE
    # the table's append-only trigger lets through (audit.services.audit_purge).
    "purge-audit-log": {"task": "audit.tasks.purge_audit_log", "schedule": 24 * 3600},
    # Webhooks are kicked after each commit; this wakes retries that fell due and endpoints a
    # lost kick or a killed worker left behind (docs/webhooks.md). Expires like sequence-changes.
    "webhook-wake": {"task": "integrations.tasks.webhook_wake", "schedule": 5.0, "options": {"expires": 5}},
    # The delivery log is kept WEBHOOK_DELIVERY_RETENTION_DAYS; daily is precise enough.
    "purge-webhook-deliveries": {"task": "integrations.tasks.webhook_purge_deliveries", "schedule": 24 * 3600},
}
