"""Running a source over a fixture file, and the figures the tests compare."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from zoneinfo import ZoneInfo

from imports.sources.base import EntryRow, Item, ParseOptions, Parser, RowError

FIXTURES = Path(__file__).parent / "fixtures"
BERLIN = ZoneInfo("Europe/Berlin")


def parse_fixture(parser: Parser, name: str, **options: object) -> list[Item]:
    options.setdefault("timezone", BERLIN)
    with (FIXTURES / name).open("rb") as stream:
        return list(parser(stream, ParseOptions(**options)))  # type: ignore[arg-type]


def entries(items: Iterable[Item]) -> list[EntryRow]:
    return [item for item in items if isinstance(item, EntryRow)]


def errors(items: Iterable[Item]) -> list[tuple[int, str]]:
    return [(item.row, item.field) for item in items if isinstance(item, RowError)]


def seconds_by_person(items: Iterable[Item]) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for entry in entries(items):
        totals[entry.email] += int((entry.ended_at - entry.started_at).total_seconds())
    return dict(totals)


def by_row(items: Iterable[Item]) -> dict[int, EntryRow]:
    return {entry.row: entry for entry in entries(items)}
