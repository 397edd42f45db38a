"""Celery wiring. Settings come from Django's (CELERY_*), tasks from every app's tasks.py.
The beat schedule lives here, in one place, each entry saying why it exists."""

import os

from celery import Celery
from celery.signals import beat_init, celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("stint")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


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
