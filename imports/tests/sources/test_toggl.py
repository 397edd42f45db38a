"""Toggl Track's detailed CSV, read row by row: times in the exporter's zone across both DST
changes, tags, a bad date and an absurd duration as error rows naming their column."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from imports.sources import parser_for
from imports.sources.base import EntryRow, ParseOptions, RowError

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "toggl_detailed.csv"
BERLIN = ParseOptions(timezone=ZoneInfo("Europe/Berlin"))


def parse(data: bytes, options: ParseOptions = BERLIN) -> list:
    return list(parser_for("toggl_csv")(io.BytesIO(data), options))


def test_the_fixture_reads_as_toggl_wrote_it():
    items = parse(FIXTURE.read_bytes())
    entries = [i for i in items if isinstance(i, EntryRow)]
    errors = [i for i in items if isinstance(i, RowError)]
    assert [e.row for e in entries] == [2, 3, 4, 5, 7, 8, 9, 10, 12]
    assert [(e.row, e.field) for e in errors] == [(6, "Start date"), (11, "Duration")]
    first = entries[0]
    assert (first.email, first.client, first.project, first.task_path) == (
        "ana@example.com",
        "Acme",
        "Website",
        ("Design",),
    )
    assert first.started_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert first.ended_at == datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
    assert (first.billable, first.tags, first.timezone) == (True, ("design", "client"), "Europe/Berlin")
    tagless = entries[1]
    assert (tagless.tags, tagless.billable, tagless.task_path) == ((), False, ())
    no_project = next(e for e in entries if e.row == 9)
    assert (no_project.project, no_project.client) == (None, None)
    assert (
        sum(int((e.ended_at - e.started_at).total_seconds()) for e in entries)
        == 5400 + 900 + 1800 + 3600 + 5400 + 3600 + 3600 + 3600 + 2700
    )


def test_dst_the_duration_is_the_time_tracked_not_the_wall_clock_difference():
    entries = {e.row: e for e in parse(FIXTURE.read_bytes()) if isinstance(e, EntryRow)}
    forward = entries[5]  # 01:30 CET on the night clocks jump 02:00 -> 03:00: 03:30 on the wall is one hour later
    assert (forward.started_at, forward.ended_at) == (
        datetime(2026, 3, 29, 0, 30, tzinfo=UTC),
        datetime(2026, 3, 29, 1, 30, tzinfo=UTC),
    )
    back = entries[12]  # 02:30 happens twice when clocks go back: the first one (CEST)
    assert (back.started_at, back.ended_at) == (
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 15, tzinfo=UTC),
    )


def test_a_file_that_is_not_a_toggl_export_is_one_error_on_the_header():
    items = parse(b"Date,Hours\n2026-01-01,3\n")
    assert [(i.row, i.field) for i in items] == [(1, "Email")]
    assert isinstance(items[0], RowError)


def test_end_date_and_time_serve_when_duration_is_empty():
    header = (
        b"User,Email,Client,Project,Task,Description,Billable,"
        b"Start date,Start time,End date,End time,Duration,Tags,Amount (USD)\n"
    )
    row = b"A,a@x.co,,P,,d,No,2026-01-05,23:30:00,2026-01-06,00:30:00,,,\n"
    (entry,) = parse(header + row, ParseOptions(timezone=ZoneInfo("UTC")))
    assert (entry.started_at, entry.ended_at) == (
        datetime(2026, 1, 5, 23, 30, tzinfo=UTC),
        datetime(2026, 1, 6, 0, 30, tzinfo=UTC),
    )
    zero = b"A,a@x.co,,P,,d,No,2026-01-05,10:00:00,2026-01-05,10:00:00,00:00:00,,\n"
    (error,) = parse(header + zero)
    assert (error.row, error.field) == (2, "Duration")
