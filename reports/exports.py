"""Writing an export file: rows streamed from PostgreSQL in chunks into CSV or XLSX, on disk
first (bounded memory, whatever the row count), then into the default storage.

CSV is UTF-8 with a byte-order mark, which is what makes Excel read non-ASCII text (names,
descriptions) correctly; XLSX is written with openpyxl's write-only mode, which streams rows
to the file instead of holding a workbook in memory.

Every cell goes through ``csv_cell`` or ``xlsx_cell`` (SPEC, Operations): user text that a
spreadsheet would run as a formula is written as text, in both formats."""

from __future__ import annotations

import csv
import json
import tempfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import IO, TYPE_CHECKING, TextIO
from uuid import UUID
from zoneinfo import ZoneInfo

from django.contrib.postgres.aggregates import ArrayAgg
from django.core.files import File
from django.core.files.storage import default_storage
from django.db.models import Min, QuerySet
from django.utils import timezone

from organizations import permissions
from organizations.models import Client, Company, Membership, Project
from reports.models import ExportFormat, ExportReport, ReportExport
from reports.selectors import team as team_report
from reports.selectors.days import local_day_bounds
from tracking.models import Task, TimeEntry, TimesheetStatus
from tracking.selectors import approval_status_of, approval_statuses
from tracking.weeks import week_containing

if TYPE_CHECKING:
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

CHUNK = 2000

ENTRY_COLUMNS = [
    "date", "started_at", "ended_at", "duration_seconds", "user_email", "user_name", "project", "task",
    "description", "billable", "timezone", "approval_status",
]  # fmt: skip
TEAM_COLUMNS = [
    "user_email", "user_name", "tracked_seconds", "billable_seconds", "amount_cents", "currency", "activity_percent",
    "approval_status",
]  # fmt: skip


# What makes a spreadsheet treat a cell as a formula (OWASP "CSV Injection"): Excel, LibreOffice
# and Google Sheets evaluate a cell starting with any of these, and tab or carriage return can
# hide one after leading whitespace.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(value: object) -> bool:
    """Whether a cell is user text a spreadsheet would run. Only strings: a genuine number
    (a negative amount) is written as a number and stays one."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)


def csv_cell(value: object) -> object:
    """A CSV cell: formula-like text gets OWASP's leading single quote, which every
    spreadsheet reads as "this is text" (csv.writer quotes the cell where needed)."""
    return f"'{value}" if formula_like(value) else value


def xlsx_cell(sheet: WriteOnlyWorksheet, value: object) -> object:
    """An XLSX cell: text is stored as a string cell (``t="inlineStr"``). openpyxl otherwise
    stores a string starting with ``=`` as a live formula; the text keeps its exact value."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell


def _bounds(export: ReportExport) -> tuple[datetime, datetime, ZoneInfo]:
    tz = ZoneInfo(export.params["tz"])
    first, last = date.fromisoformat(export.params["from"]), date.fromisoformat(export.params["to"])
    return local_day_bounds(first, tz)[0], local_day_bounds(last, tz)[1], tz


def entry_rows(export: ReportExport, membership: Membership) -> Iterator[list]:
    """The entries the requester may read in the range, oldest first, a chunk at a time."""
    lo, hi, tz = _bounds(export)
    entries = TimeEntry.objects.filter(
        permissions.readable_users_q(membership),
        company_id=export.company_id,
        deleted_at__isnull=True,
        started_at__lt=hi,
        ended_at__gt=lo,
    )
    filters = export.filters
    if filters.user is not None:
        entries = entries.filter(user_id=filters.user)
    if filters.project is not None:
        entries = entries.filter(project_id=filters.project)
    status_of = _entry_statuses(export, entries)
    columns = entries.order_by("started_at", "id").values_list(
        "started_at", "ended_at", "duration_seconds", "user__email", "user__name", "project__name", "task__title",
        "description", "billable", "timezone", "user_id", "user__timezone",
    )  # fmt: skip
    for (
        started, ended, seconds, email, name, project, task, description, billable, zone, user_id, user_zone,
    ) in columns.iterator(CHUNK):  # fmt: skip
        local = started.astimezone(tz)
        until = ended.astimezone(tz)  # type: ignore[union-attr]  # ended_at__gt above: never a running entry
        yield [
            local.date().isoformat(), local.isoformat(), until.isoformat(), seconds, email, name,
            project, task or "", description, billable, zone, status_of(user_id, started, user_zone),
        ]  # fmt: skip


def _entry_statuses(export: ReportExport, entries: QuerySet[TimeEntry]) -> Callable[[UUID, datetime, str], str]:
    """``status_of(user_id, started_at, user_timezone)``: the approval status of the member's
    timesheet week (their local day, the company's week_start) in which an entry starts; an
    entry across the week's last midnight is counted in the week it started in. Two queries
    for the whole export (the users and earliest start, then their sheets), none per row."""
    found = entries.aggregate(users=ArrayAgg("user_id", distinct=True), first=Min("started_at"))
    if not found["users"]:
        return lambda user_id, started, zone: TimesheetStatus.OPEN
    week_start = Company.objects.values_list("week_start", flat=True).get(pk=export.company_id)
    last = date.fromisoformat(export.params["to"]) + timedelta(days=2)  # zones east of the export's
    statuses = approval_statuses(
        company_id=export.company_id,
        user_ids=found["users"],
        first=found["first"].date() - timedelta(days=1),  # a zone west of UTC
        last=last,
    )

    @lru_cache(maxsize=4096)
    def week_of(day: date, zone: str) -> date:
        return week_containing(day, week_start=week_start, timezone=zone).period_start

    def status_of(user_id: UUID, started: datetime, zone: str) -> str:
        start = week_of(started.astimezone(ZoneInfo(zone)).date(), zone)
        return approval_status_of(statuses, user_id=user_id, period_start=start)

    return status_of


def team_rows(export: ReportExport, membership: Membership) -> Iterator[list]:
    """The team report's rows for every member the requester may see, a page at a time."""
    lo, hi, _ = _bounds(export)
    members = list(
        team_report.team_members(membership=membership, team_id=export.filters.team).order_by("user__name", "id")
    )
    now = timezone.now()
    week_start = membership.company.week_start
    for start in range(0, len(members), 200):
        for row in team_report.team_rows(
            company_id=export.company_id,
            members=members[start : start + 200],
            lo=lo,
            hi=hi,
            now=now,
            week_start=week_start,
        ):
            user = row["user"]
            yield [
                user["email"], user["name"], row["tracked_seconds"], row["billable_seconds"], row["amount_cents"],
                row["currency"] or "", row["activity_percent"] if row["activity_percent"] is not None else "",
                row["approval_status"],
            ]  # fmt: skip


def write(export: ReportExport, membership: Membership) -> tuple[str, int, int]:
    """Build the file and store it; returns (storage key, bytes, rows)."""
    if export.report == ExportReport.FULL:
        with tempfile.TemporaryFile() as raw:
            with open(raw.fileno(), "w", encoding="utf-8", closefd=False) as text:
                count = write_full(text, export, membership)
            raw.seek(0)
            return (*_store(export, raw), count)
    columns, rows = (
        (ENTRY_COLUMNS, entry_rows(export, membership))
        if export.report == ExportReport.TIME_ENTRIES
        else (TEAM_COLUMNS, team_rows(export, membership))
    )
    count = 0
    with tempfile.TemporaryFile() as raw:
        if export.format == ExportFormat.CSV:
            with open(raw.fileno(), "w", encoding="utf-8-sig", newline="", closefd=False) as text:
                writer = csv.writer(text)
                writer.writerow(columns)
                for row in rows:
                    writer.writerow([csv_cell(value) for value in row])
                    count += 1
        else:
            from openpyxl import Workbook

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet(export.report)
            sheet.append(columns)
            for row in rows:
                sheet.append([xlsx_cell(sheet, value) for value in row])
                count += 1
            workbook.save(raw)
        raw.seek(0)
        return (*_store(export, raw), count)


def _store(export: ReportExport, raw: IO[bytes]) -> tuple[str, int]:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    key = default_storage.save(
        f"exports/{export.company_id}/{export.requested_by_id}/{export.pk}/{export.report}-{stamp}.{export.format}",
        File(raw),
    )
    return key, default_storage.size(key)


# --------------------------------------------------------------------------- the full export

FULL_FORMAT = "stint_json"  # imports/sources/stint_json.py reads it back
FULL_VERSION = 1


def write_full(out: TextIO, export: ReportExport, membership: Membership) -> int:
    """The company as ``stint_json`` (docs/reports.md), as far as the requester may read it:
    managers everything; others the projects they see and the entries of the people whose
    data they read (organizations.permissions, the same rules as every report). Written an
    item per line, lists in the order an import needs them (projects before the tasks that
    name them, parents before children, then entries, oldest first, a chunk at a time).
    Returns the number of entries."""
    company = Company.objects.get(pk=export.company_id)
    exported_at = timezone.now().isoformat()
    out.write(f'{{"format": "{FULL_FORMAT}", "version": {FULL_VERSION}, "exported_at": "{exported_at}",\n')
    out.write(' "company": ' + _json({"name": company.name, "timezone": company.timezone}) + ",\n")
    _write_list(out, "members", _full_members(membership))
    projects = Project.objects.filter(permissions.visible_projects_q(membership))
    _write_list(out, "clients", _full_clients(membership, projects))
    _write_list(out, "projects", _full_projects(projects))
    paths = _task_paths(export.company_id)
    _write_list(out, "tasks", _full_tasks(projects, paths))
    count = _write_list(out, "entries", _full_entries(export, membership, paths), last=True)
    out.write("}\n")
    return count


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def _write_list(out: TextIO, name: str, items: Iterator[dict], *, last: bool = False) -> int:
    out.write(f' "{name}": [')
    count = 0
    for item in items:
        out.write(("," if count else "") + "\n  " + _json(item))
        count += 1
    out.write(("\n ]" if count else "]") + ("\n" if last else ",\n"))
    return count


def _full_members(membership: Membership) -> Iterator[dict]:
    members = Membership.objects.filter(permissions.readable_users_q(membership)).select_related("user")
    for member in members.order_by("user__email").iterator(CHUNK):
        yield {
            "email": member.user.email.lower(),
            "name": member.user.name,
            "role": member.role,
            "timezone": member.user.timezone,
            "active": member.is_active,
        }


def _full_clients(membership: Membership, projects: QuerySet[Project]) -> Iterator[dict]:
    clients = Client.objects.filter(company_id=membership.company_id)
    if not permissions.can_manage_projects(membership):  # a client with no project they see is not theirs to read
        clients = clients.filter(pk__in=projects.values("client_id"))
    for name in clients.order_by("name").values_list("name", flat=True).iterator(CHUNK):
        yield {"name": name}


def _full_projects(projects: QuerySet[Project]) -> Iterator[dict]:
    rows = projects.order_by("name", "id").values_list("name", "client__name", "color", "billable", "archived_at")
    for name, client, color, billable, archived_at in rows.iterator(CHUNK):
        archived = archived_at is not None
        yield {"name": name, "client": client, "color": color, "billable": billable, "archived": archived}


def _task_paths(company_id: UUID) -> dict[UUID, tuple[str, ...]]:
    """Every task's titles from its top-level task down, by id (one query; a company's tasks
    are thousands, not millions)."""
    parent_and_title = {
        pk: (parent, title)
        for pk, parent, title in Task.objects.filter(company_id=company_id).values_list("id", "parent_id", "title")
    }
    paths: dict[UUID, tuple[str, ...]] = {}

    def path(pk: UUID) -> tuple[str, ...]:
        if pk not in paths:
            parent, title = parent_and_title[pk]
            paths[pk] = (title,)  # first, so that a (corrupt) cycle ends here
            paths[pk] = (*(path(parent) if parent in parent_and_title else ()), title)
        return paths[pk]

    for pk in parent_and_title:
        path(pk)
    return paths


def _full_tasks(projects: QuerySet[Project], paths: dict[UUID, tuple[str, ...]]) -> Iterator[dict]:
    rows = Task.objects.filter(project__in=projects).values_list(
        "id", "project__name", "project_id", "status", "estimate_seconds", "position"
    )
    # Parents before children: a path is written after every path it extends.
    ordered = sorted(rows, key=lambda row: (len(paths[row[0]]), row[1], str(row[2]), row[5], paths[row[0]]))
    for pk, project, _, status, estimate, _ in ordered:
        yield {"project": project, "path": list(paths[pk]), "status": status, "estimate_seconds": estimate}


def _full_entries(export: ReportExport, membership: Membership, paths: dict[UUID, tuple[str, ...]]) -> Iterator[dict]:
    entries = TimeEntry.objects.filter(
        permissions.readable_users_q(membership),
        deleted_at__isnull=True,
        ended_at__isnull=False,  # a running timer is not an entry yet
    )
    if export.params.get("from") and export.params.get("to"):
        lo, hi, _ = _bounds(export)
        entries = entries.filter(started_at__gte=lo, started_at__lt=hi)
    rows = entries.order_by("started_at", "id").values_list(
        "id", "user__email", "project__client__name", "project__name", "task_id", "description", "started_at",
        "ended_at", "timezone", "billable", "source",
    )  # fmt: skip
    for pk, email, client, project, task_id, description, started, ended, zone, billable, source in rows.iterator(
        CHUNK
    ):
        yield {
            "id": str(pk),
            "email": email.lower(),
            "client": client,
            "project": project,
            "task_path": list(paths.get(task_id, ())) if task_id else [],
            "description": description,
            "started_at": started.isoformat(),
            "ended_at": ended.isoformat(),  # type: ignore[union-attr]  # ended_at__isnull=False above
            "timezone": zone,
            "billable": billable,
            "source": source,
        }


def expiry() -> datetime:
    from django.conf import settings

    return timezone.now() + timedelta(days=settings.EXPORT_RETENTION_DAYS)
