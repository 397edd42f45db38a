"""What every import source yields (SPEC "Imports", docs/imports.md).

A source is a function ``parse(stream, options) -> Iterator[Item]``: it reads the uploaded
file as a binary stream, a row at a time (never the whole file), and yields one item per row
in file order. A row it cannot read is a ``RowError`` naming the row and the field, and the
parse goes on with the next row: one bad row never stops an import. Sources know nothing of
the database: matching people, creating clients/projects/tasks, fingerprints, overlaps and
locked periods are the pipeline's (imports/pipeline.py), the same for every source.

Row numbers are what the user sees: a CSV's header is row 1 and its first data row is row 2
(as a spreadsheet shows them); a JSON file's items are numbered from 1 in file order."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from activity.activitywatch.events import Event
    from activity.activitywatch.services import BucketSpec
    from activity.coding import CodingItem


@dataclass(frozen=True, slots=True, kw_only=True)
class ParseOptions:
    # The zone of times written without an offset (Toggl, Clockify, Harvest and solidtime
    # exports are in the exporting profile's zone): the request's ``timezone``, else the
    # importing user's.
    timezone: ZoneInfo
    # Clockify's profile date format as the request names it ("MM/DD/YYYY", "DD/MM/YYYY",
    # "YYYY-MM-DD", "DD.MM.YYYY", ...); None: detect it when the file's dates are unambiguous.
    date_format: str | None = None
    # The importing user's email: the person of single-person sources (TimeTagger,
    # ActivityWatch, WakaTime), whose files name nobody.
    importer_email: str = ""
    # The importing company's active members by full name (``person_key``) -> email, None
    # for a name two members share: for files that name people but give no email (Harvest).
    emails_by_name: Mapping[str, str | None] = field(default_factory=dict)


def person_key(name: str) -> str:
    """A person's full name as names are compared: NFC, case-folded, single spaces."""
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


@dataclass(frozen=True, slots=True, kw_only=True)
class EntryRow:
    """One finished time entry."""

    row: int
    email: str  # lower-cased; the member it belongs to
    started_at: datetime  # timezone-aware
    ended_at: datetime  # timezone-aware, after started_at (a source never yields an empty or negative one)
    timezone: str = "UTC"  # IANA name the entry was tracked in (reports use it for local days)
    description: str = ""
    client: str | None = None
    project: str | None = None  # None: the pipeline's "No project" project
    task_path: tuple[str, ...] = ()  # task titles from the project's top-level task down to the entry's task
    billable: bool = False
    tags: tuple[str, ...] = ()  # Stint has no tags: kept in the fingerprint, listed as lost in docs/imports.md
    # The source's own id of the entry when it has one (TimeTagger's key, stint_json's id):
    # the fingerprint then follows it, so an entry edited in the other tool is still one row.
    source_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientRow:
    """A client as a full export describes it (stint_json): created when missing, so that a
    client with no project survives the round trip too."""

    row: int
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ProjectRow:
    """A project as a full export describes it (stint_json): created with these attributes
    when missing, so that a project with no entries survives the round trip too."""

    row: int
    name: str
    client: str | None = None
    color: str | None = None
    billable: bool | None = None
    archived: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TaskRow:
    """A task as a full export describes it (stint_json), parents before children."""

    row: int
    project: str
    path: tuple[str, ...]  # titles from the top-level task down to this one
    status: str | None = None
    estimate_seconds: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RowError:
    row: int
    field: str  # the column or key the user would look at ("Start date", "t1", ...); "" for the whole row
    detail: str  # what is wrong, in words, with the value when it is short


@dataclass(frozen=True, slots=True, kw_only=True)
class AwBucketRow:
    """An ActivityWatch bucket (activitywatch_json), before its events: created for the
    importing user when missing, kept as it is when they have it already (aw-server's rule)."""

    row: int
    spec: BucketSpec  # what aw-server's bucket creation takes

    @property
    def bucket_id(self) -> str:
        return self.spec.bucket_id


@dataclass(frozen=True, slots=True, kw_only=True)
class AwEventRow:
    """One event of the bucket ``bucket_id``, read by the live intake's rules (aw-core's schema)."""

    row: int
    bucket_id: str
    event: Event


@dataclass(frozen=True, slots=True, kw_only=True)
class CodingRow:
    """One WakaTime heartbeat (wakatime_json), read by the live intake's rules."""

    row: int
    item: CodingItem
    machine: str  # the device it was sent from


# The rows that become the importing user's activity (imports/activity_rows.py), not entries.
ActivityRow = AwBucketRow | AwEventRow | CodingRow
Item = EntryRow | ClientRow | ProjectRow | TaskRow | RowError | AwBucketRow | AwEventRow | CodingRow
Parser = Callable[[BinaryIO, ParseOptions], Iterator[Item]]

# Longest entry a source accepts; longer is an absurd duration (solidtime#461's -2000 h
# entries, a timer left running for weeks): a RowError on the duration's field.
MAX_ENTRY_SECONDS = 7 * 24 * 3600
