"""The writer of activity rows (ActivityWatch buckets and events, WakaTime heartbeats: the
``ActivityRow`` items of imports/sources/base.py), called by the pipeline's ``_chunk`` for
each chunk, inside its transaction in a real run. They become the importing user's own
activity through the live intakes' services, the one implementation of each rule:

- buckets: ``activitywatch.services.bucket_create`` (an existing bucket is kept as it is);
- events: ``activitywatch.services.events_insert`` (privacy rules; window and web events feed
  app usage through the heartbeat inbox and its merge, ``afkstatus`` events are the away
  time the apps report reads, editor events feed coding time);
- WakaTime heartbeats: ``activity.coding.coding_heartbeats_store`` (privacy rules; a
  heartbeat already stored, by the live intake too, is stored once).

Every event and heartbeat is fingerprinted per company (``ImportFingerprint`` without an
entry), so a second import of the file counts them as duplicates and stores nothing. A dry
run reads the same fingerprints and privacy rules and writes nothing: its summary is the real
run's. ``created.app_usage`` counts the ActivityWatch events stored (a privacy rule's dropped
events are not), ``created.coding_heartbeats`` the WakaTime heartbeats new to Stint's imports."""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable
from itertools import groupby
from uuid import UUID

from django.utils import timezone

from activity import schema
from activity.activitywatch import feed, selectors, services
from activity.coding import coding_heartbeats_store
from activity.models import AwBucket
from activity.privacy import privacy_rules_for
from common.bulk import copy_rows
from imports.models import ImportFingerprint
from imports.sources.base import ActivityRow, AwBucketRow, AwEventRow, CodingRow
from tracking.services.rules import EARLIEST_ENTRY_TIME


def fingerprint(user_id: UUID, row: AwEventRow | CodingRow) -> bytes:
    """16 bytes naming the event or heartbeat for the user: as the file has it, before
    privacy rules (a rule added between two imports must not make old rows new)."""
    if isinstance(row, AwEventRow):
        e = row.event
        data = json.dumps(e.data, sort_keys=True, separators=(",", ":"))
        text = f"aw\x1f{user_id}\x1f{row.bucket_id}\x1f{e.timestamp.isoformat()}\x1f{e.duration!r}\x1f{data}"
    else:  # the coding table's own key: one heartbeat per user, moment, entity and type
        i = row.item
        text = f"wakatime\x1f{user_id}\x1f{i.time.isoformat()}\x1f{i.type}\x1f{i.entity}"
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


class ActivityWriter:
    """One import's activity rows; lives as long as its pipeline Importer (buckets seen, and
    for a dry run the fingerprints a real run would have written by now). ``summary`` is the
    import's, counted into; ``error`` records an error row (row, field, detail)."""

    def __init__(
        self,
        *,
        company_id: UUID,
        user_id: UUID,
        dry_run: bool,
        summary: dict,
        job_id: UUID | None,
        error: Callable[[int, str, str], None],
    ) -> None:
        self.company_id, self.user_id, self.dry_run = company_id, user_id, dry_run
        self.summary, self.job_id, self.error = summary, job_id, error
        self.rules = privacy_rules_for(self.company_id)
        self.buckets: dict[str, AwBucket | None] = {}  # None: a dry run's bucket that a real run would create
        self.types: dict[str, str] = {}
        self.seen: set[bytes] = set()
        summary["created"].setdefault("coding_heartbeats", 0)

    def write(self, rows: list[ActivityRow]) -> None:
        if not self.dry_run:
            self.seen = set()  # earlier chunks' fingerprints are in the database now
        prints = {row.row: fingerprint(self.user_id, row) for row in rows if isinstance(row, AwEventRow | CodingRow)}
        known = {
            bytes(fp)
            for fp in ImportFingerprint.objects.filter(
                company_id=self.company_id, fingerprint__in=list(prints.values())
            ).values_list("fingerprint", flat=True)
        }
        fresh_prints: list[bytes] = []
        # Runs of one kind (and one bucket): a bucket's events go to events_insert together.
        for (_, bucket_id), group in groupby(rows, key=lambda r: (type(r), getattr(r, "bucket_id", ""))):
            batch = list(group)
            for bucket_row in batch:
                if isinstance(bucket_row, AwBucketRow):
                    self._bucket(bucket_row)
            fresh: list[AwEventRow | CodingRow] = []
            for row in batch:
                if isinstance(row, AwBucketRow):
                    continue
                fp = prints[row.row]
                if fp in known or fp in self.seen:
                    self.summary["duplicates"] += 1
                    continue
                self.seen.add(fp)
                fresh.append(row)
            events = self._events(bucket_id, [row for row in fresh if isinstance(row, AwEventRow)])
            heartbeats = [row for row in fresh if isinstance(row, CodingRow)]
            self._coding(heartbeats)
            fresh_prints.extend(prints[row.row] for row in events)
            fresh_prints.extend(prints[row.row] for row in heartbeats)
        if not self.dry_run:
            copy_rows(
                ImportFingerprint,
                ["company", "fingerprint", "entry_id", "job_id"],
                [(self.company_id, fp, None, self.job_id) for fp in fresh_prints],
            )

    def _bucket(self, row: AwBucketRow) -> None:
        if not self.dry_run:
            services.bucket_create(company_id=self.company_id, user_id=self.user_id, spec=row.spec)
        existing = selectors.bucket_for(company_id=self.company_id, user_id=self.user_id, bucket_id=row.bucket_id)
        self.buckets[row.bucket_id] = existing
        # An existing bucket keeps its type (aw-server's rule), and its events feed by it.
        self.types[row.bucket_id] = existing.type if existing is not None else row.spec.type

    def _events(self, bucket_id: str, rows: list[AwEventRow]) -> list[AwEventRow]:
        """Store the events; the rows that were stored or counted (those of an unknown bucket
        are error rows and get no fingerprint)."""
        if not rows:
            return rows
        if bucket_id not in self.types:  # a resumed import: its bucket row was committed before
            bucket = selectors.bucket_for(company_id=self.company_id, user_id=self.user_id, bucket_id=bucket_id)
            if bucket is None:
                for row in rows:
                    self.error(row.row, "", f"bucket {bucket_id}: not imported")
                return []
            self.buckets[bucket_id], self.types[bucket_id] = bucket, bucket.type
        bucket = self.buckets[bucket_id]
        created = self.summary["created"]
        if self.dry_run or bucket is None:  # what events_insert would keep
            kept = sum(1 for row in rows if feed.private(row.event.data, self.rules, self.types[bucket_id]) is not None)
            created["app_usage"] += kept
            return rows
        # Years of history feed app usage, not only the live intake's last 30 days.
        with schema.accepting_since(EARLIEST_ENTRY_TIME):
            stored = services.events_insert(
                bucket=bucket, events=[row.event for row in rows], rules=self.rules, now=timezone.now()
            )
        created["app_usage"] += len(stored)
        return rows

    def _coding(self, rows: list[CodingRow]) -> None:
        if not rows:
            return
        self.summary["created"]["coding_heartbeats"] += len(rows)
        if self.dry_run:
            return
        by_machine: dict[str, list[CodingRow]] = defaultdict(list)
        for row in rows:
            by_machine[row.machine].append(row)
        for machine, machine_rows in by_machine.items():
            coding_heartbeats_store(
                company_id=self.company_id,
                user_id=self.user_id,
                device_id=machine,
                editor="",
                items=[row.item for row in machine_rows],
            )
