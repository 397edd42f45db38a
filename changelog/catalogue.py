"""Every event Stint publishes, in one place (SPEC "Realtime"): its name, the change-log entity
and action it is recorded as, who receives it, the shape of its ``data`` and one line on what
it means. The sequencer and audiences, the consumers, webhooks and tests read this module; the
domain apps' ``events.py`` build the payloads (they need their serializers, which the change log
must not import) and record them through ``changelog.recording.record(EVENT, ...)``, so no event
name, entity or action is written anywhere else.

A leaf: it imports nothing of the project, so anything may import it. ``python -m
changelog.catalogue`` prints the table that docs/realtime.md carries (a test keeps them equal).

Payload ids are strings (UUIDs), timestamps strings in UTC ending in ``Z``
(``common.representation.utc_iso``, or DRF's output, which is the same)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypedDict, TypeVar


class Audience(StrEnum):
    """Who receives an event; ``changelog.audience`` turns this into channel groups and
    ``sync.selectors`` into the pull's filter."""

    PRIVATE = "private"  # the user's own devices only, whatever the roles of others
    USER_DATA = "user data"  # a member's own data: themselves, company managers, their teams' LEADs
    PROJECT = "project structure"  # company managers, plus the project's teams (or every member)
    PRESENCE = "presence"  # managers of each of the user's companies, and the user's devices


class Action(StrEnum):
    UPSERT = "upsert"
    DELETE = "delete"


# --------------------------------------------------------------------------- payloads


class TimeEntryPayload(TypedDict):
    """``TimeEntrySerializer``'s output (the REST shape)."""

    id: str
    company_id: str
    user_id: str
    project_id: str
    task_id: str | None
    description: str
    started_at: str
    ended_at: str | None
    duration_seconds: int | None
    timezone: str
    billable: bool
    source: str
    created_at: str
    updated_at: str


class DeletedTimeEntryPayload(TimeEntryPayload):
    """The entry as in ``entry.upserted``, plus ``deleted_at``."""

    deleted_at: str


class TaskPayload(TypedDict):
    """``TaskSerializer``'s output."""

    id: str
    project_id: str
    parent_id: str | None
    title: str
    status: str
    position: int
    estimate_seconds: int | None
    billing_type: str
    hourly_rate_cents: int | None
    task_price_cents: int | None
    created_at: str
    updated_at: str


class DeletedTaskPayload(TypedDict):
    id: str
    project_id: str
    deleted_at: str


class ProjectPayload(TypedDict):
    """``ProjectSerializer``'s output, with its computed fields."""

    id: str
    company_id: str
    client_id: str | None
    name: str
    color: str
    billable: bool
    hourly_rate_cents: int | None
    currency: str
    estimate_seconds: int | None
    archived_at: str | None
    team_ids: list[str]
    tracked_seconds: int
    open_task_count: int
    created_at: str
    updated_at: str


class ScreenshotPayload(TypedDict):
    """``ScreenshotSerializer``'s output; no links (they are short-lived: ``GET`` the screenshot)."""

    id: str
    company_id: str
    user_id: str
    time_entry_id: str | None
    captured_at: str
    blur_level: int
    status: str
    error: str
    width: int | None
    height: int | None
    bytes: int | None
    sha256: str
    metadata: dict[str, Any]
    created_at: str
    processed_at: str | None


class ExportPayload(TypedDict):
    """``ExportSerializer``'s output; no link (``GET`` the export for a fresh one)."""

    id: str
    company_id: str
    requested_by_id: str
    report: str
    format: str
    params: dict[str, Any]
    status: str
    error: str
    rows: int | None
    size_bytes: int | None
    created_at: str
    finished_at: str | None
    expires_at: str | None


class ImportProgress(TypedDict):
    done: int
    total: int | None


class ImportPayload(TypedDict):
    """``ImportSerializer``'s output without the summary (progress only)."""

    id: str
    company_id: str
    requested_by_id: str
    source: str
    file_name: str
    dry_run: bool
    invite_unknown: bool
    status: str
    error: str
    progress: ImportProgress
    created_at: str
    started_at: str | None
    finished_at: str | None


class ImportFinishedPayload(ImportPayload):
    """``ImportSerializer``'s output: the job with its summary (created, duplicates, errors)."""

    summary: dict[str, Any]


class PersonRef(TypedDict):
    id: str
    name: str


class PersonWithEmail(PersonRef):
    email: str


class TimesheetPayload(TypedDict):
    """``TimesheetSerializer``'s output (a row of `GET /timesheets`)."""

    id: str | None
    user_id: str
    user: PersonWithEmail
    period_start: str
    period_end: str
    status: str
    total_seconds: int
    billable_seconds: int
    submitted_at: str | None
    decided_at: str | None
    decided_by: PersonRef | None
    comment: str


class SyncAppliedPayload(TypedDict):
    device_id: str
    processed: int
    skipped: int
    conflicts: int


class PresencePayload(TypedDict):
    user_id: str
    online: bool


# --------------------------------------------------------------------------- events

P = TypeVar("P", bound=Mapping[str, Any])


@dataclass(frozen=True)
class Event(Generic[P]):
    name: str
    payload: type[P]
    audience: Audience
    doc: str
    # The change-log row it is recorded as; None: not in the change log (its cursor is null,
    # it is never replayed nor pulled).
    entity: str | None = None
    action: Action | None = None

    @property
    def logged(self) -> bool:
        return self.entity is not None

    def __str__(self) -> str:
        return self.name


TIMER_STARTED = Event(
    "timer.started", TimeEntryPayload, Audience.USER_DATA, "A timer was started: the new running entry.",
    entity="time_entry", action=Action.UPSERT,
)  # fmt: skip
TIMER_STOPPED = Event(
    "timer.stopped", TimeEntryPayload, Audience.USER_DATA, "A running timer was stopped: the entry with its end.",
    entity="time_entry", action=Action.UPSERT,
)  # fmt: skip
ENTRY_UPSERTED = Event(
    "entry.upserted", TimeEntryPayload, Audience.USER_DATA,
    "A time entry was created or edited (by hand, by the API, or in a sync batch).",
    entity="time_entry", action=Action.UPSERT,
)  # fmt: skip
ENTRY_DELETED = Event(
    "entry.deleted", DeletedTimeEntryPayload, Audience.USER_DATA,
    "A time entry was deleted: its last state and `deleted_at`.",
    entity="time_entry", action=Action.DELETE,
)  # fmt: skip
TASK_UPSERTED = Event(
    "task.upserted", TaskPayload, Audience.PROJECT, "A task was created, edited or moved.",
    entity="task", action=Action.UPSERT,
)  # fmt: skip
TASK_DELETED = Event(
    "task.deleted", DeletedTaskPayload, Audience.PROJECT,
    "A task was deleted: one event for it and one for each of its subtasks.",
    entity="task", action=Action.DELETE,
)  # fmt: skip
PROJECT_UPSERTED = Event(
    "project.upserted", ProjectPayload, Audience.PROJECT,
    "A project was created, edited, archived, restored or given other teams.",
    entity="project", action=Action.UPSERT,
)  # fmt: skip
SCREENSHOT_READY = Event(
    "screenshot.ready", ScreenshotPayload, Audience.USER_DATA,
    "An uploaded screenshot was processed (blurred, thumbnailed); fetch its links with GET.",
    entity="screenshot", action=Action.UPSERT,
)  # fmt: skip
REPORT_READY = Event(
    "report.ready", ExportPayload, Audience.PRIVATE,
    "A requested export is ready to download (to its requester only).",
    entity="report_export", action=Action.UPSERT,
)  # fmt: skip
IMPORT_PROGRESS = Event(
    "import.progress", ImportPayload, Audience.PRIVATE,
    "An import moved on (at most about once a second): rows done of the file's rows (to its requester only).",
    entity="import_job", action=Action.UPSERT,
)  # fmt: skip
IMPORT_FINISHED = Event(
    "import.finished", ImportFinishedPayload, Audience.PRIVATE,
    "An import (or dry run) ended READY, FAILED or CANCELLED, with its summary (to its requester only).",
    entity="import_job", action=Action.UPSERT,
)  # fmt: skip
TIMESHEET_SUBMITTED = Event(
    "timesheet.submitted", TimesheetPayload, Audience.USER_DATA,
    "A member's week was submitted for approval (by them, or by an OWNER/ADMIN for them): its entries are locked.",
    entity="timesheet", action=Action.UPSERT,
)  # fmt: skip
TIMESHEET_APPROVED = Event(
    "timesheet.approved", TimesheetPayload, Audience.USER_DATA,
    "A submitted week was approved: its entries stay locked.",
    entity="timesheet", action=Action.UPSERT,
)  # fmt: skip
TIMESHEET_REJECTED = Event(
    "timesheet.rejected", TimesheetPayload, Audience.USER_DATA,
    "A submitted week was rejected with a `comment`: its entries can be edited again.",
    entity="timesheet", action=Action.UPSERT,
)  # fmt: skip
TIMESHEET_REOPENED = Event(
    "timesheet.reopened", TimesheetPayload, Audience.USER_DATA,
    "A week went back to OPEN (taken back by its member, or reopened by an OWNER/ADMIN): its entries are unlocked.",
    entity="timesheet", action=Action.UPSERT,
)  # fmt: skip
SYNC_APPLIED = Event(
    "sync.applied",
    SyncAppliedPayload,
    Audience.PRIVATE,
    "A sync batch was applied; the envelope's cursor is its last change's (one per batch).",
)
PRESENCE_CHANGED = Event(
    "presence.changed", PresencePayload, Audience.PRESENCE,
    "A user's first socket opened (`online: true`) or their last one closed.",
)  # fmt: skip

EVENTS: tuple[Event[Any], ...] = (
    TIMER_STARTED,
    TIMER_STOPPED,
    ENTRY_UPSERTED,
    ENTRY_DELETED,
    TASK_UPSERTED,
    TASK_DELETED,
    PROJECT_UPSERTED,
    SCREENSHOT_READY,
    REPORT_READY,
    IMPORT_PROGRESS,
    IMPORT_FINISHED,
    TIMESHEET_SUBMITTED,
    TIMESHEET_APPROVED,
    TIMESHEET_REJECTED,
    TIMESHEET_REOPENED,
    SYNC_APPLIED,
    PRESENCE_CHANGED,
)
BY_NAME: dict[str, Event[Any]] = {e.name: e for e in EVENTS}

# SPEC names these too; their issues have not landed, so nothing emits them yet.
PLANNED: tuple[str, ...] = ()


def _entity_audiences() -> dict[str, Audience]:
    audiences: dict[str, Audience] = {}
    for event in EVENTS:
        if event.entity is None:
            continue
        if audiences.setdefault(event.entity, event.audience) is not event.audience:
            # Routing and the pull filter go by a row's entity: one entity, one audience.
            raise AssertionError(f"{event.entity}: {event.name} disagrees with its entity's other events")
    return audiences


ENTITY_AUDIENCE: dict[str, Audience] = _entity_audiences()


def entities(audience: Audience) -> frozenset[str]:
    """The change-log entities an audience receives (``changelog.audience`` routes by them)."""
    return frozenset(entity for entity, kind in ENTITY_AUDIENCE.items() if kind is audience)


def get(name: str) -> Event[Any]:
    """The event called ``name``; ``KeyError`` for a name the catalogue does not know."""
    return BY_NAME[name]


def _data(payload: type) -> str:
    """A payload's docstring's first line, or its keys for one without."""
    if payload.__doc__:
        return payload.__doc__.strip().splitlines()[0].replace("``", "`")
    return "`{" + ", ".join(payload.__annotations__) + "}`"


def markdown_table() -> str:
    """The events as the Markdown table in docs/realtime.md."""
    rows = [
        "| Event | Change log (entity, action) | Audience | `data` | Meaning |",
        "|---|---|---|---|---|",
    ]
    for e in EVENTS:
        logged = f"`{e.entity}`, `{e.action}`" if e.logged else "not in the log"
        rows.append(f"| `{e.name}` | {logged} | {e.audience} | {_data(e.payload)} | {e.doc} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(markdown_table(), end="")
