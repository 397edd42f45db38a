"""The one import pipeline, for every source, the API's task and ``manage.py import_data``
(docs/imports.md). A source's parser yields rows; this matches people, clients, projects and
tasks, drops duplicates, turns what Stint would refuse into error rows, and writes the rest in
chunks: one transaction, one COPY of entries, one of fingerprints and one of change-log rows
each.

A dry run goes through the very same checks and differs only in its writer: it keeps what a
real run would have written in memory (the accepted rows' fingerprints and spans, the
clients, projects and tasks it would create), so later rows see them exactly as a real run's
later chunks see the database. Its summary is the real run's, to the row."""

from __future__ import annotations

import hashlib
import itertools
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from common.bulk import copy_rows
from common.exceptions import ServiceError
from common.models import uuid7
from imports import people, selectors
from imports.models import ImportFingerprint, empty_summary
from imports.sources.base import (
    MAX_ENTRY_SECONDS,
    ActivityRow,
    AwBucketRow,
    AwEventRow,
    ClientRow,
    CodingRow,
    EntryRow,
    Item,
    ProjectRow,
    RowError,
    TaskRow,
)
from imports.structure import Structure
from organizations import permissions
from organizations.models import Company, Membership
from tracking.models import Source, TimeEntry
from tracking.services.rules import EARLIEST_ENTRY_TIME, MAX_AHEAD

if TYPE_CHECKING:
    from imports.activity_rows import ActivityWriter

# Error rows kept in the summary; past these only ``error_count`` grows.
MAX_ERRORS_KEPT = 1000
DESCRIPTION_MAX = 1000  # TimeEntry.description


ENTRY_COLUMNS = [
    "id", "created_at", "updated_at", "company", "user", "project", "task", "description", "started_at", "ended_at",
    "duration_seconds", "timezone", "billable", "source", "client_updated_at",
]  # fmt: skip
# An accepted row as written: ENTRY_COLUMNS' values, then its fingerprint. Plain tuples, not
# model instances: building a TimeEntry per row, and reading it back for the COPY, was a fifth
# of a real run's own time.
Accepted = tuple


class TooManyRows(Exception):
    pass


class Cancelled(Exception):
    pass


def fingerprint(source: str, row: EntryRow) -> bytes:
    """16 bytes that name the row for duplicate detection: its source id when it has one (an
    entry edited in the other tool stays one row), else the normalised row itself."""
    if row.source_id:
        text = f"id\x1f{source}\x1f{row.source_id}"
    else:
        text = "\x1f".join(
            [
                row.email.lower(),
                str(int(row.started_at.timestamp())),
                str(int(row.ended_at.timestamp())),
                row.description.strip(),
                (row.project or "").strip().casefold(),
                (row.client or "").strip().casefold(),
                "/".join(t.strip().casefold() for t in row.task_path),
                "1" if row.billable else "0",
                ",".join(sorted(t.strip().casefold() for t in row.tags)),
            ]
        )
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


@dataclass
class Spans:
    """One person's accepted spans, sorted and never overlapping (as the database holds
    them): two parallel lists of epoch seconds, so a million rows cost ~16 MB, not objects."""

    starts: list[float] = field(default_factory=list)
    ends: list[float] = field(default_factory=list)

    def overlap(self, start: float, end: float) -> tuple[float, float] | None:
        """The latest-starting span that overlaps [start, end), or None. Sorted and disjoint:
        the span starting last before ``end`` also ends last, so it is the only one to check
        (the database side, ``selectors.overlapping``, asks the same question)."""
        i = bisect_left(self.starts, end)
        if i > 0 and self.ends[i - 1] > start:
            return self.starts[i - 1], self.ends[i - 1]
        return None

    def add(self, start: float, end: float) -> None:
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.ends.insert(i, end)


@dataclass
class Written:
    """What the rows accepted so far hold that the database does not (yet): for a real run
    the current chunk's, for a dry run the whole file's."""

    fingerprints: set[bytes] = field(default_factory=set)
    spans: dict[UUID, Spans] = field(default_factory=dict)


@dataclass
class Importer:
    """One file's import. ``rows`` comes from a source's parser; ``on_chunk`` is told after each
    chunk (a real run: inside the chunk's transaction, so the job row's progress commits with
    the chunk) and may raise Cancelled."""

    company: Company
    membership: Membership  # the requester's
    source: str
    dry_run: bool
    fields: dict[str, str]
    chunk_rows: int
    max_rows: int
    summary: dict = field(default_factory=empty_summary)
    resume_after: int = 0  # rows up to this one were committed by an earlier attempt
    on_chunk: Callable[[Importer, int], None] | None = None
    job_id: UUID | None = None  # the fingerprints name the job that wrote them
    now: datetime = field(default_factory=timezone.now)
    rows_seen: int = 0
    # Unknown emails become invited members instead of error rows (imports.people.person_invite).
    invite_unknown: bool = False

    def __post_init__(self) -> None:
        self.members: dict[str, UUID] = {
            email.lower(): user_id
            for email, user_id in Membership.objects.filter(company=self.company, is_active=True).values_list(
                "user__email", "user_id"
            )
        }
        self.refused: dict[str, str] = {}  # emails this run could not invite, and why
        if self.invite_unknown:
            # Invited earlier (this job's earlier attempt, or another import): matched, not invited again.
            self.members = {**people.invited_members(self.company), **self.members}
            self.summary["created"].setdefault("members", 0)
            self.summary.setdefault("invited", [])
        self.structure = Structure(self.company, dry_run=self.dry_run, created=self.summary["created"])
        self.written = Written()
        self.locked_before = selectors.locked_before(self.company)

    # ------------------------------------------------------------------ the loop

    def run(self, items: Iterable[Item]) -> dict:
        iterator: Iterator[Item] = iter(items)
        while True:
            chunk = list(itertools.islice(iterator, self.chunk_rows))
            if not chunk:
                break
            self.rows_seen += len(chunk)
            if self.rows_seen > self.max_rows:
                raise TooManyRows(f"The file has more than {self.max_rows} rows (IMPORT_MAX_ROWS).")
            chunk = [item for item in chunk if item.row > self.resume_after]
            if self.dry_run:
                self._chunk(chunk)
            else:
                with transaction.atomic():
                    self._chunk(chunk)
                self.written = Written()  # the database holds them now
        return self.summary

    @cached_property
    def activity(self) -> ActivityWriter:
        from imports.activity_rows import ActivityWriter

        return ActivityWriter(
            company_id=self.company.pk,
            user_id=self.membership.user_id,
            dry_run=self.dry_run,
            summary=self.summary,
            job_id=self.job_id,
            error=self._error,
        )

    def _chunk(self, chunk: list[Item]) -> None:
        candidates: list[tuple[EntryRow, UUID]] = []
        activity: list[ActivityRow] = []  # the single-person activity sources' rows
        for item in chunk:
            if isinstance(item, RowError):
                self._error(item.row, item.field, item.detail)
            elif isinstance(item, ClientRow):
                self.structure.client(item.name)
            elif isinstance(item, AwBucketRow | AwEventRow | CodingRow):
                activity.append(item)
            elif isinstance(item, ProjectRow):
                self.structure.project(
                    item.name, item.client, color=item.color, billable=item.billable, archived=item.archived
                )
            elif isinstance(item, TaskRow):
                project_id = self.structure.project(item.project, None)
                self.structure.task(project_id, item.path, status=item.status, estimate_seconds=item.estimate_seconds)
            else:
                user_id = self._check_row(item)
                if user_id is not None:
                    candidates.append((item, user_id))
        entries = self._accept(candidates)
        if entries and not self.dry_run:
            self._write(entries)
        if activity:
            self.activity.write(activity)
        self.summary["errors"].sort(key=lambda e: e["row"])  # the accepting phase's come after the chunk's others
        if self.on_chunk is not None and chunk:
            self.on_chunk(self, chunk[-1].row)

    def _check_row(self, row: EntryRow) -> UUID | None:
        """The checks of one row alone; the member's id when it passes them."""
        problem = self._problem(row)
        if problem is not None:
            self._error(row.row, self.fields[problem[0]], problem[1])
            return None
        return self.members[row.email.lower()]

    def _problem(self, row: EntryRow) -> tuple[str, str] | None:
        user_id = self.members.get(row.email.lower())
        if user_id is None and self.invite_unknown:
            user_id = self._invite(row.email.lower())
        if user_id is None:
            why = self.refused.get(row.email.lower(), "")
            return "email", f"No member of this company has the email {row.email!r}.{' ' if why else ''}{why}"
        if user_id != self.membership.user_id and not permissions.can_edit_user_entries(self.membership, user_id):
            return "email", "Your role lets you import only your own time."
        if row.started_at < EARLIEST_ENTRY_TIME:
            return "started_at", "Starts before 2000-01-01."
        if row.ended_at > self.now + MAX_AHEAD:
            return "ended_at", "Ends in the future."
        seconds = (row.ended_at - row.started_at).total_seconds()
        if seconds <= 0:
            return "ended_at", "Ends before it starts."
        if seconds > MAX_ENTRY_SECONDS:
            return "duration", "Lasts more than 7 days."
        return None

    def _invite(self, email: str) -> UUID | None:
        """The invited account of an unknown email, or None (why: ``self.refused``)."""
        if email in self.refused:
            return None
        try:
            user_id = people.person_invite(
                company=self.company,
                email=email,
                invited_by=self.membership.user,
                dry_run=self.dry_run,
                adding=self.summary["created"]["members"] + 1,
            )
        except ServiceError as exc:
            self.refused[email] = f"Not invited: {exc.message}"
            return None
        self.members[email] = user_id
        self.summary["created"]["members"] += 1
        if len(self.summary["invited"]) < MAX_ERRORS_KEPT:
            self.summary["invited"].append(email)
        return user_id

    def _accept(self, candidates: list[tuple[EntryRow, UUID]]) -> list[Accepted]:
        """The rows checked against the database and against the rows accepted before them,
        in file order; the entries of those that pass."""
        if not candidates:
            return []
        prints = [fingerprint(self.source, row) for row, _ in candidates]
        known = selectors.known_fingerprints(self.company.pk, prints)
        fresh = [i for i, fp in enumerate(prints) if fp not in known]
        spans = [(candidates[i][1], candidates[i][0].started_at, candidates[i][0].ended_at) for i in fresh]
        existing = dict(zip(fresh, selectors.overlapping(spans), strict=True))
        locked = dict(zip(fresh, selectors.locked(self.company.pk, spans, self.locked_before), strict=True))
        entries: list[Accepted] = []
        created_at = timezone.now()
        for i, ((row, user_id), fp) in enumerate(zip(candidates, prints, strict=True)):
            if fp in known or fp in self.written.fingerprints:
                self.summary["duplicates"] += 1
                continue
            if locked[i]:
                self._error(row.row, self.fields["started_at"], locked[i])
                continue
            start, end = row.started_at.timestamp(), row.ended_at.timestamp()
            mine = self.written.spans.setdefault(user_id, Spans())
            hits = [hit for hit in (existing[i], mine.overlap(start, end)) if hit is not None]
            if hits:
                first = min(hits)
                self._error(
                    row.row, self.fields["started_at"], f"Overlaps another entry of this person, {_span(first)}."
                )
                continue
            self.written.fingerprints.add(fp)
            mine.add(start, end)
            project_id = self.structure.project(row.project, row.client)
            task_id = self.structure.task(project_id, row.task_path) if row.task_path else None
            self.summary["created"]["entries"] += 1
            if self.dry_run:
                continue  # the writer is the only difference: a dry run builds nothing to write
            entries.append(
                (
                    uuid7(), created_at, created_at, self.company.pk, user_id, project_id, task_id,
                    row.description[:DESCRIPTION_MAX], row.started_at, row.ended_at, int(end - start),
                    row.timezone[:64], row.billable, Source.IMPORT.value, created_at, fp,
                )
            )  # fmt: skip
        return entries

    def _write(self, entries: list[Accepted]) -> None:
        """The real run's writer: the entries, their fingerprints and their change-log rows
        (``entry.upserted`` each, recorded quiet: sync clients pull them), in the chunk's
        transaction."""
        from tracking import events

        copy_rows(TimeEntry, ENTRY_COLUMNS, [e[:-1] for e in entries])
        company_id = self.company.pk
        copy_rows(
            ImportFingerprint,
            ["company", "fingerprint", "entry_id", "job_id"],
            [(company_id, e[-1], e[0], self.job_id) for e in entries],
        )
        events.entries_upserted_quietly([e[0] for e in entries])

    def _error(self, row: int, field_name: str, detail: str) -> None:
        self.summary["error_count"] = self.summary.get("error_count", 0) + 1
        if len(self.summary["errors"]) < MAX_ERRORS_KEPT:
            self.summary["errors"].append({"row": row, "field": field_name, "detail": detail})


def _span(span: tuple[float, float]) -> str:
    start = datetime.fromtimestamp(span[0], UTC)
    if span[1] == float("inf"):
        return f"running since {start:%Y-%m-%d %H:%M:%S} UTC"
    return f"{start:%Y-%m-%d %H:%M:%S}..{datetime.fromtimestamp(span[1], UTC):%Y-%m-%d %H:%M:%S} UTC"
