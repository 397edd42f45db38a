"""Every write of tasks and time entries. The REST API, the sync batch, the admin and
seed_demo all come through here (``from tracking import services``), so the rules live once:
``rules`` (what every entry write checks), ``entries`` (timers and entries), ``tasks`` (the
task tree), ``timesheets`` (submit, approve, reject, reopen; the ``locked_until`` guard)."""

from __future__ import annotations

from tracking.services.entries import (
    EDITABLE,
    build_entry,
    entries_create_bulk,
    entry_create,
    entry_delete,
    entry_update,
    timer_pause,
    timer_resume,
    timer_start,
    timer_stop,
)
from tracking.services.entry_fields import EntryData, entry_data
from tracking.services.rules import (
    EARLIEST_ENTRY_TIME,
    ENDS_BEFORE_START,
    MAX_AHEAD,
    MAX_ENTRY_DURATION,
    EntryConflict,
    overlapping_entries,
    resolve_project,
)
from tracking.services.tasks import (
    TASK_FIELDS,
    TaskData,
    descendant_ids,
    task_create,
    task_data,
    task_delete,
    task_set_status,
    task_update,
)
from tracking.services.timesheets import (
    company_lock_guard,
    timesheet_approve,
    timesheet_reject,
    timesheet_reopen,
    timesheet_submit,
    week_totals,
)

__all__ = [
    "EARLIEST_ENTRY_TIME",
    "EDITABLE",
    "ENDS_BEFORE_START",
    "MAX_AHEAD",
    "MAX_ENTRY_DURATION",
    "TASK_FIELDS",
    "EntryConflict",
    "EntryData",
    "TaskData",
    "build_entry",
    "company_lock_guard",
    "descendant_ids",
    "entries_create_bulk",
    "entry_create",
    "entry_data",
    "entry_delete",
    "entry_update",
    "overlapping_entries",
    "resolve_project",
    "task_create",
    "task_data",
    "task_delete",
    "task_set_status",
    "task_update",
    "timer_pause",
    "timer_resume",
    "timer_start",
    "timer_stop",
    "timesheet_approve",
    "timesheet_reject",
    "timesheet_reopen",
    "timesheet_submit",
    "week_totals",
]
