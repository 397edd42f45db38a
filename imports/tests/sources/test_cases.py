"""Every source's fixture parses to its hand-computed totals and error rows (cases.py)."""

from __future__ import annotations

from importlib import import_module
from zoneinfo import ZoneInfo

import pytest

from imports.tests.sources.cases import CASES, IMPORTER, Case
from imports.tests.sources.support import entries, errors, parse_fixture, seconds_by_person

MODULES = {
    "clockify_csv": "clockify",
    "harvest_csv": "harvest",
    "solidtime_csv": "solidtime",
    "timetagger_json": "timetagger",
    "stint_json": "stint_json",
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_fixture_parses_to_its_hand_computed_totals(case: Case):
    parser = import_module(f"imports.sources.{MODULES[case.source]}").parse
    options = {**case.options, "timezone": ZoneInfo(case.options["timezone"])}
    items = parse_fixture(parser, case.file, importer_email=IMPORTER, **options)
    assert seconds_by_person(items) == case.seconds_by_email
    assert errors(items) == case.error_rows
    assert len(entries(items)) == case.entries


@pytest.mark.parametrize("module", sorted(set(MODULES.values())))
def test_each_source_names_its_columns_for_the_pipelines_own_error_rows(module: str):
    fields = import_module(f"imports.sources.{module}").FIELDS
    assert set(fields) == {"email", "started_at", "ended_at", "duration", "project"}
