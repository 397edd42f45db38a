"""Clockify's detailed CSV: exact totals, date formats, 12-hour times, DST, error rows."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time

import pytest

from imports.sources import clockify
from imports.sources.base import ParseOptions, RowError
from imports.sources.values import BadValue, parse_time
from imports.tests.sources.support import BERLIN, by_row, entries, errors, parse_fixture


def test_one_item_per_data_row_in_file_order():  # totals and error rows: test_cases.py
    items = parse_fixture(clockify.parse, "clockify_detailed.csv")
    assert [item.row for item in items] == list(range(2, 13))


def test_row_values_map_to_entry_fields():
    rows = by_row(parse_fixture(clockify.parse, "clockify_detailed.csv"))
    first = rows[2]
    assert (first.client, first.project, first.task_path, first.billable) == ("Acme GmbH", "Website", ("Design",), True)
    assert first.tags == ("design", "web")
    assert first.timezone == "Europe/Berlin"
    assert first.started_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # 09:00 CET
    assert rows[3].email == "anna@example.com"  # lower-cased
    assert rows[3].description == "Café menu – Überarbeitung"
    assert (rows[4].client, rows[4].project, rows[4].task_path, rows[4].billable) == (None, "Internal", (), False)
    assert rows[11].project is None
    assert rows[9].client == "Globex 日本"


def test_dst_rows_spring_forward_and_the_repeated_hour():
    rows = by_row(parse_fixture(clockify.parse, "clockify_detailed.csv"))
    assert (rows[5].started_at, rows[5].ended_at) == (
        datetime(2026, 3, 28, 22, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 2, 0, tzinfo=UTC),
    )
    # 02:30 happens twice on 25 October; Duration (h) = 2:00 picks the second (CET).
    assert (rows[9].started_at, rows[9].ended_at) == (
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    )


def test_error_details_name_the_problem():
    items = parse_fixture(clockify.parse, "clockify_detailed.csv")
    details = {item.row: item.detail for item in items if isinstance(item, RowError)}
    assert details[6] == "'31/02/2026' is not a date in the DD/MM/YYYY format"
    assert "288.0 h" in details[7]
    assert "ends before it starts" in details[8]
    assert "'Maybe'" in details[12]


def test_ambiguous_dates_ask_for_date_format():
    items = parse_fixture(clockify.parse, "clockify_us_12h.csv")
    assert len(items) == 1
    assert errors(items) == [(1, "Start Date")]
    assert "date_format" in items[0].detail


def test_us_format_twelve_hour_times_activity_and_no_client_column():
    items = parse_fixture(clockify.parse, "clockify_us_12h.csv", date_format="MM/DD/YYYY")
    assert errors(items) == []
    rows = by_row(items)
    assert rows[2].started_at == datetime(2026, 3, 4, 8, 0, tzinfo=UTC)  # 4 March, 09:00 AM CET
    assert rows[3].ended_at == datetime(2026, 3, 4, 12, 15, tzinfo=UTC)  # 01:15 PM
    assert rows[4].ended_at == datetime(2026, 3, 5, 23, 30, tzinfo=UTC)  # 12:30 AM the next day
    assert rows[2].task_path == ("Planning",)
    assert rows[2].client is None


def test_the_wrong_date_format_makes_error_rows_not_wrong_entries():
    items = parse_fixture(clockify.parse, "clockify_detailed.csv", date_format="MM/DD/YYYY")
    # 28/03/2026 and 13/03/2026 are no MM/DD dates; 02/03 reads as 3 February: a real entry.
    assert (5, "Start Date") in errors(items)
    assert by_row(items)[2].started_at == datetime(2026, 2, 3, 8, 0, tzinfo=UTC)


def test_a_missing_column_is_one_error_row():
    stream = io.BytesIO(b"Project,Description,Start Date,Start Time\nX,y,02/03/2026,09:00\n")
    items = list(clockify.parse(stream, ParseOptions(timezone=BERLIN, date_format="DD/MM/YYYY")))
    assert errors(items) == [(1, "Email")]


def test_an_unknown_date_format_is_refused():
    stream = io.BytesIO(b"Email\n")
    items = list(clockify.parse(stream, ParseOptions(timezone=BERLIN, date_format="nonsense")))
    assert errors(items) == [(1, "date_format")]


def test_a_nonexistent_local_time_moves_forward_by_the_gap():
    # 02:30 does not exist in Berlin on 29 March 2026: read with the offset before (CET).
    csv = b"Email,Start Date,Start Time,End Date,End Time\na@example.com,2026-03-29,02:30,2026-03-29,04:00\n"
    [entry] = entries(clockify.parse(io.BytesIO(csv), ParseOptions(timezone=BERLIN)))
    assert entry.started_at == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert entry.ended_at == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)


def test_a_file_that_is_not_utf8_ends_with_an_error_row():
    csv = b"Email,Start Date,Start Time,End Date,End Time,Description\n" + (
        b"a@example.com,2026-03-02,09:00,2026-03-02,10:00,Caf\xe9\n" * 3
    )
    items = list(clockify.parse(io.BytesIO(csv), ParseOptions(timezone=BERLIN, date_format="YYYY-MM-DD")))
    assert isinstance(items[-1], RowError)
    assert "UTF-8" in items[-1].detail


def test_twelve_hour_times_around_midnight_and_noon():
    for text, expected in (("12:00 AM", time(0, 0)), ("12:30 PM", time(12, 30)), ("5:05 p.m.", time(17, 5))):
        assert parse_time(text) == expected
    for bad in ("24:00", "13:00 PM", "0:30 AM", "9h30"):
        with pytest.raises(BadValue):
            parse_time(bad)
