"""Reads of tasks, time entries and timesheets, always scoped by the caller's memberships:
``tracked`` (what counts as tracked time: live entries and their seconds), ``entries`` (the
entry list, running and paused timers), ``tasks`` (the task list and tree), ``projects`` (the
project list's statistics), ``timesheets`` (the sheet list in one query; the weeks' statuses
reports carry). The views, services, events and reports import them from here."""

from __future__ import annotations

from tracking.selectors.entries import EntryFilters, current_entry, paused_entries, time_entry_list
from tracking.selectors.projects import project_stats_annotations
from tracking.selectors.tasks import TaskNode, subtree_ids, task_list, task_tree
from tracking.selectors.timesheets import (
    TimesheetFilters,
    TimesheetKey,
    TimesheetPage,
    approval_status_of,
    approval_statuses,
    readable_timesheets,
    timesheet_list,
    timesheet_row,
)
from tracking.selectors.tracked import entry_seconds, live_entries

__all__ = [
    "EntryFilters",
    "TaskNode",
    "TimesheetFilters",
    "TimesheetKey",
    "TimesheetPage",
    "approval_status_of",
    "approval_statuses",
    "current_entry",
    "entry_seconds",
    "live_entries",
    "paused_entries",
    "project_stats_annotations",
    "readable_timesheets",
    "subtree_ids",
    "task_list",
    "task_tree",
    "time_entry_list",
    "timesheet_list",
    "timesheet_row",
]
