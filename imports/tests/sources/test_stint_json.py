"""Stint's own full export read back: projects and tasks first, entries with their ids."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from imports.sources import stint_json
from imports.sources.base import ClientRow, ParseOptions, ProjectRow, TaskRow
from imports.tests.sources.support import BERLIN, by_row, errors, parse_fixture


def test_projects_and_tasks_come_first():  # totals and error rows: test_cases.py
    items = parse_fixture(stint_json.parse, "stint_full.json")
    assert [item for item in items if isinstance(item, ProjectRow)] == [
        ProjectRow(row=4, name="Website", client="Acme GmbH", color="#e11d48", billable=True, archived=False),
        ProjectRow(row=5, name="Intern", client=None, color="#64748b", billable=False, archived=True),
    ]
    assert [item for item in items if isinstance(item, TaskRow)] == [
        TaskRow(row=6, project="Website", path=("Design",), status="IN_PROGRESS", estimate_seconds=None),
        TaskRow(row=7, project="Website", path=("Design", "Logo"), status="DONE", estimate_seconds=3600),
    ]
    assert [item for item in items if isinstance(item, ClientRow)] == [ClientRow(row=3, name="Acme GmbH")]
    structure = ClientRow | ProjectRow | TaskRow
    first_entry = min(item.row for item in items if not isinstance(item, structure))
    assert max(item.row for item in items if isinstance(item, structure)) < first_entry


def test_entry_values_map_to_entry_fields():
    rows = by_row(parse_fixture(stint_json.parse, "stint_full.json"))
    assert rows[8].source_id == "0190e000-0000-7000-8000-000000000001"
    assert (rows[8].project, rows[8].client, rows[8].task_path, rows[8].billable) == (
        "Website",
        "Acme GmbH",
        ("Design", "Logo"),
        True,
    )
    assert rows[8].started_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    assert rows[9].email == "bob@example.com"
    assert (rows[12].project, rows[12].timezone) == (None, "Asia/Tokyo")
    assert rows[12].description == "Ohne Projekt – ünïcode 東京"


def test_another_format_or_version_is_refused():
    refused = (({"format": "toggl", "version": 1}, "format"), ({"format": "stint_json", "version": 9}, "version"))
    for doc, field in refused:
        stream = io.BytesIO(json.dumps({**doc, "entries": []}).encode())
        assert errors(stint_json.parse(stream, ParseOptions(timezone=BERLIN))) == [(1, field)]


def test_a_file_that_is_not_a_stint_export_is_one_error_row():
    for doc in ({"records": [{"key": "a", "t1": 1, "t2": 2}]}, {"entries": [{"id": "x"}], "format": "stint_json"}, []):
        stream = io.BytesIO(json.dumps(doc).encode())
        assert errors(stint_json.parse(stream, ParseOptions(timezone=BERLIN))) == [(1, "format")]
