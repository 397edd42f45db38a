"""TimeTagger records JSON: the importer's entries, keys as source ids, HIDDEN skipped."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from imports.sources import timetagger
from imports.sources.base import ParseOptions, RowError
from imports.tests.sources.support import BERLIN, by_row, entries, errors, parse_fixture


def test_keys_are_source_ids_and_deleted_records_are_skipped():  # totals and error rows: test_cases.py
    items = parse_fixture(timetagger.parse, "timetagger_records.json", importer_email="Me@Example.com")
    assert {entry.email for entry in entries(items)} == {"me@example.com"}
    assert [entry.source_id for entry in entries(items)] == ["a1", "a6", "a8"]
    assert 2 not in {item.row for item in items}
    details = {item.row: item.detail for item in items if isinstance(item, RowError)}
    assert "running" in details[3]
    assert "ends before it starts" in details[4]


def test_record_values_map_to_entry_fields():
    rows = by_row(parse_fixture(timetagger.parse, "timetagger_records.json", importer_email="me@example.com"))
    first = rows[1]
    assert first.description == "#design Wireframes für das Café #web"
    assert first.tags == ("design", "web")
    assert first.project is None
    assert first.timezone == "Europe/Berlin"
    assert (first.started_at, first.ended_at) == (
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
    )
    assert rows[8].started_at == datetime(2026, 3, 6, 13, 15, tzinfo=UTC)  # fractional seconds rounded


def test_a_bare_list_of_records_reads_the_same():
    records = [{"key": "k", "t1": 1772438400, "t2": 1772442000, "ds": "x", "mt": 0, "st": 0}]
    stream = io.BytesIO(json.dumps(records).encode())
    [entry] = list(timetagger.parse(stream, ParseOptions(timezone=BERLIN, importer_email="me@example.com")))
    assert (entry.row, entry.source_id) == (1, "k")


def test_truncated_json_ends_with_an_error_row_after_the_good_records():
    whole = json.dumps({"records": [{"key": str(n), "t1": n * 7200, "t2": n * 7200 + 3600} for n in range(1, 4)]})
    stream = io.BytesIO(whole[: whole.rindex('"t2"')].encode())
    items = list(timetagger.parse(stream, ParseOptions(timezone=BERLIN, importer_email="me@example.com")))
    assert [item.row for item in items] == [1, 2, 3]
    assert isinstance(items[-1], RowError)
    assert "JSON" in items[-1].detail


def test_a_file_that_is_not_timetagger_records_says_so():
    stream = io.BytesIO(json.dumps({"format": "stint_json", "entries": [{"id": "x"}]}).encode())
    assert errors(timetagger.parse(stream, ParseOptions(timezone=BERLIN))) == [(1, "records")]
    empty = io.BytesIO(b'{"records": []}')
    assert list(timetagger.parse(empty, ParseOptions(timezone=BERLIN))) == []
