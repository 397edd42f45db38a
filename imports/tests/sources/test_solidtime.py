"""solidtime's generic time entries CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from imports.sources import solidtime
from imports.sources.base import RowError
from imports.tests.sources.support import by_row, errors, parse_fixture, seconds_by_person


def test_totals_per_person_and_error_rows():
    items = parse_fixture(solidtime.parse, "solidtime_time_entries.csv")
    # anna 2:30 + 0:20; bob 4:00 + 0:45; chloe 3:00 (01:30 CEST to 03:30 CET) + 1:00.
    assert seconds_by_person(items) == {
        "anna@example.com": 9000 + 1200,
        "bob@example.com": 14400 + 2700,
        "chloe@example.com": 10800 + 3600,
    }
    assert errors(items) == [(6, "start"), (7, "end"), (8, "billable")]
    details = {item.row: item.detail for item in items if isinstance(item, RowError)}
    assert "ends before it starts" in details[7]  # solidtime#461's -2000 h entry


def test_row_values_map_to_entry_fields():
    rows = by_row(parse_fixture(solidtime.parse, "solidtime_time_entries.csv"))
    assert rows[2].tags == ("design", "web")
    assert (rows[2].client, rows[2].project, rows[2].task_path, rows[2].billable) == (
        "Acme GmbH",
        "Website",
        ("Design",),
        True,
    )
    assert (rows[3].client, rows[3].project, rows[3].billable) == (None, "Internal", False)
    assert rows[9].project is None
    assert rows[10].description == "日本語のレビュー"
    # A time without an offset is local (Europe/Berlin); the ambiguous 01:30 is its first time.
    assert (rows[5].started_at, rows[5].ended_at) == (
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, tzinfo=UTC),
    )
    assert rows[10].started_at == datetime(2026, 3, 5, 8, 0, tzinfo=UTC)
