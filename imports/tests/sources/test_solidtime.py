"""solidtime's generic time entries CSV."""

from __future__ import annotations

from datetime import UTC, datetime

from imports.sources import solidtime
from imports.sources.base import RowError
from imports.tests.sources.support import by_row, parse_fixture


def test_error_details_name_the_problem():  # totals and error rows: test_cases.py
    items = parse_fixture(solidtime.parse, "solidtime_time_entries.csv")
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
