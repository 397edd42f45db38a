"""Heartbeat intake (SPEC: Sync, ``POST /sync/heartbeats``; docs/activity.md).

Intake is the hottest path of the product (every tracker, every few seconds), so it does the
least that keeps its promise: validate the whole batch (``activity.schema``), apply the
company's privacy rules, store the heartbeats in the inbox table (committed, so a 202 survives
a crash of anything right after it), and make sure a merge (``activity.merge``) runs soon.
Both ways a request is answered share this module: the Django view calls ``heartbeats_accept``;
the lean path (``activity.intake``) calls ``batch_parse`` and ``inbox_rows`` and stores the rows
with its group commit."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime

import structlog
from django.db import transaction
from django.utils import timezone

from activity.appusage import domain_of
from activity.models import HeartbeatInbox
from activity.privacy import REDACTED, apply_privacy, privacy_rules_for
from activity.schema import HEARTBEAT_BATCH, invalid
from activity.tasks import merge_heartbeats
from common.bulk import copy_rows
from common.redis import get_client, key
from organizations.models import Membership
from organizations.permissions import visible_projects

logger = structlog.get_logger(__name__)

INBOX_COLUMNS = [
    "company_id",
    "user_id",
    "device_id",
    "timestamp",
    "duration",
    "app",
    "title",
    "url",
    "domain",
    "project_id",
    "pulsetime",
    "received_at",
]


@dataclass(frozen=True)
class Batch:
    device_id: str
    pulsetime: float
    heartbeats: list[dict]


def batch_parse(data, *, now: datetime) -> Batch:
    """The whole batch, validated by the one schema; the first bad item refuses it (400 naming
    it), nothing is stored."""
    body = HEARTBEAT_BATCH.parse(data, now=now)
    return Batch(device_id=body["device_id"], pulsetime=body["pulsetime"], heartbeats=body["heartbeats"])


def project_ids(batch: Batch) -> set[uuid.UUID]:
    return {h["project_id"] for h in batch.heartbeats if h["project_id"] is not None}


def heartbeats_accept(*, membership: Membership, data) -> int:
    """Validate, filter and store a batch of ``membership``'s user in its company; returns how
    many heartbeats were accepted (those a privacy rule dropped included: the client must not
    send them again)."""
    now = timezone.now()
    batch = batch_parse(data, now=now)
    projects = project_ids(batch)
    if projects:
        known = set(visible_projects(membership).filter(pk__in=projects).values_list("pk", flat=True))
        for n, heartbeat in enumerate(batch.heartbeats):
            if heartbeat["project_id"] is not None and heartbeat["project_id"] not in known:
                raise invalid("No such project.", f"heartbeats.{n}.project_id")
    rows = inbox_rows(
        batch,
        company_id=membership.company_id,
        user_id=membership.user_id,
        rules=privacy_rules_for(membership.company_id),
        now=now,
    )
    # One COPY of plain tuples (no model instances: this is the hottest path); committed when
    # it returns, or with the request's transaction under an Idempotency-Key.
    copy_rows(HeartbeatInbox, INBOX_COLUMNS, rows)
    if rows:
        transaction.on_commit(merge_soon)
    return len(batch.heartbeats)


def inbox_rows(batch: Batch, *, company_id, user_id, rules, now: datetime) -> list[tuple]:
    """The batch as inbox rows (``INBOX_COLUMNS``), privacy rules applied: dropped heartbeats
    are left out, redacted fields replaced (a redacted URL takes its domain with it)."""
    rows = []
    for heartbeat in batch.heartbeats:
        kept = apply_privacy(heartbeat, rules) if rules else heartbeat
        if kept is None:
            continue
        url = kept["url"]
        rows.append(
            (
                company_id,
                user_id,
                batch.device_id,
                kept["timestamp"],
                kept["duration"],
                kept["app"],
                kept["title"],
                url,
                REDACTED if url == REDACTED else domain_of(url),
                kept["project_id"],
                batch.pulsetime,
                now,
            )
        )
    return rows


# --------------------------------------------------------------------------- the merge trigger

MERGE_DEBOUNCE_SECONDS = 0.5
_last_queued = [0.0]  # this process's last trigger (monotonic): most requests skip Redis too


def merge_due() -> bool:
    """Has this process not triggered a merge for half a second? (If so, it now has.)"""
    now = time.monotonic()
    if now - _last_queued[0] < MERGE_DEBOUNCE_SECONDS:
        return False
    _last_queued[0] = now
    return True


def merge_soon() -> None:
    """Queue a merge unless this process did in the last half second (at thousands of
    requests a second, one task per request would be the bottleneck)."""
    if merge_due():
        queue_merge()


def queue_merge() -> None:
    """Queue a merge unless any process did in the last half second. Beat runs one every few
    seconds anyway, so a lost trigger only delays a merge."""
    try:
        if get_client().set(key("heartbeats", "merge-queued"), 1, nx=True, px=int(MERGE_DEBOUNCE_SECONDS * 1000)):
            merge_heartbeats.apply_async(countdown=MERGE_DEBOUNCE_SECONDS)
    except Exception:  # the heartbeats are stored; beat merges them
        logger.warning("merge_trigger_failed", exc_info=True)
