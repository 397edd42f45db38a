"""Harvest's detailed time report CSV: hours laid end to end from 09:00, decimal commas."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from imports.sources import harvest
from imports.sources.base import ParseOptions, RowError
from imports.tests.sources.support import BERLIN, by_row, errors, parse_fixture


def test_error_details_name_the_problem():  # totals and error rows: test_cases.py
    items = parse_fixture(harvest.parse, "harvest_detailed.csv")
    details = {item.row: item.detail for item in items if isinstance(item, RowError)}
    assert details[8] == "'abc' is not a number of hours"
    assert "200.0 h" in details[10]


def test_a_persons_day_is_laid_end_to_end_from_nine():
    rows = by_row(parse_fixture(harvest.parse, "harvest_detailed.csv"))
    # 2 March (CET): anna 09:00-11:30 then 11:30-12:45; bob's own day starts at 09:00 too.
    assert (rows[2].started_at, rows[2].ended_at) == (
        datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
    )
    assert (rows[3].started_at, rows[3].ended_at) == (
        datetime(2026, 3, 2, 10, 30, tzinfo=UTC),
        datetime(2026, 3, 2, 11, 45, tzinfo=UTC),
    )
    assert rows[4].started_at == datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    # 29 March, the day clocks go forward: 09:00 is CEST; the second row follows the first.
    assert rows[6].started_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    assert (rows[13].started_at, rows[13].ended_at) == (
        datetime(2026, 3, 29, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 10, 45, tzinfo=UTC),
    )
    # 24 October, 20 h from 09:00 CEST runs over the night clocks go back: 20 h exactly.
    assert (rows[12].started_at, rows[12].ended_at) == (
        datetime(2026, 10, 24, 7, 0, tzinfo=UTC),
        datetime(2026, 10, 25, 3, 0, tzinfo=UTC),
    )


def test_row_values_map_to_entry_fields():
    rows = by_row(parse_fixture(harvest.parse, "harvest_detailed.csv"))
    assert rows[3].email == "anna@example.com"
    assert (rows[2].client, rows[2].project, rows[2].task_path, rows[2].billable) == (
        "Acme GmbH",
        "Website",
        ("Design",),
        True,
    )
    assert (rows[4].client, rows[4].billable) == (None, False)
    assert rows[5].description == "Über-long refactor"
    assert rows[6].client == "Globex 日本"


def test_without_an_email_column_nor_names_the_file_is_one_error_row():
    stream = io.BytesIO(b"Date,Client,Project,Task,Notes,Hours,Billable?\n2026-03-02,,P,T,,1,Yes\n")
    items = list(harvest.parse(stream, ParseOptions(timezone=BERLIN)))
    assert errors(items) == [(1, "Email")]


def test_a_semicolon_separated_file_from_a_decimal_comma_spreadsheet_reads_the_same():
    semicolons = (
        "Date;Client;Project;Task;Notes;Hours;Billable?;First Name;Last Name;Email\n"
        '2026-03-02;Acme;Web;Design;"Wireframes; v2";2,5;Yes;Anna;Müller;anna@example.com\n'
    ).encode()
    [entry] = list(harvest.parse(io.BytesIO(semicolons), ParseOptions(timezone=BERLIN)))
    assert (entry.description, entry.ended_at - entry.started_at) == ("Wireframes; v2", timedelta(hours=2.5))
