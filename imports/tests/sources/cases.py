"""Each source's fixture with its hand-computed outcome, for the parser tests here and for
the pipeline's end-to-end tests (import the file, compare the created entries): one table,
so a fixture and its expected totals never drift apart.

Seconds are computed by hand from the files (the comments show the sums), not by running
the parsers. The importing user of single-person sources is ``IMPORTER``."""

from __future__ import annotations

from dataclasses import dataclass, field

IMPORTER = "me@example.com"


@dataclass(frozen=True)
class Case:
    source: str  # the request's ``source``
    file: str  # under fixtures/
    seconds_by_email: dict[str, int]  # the finished entries' total per member
    error_rows: list[tuple[int, str]]  # (row, field) of every error row, in file order
    options: dict[str, str] = field(default_factory=dict)  # the request's timezone, date_format, ...

    @property
    def entries(self) -> int:
        return ENTRY_COUNTS[self.file]


ENTRY_COUNTS = {
    "clockify_detailed.csv": 7,
    "clockify_us_12h.csv": 3,
    "harvest_detailed.csv": 7,
    "solidtime_time_entries.csv": 6,
    "timetagger_records.json": 3,
    "stint_full.json": 3,
}

CASES = {
    "clockify_csv": Case(
        source="clockify_csv",
        file="clockify_detailed.csv",
        options={"timezone": "Europe/Berlin"},  # date format detected: DD/MM/YYYY (28/03 decides)
        # anna 3:30 + 1:15 + 0:45:30; bob 1:00 + 4:00 (23:00 CET to 04:00 CEST);
        # chloe 2:00 (01:30 CEST to 02:30 CET, the repeated hour) + 0:15.
        seconds_by_email={"anna@example.com": 19830, "bob@example.com": 18000, "chloe@example.com": 8100},
        error_rows=[(6, "Start Date"), (7, "Duration (h)"), (8, "Duration (h)"), (12, "Billable")],
    ),
    "clockify_csv_us": Case(
        source="clockify_csv",
        file="clockify_us_12h.csv",
        options={"timezone": "Europe/Berlin", "date_format": "MM/DD/YYYY"},
        seconds_by_email={"dan@example.com": 5400 + 4500, "eve@example.com": 3600},
        error_rows=[],
    ),
    "harvest_csv": Case(
        source="harvest_csv",
        file="harvest_detailed.csv",
        options={"timezone": "Europe/Berlin"},
        # anna 2,5 h + 1.25 h; bob 0.5 h + 1:45; chloe 3 h + 20 h + 0,75 h.
        seconds_by_email={
            "anna@example.com": 9000 + 4500,
            "bob@example.com": 1800 + 6300,
            "chloe@example.com": 10800 + 72000 + 2700,
        },
        error_rows=[(7, "Date"), (8, "Hours"), (9, "Hours"), (10, "Hours"), (11, "Email")],
    ),
    "solidtime_csv": Case(
        source="solidtime_csv",
        file="solidtime_time_entries.csv",
        options={"timezone": "Europe/Berlin"},
        # anna 2:30 + 0:20; bob 4:00 + 0:45; chloe 3:00 (01:30 CEST to 03:30 CET) + 1:00.
        seconds_by_email={
            "anna@example.com": 9000 + 1200,
            "bob@example.com": 14400 + 2700,
            "chloe@example.com": 10800 + 3600,
        },
        error_rows=[(6, "start"), (7, "end"), (8, "billable")],
    ),
    "timetagger_json": Case(
        source="timetagger_json",
        file="timetagger_records.json",
        options={"timezone": "Europe/Berlin"},
        # a1 2:00, a6 3:00 (over the spring-forward night), a8 0:45; a2 is HIDDEN: no row.
        seconds_by_email={IMPORTER: 7200 + 10800 + 2700},
        error_rows=[(3, "t2"), (4, "t2"), (5, "t2"), (7, "t1"), (9, "key")],
    ),
    "stint_json": Case(
        source="stint_json",
        file="stint_full.json",
        options={"timezone": "Europe/Berlin"},
        # anna 2:00 + 0:30; bob 5 wall-clock hours over the spring-forward night: 4:00.
        seconds_by_email={"anna@example.com": 7200 + 1800, "bob@example.com": 14400},
        error_rows=[(10, "started_at"), (11, "ended_at"), (13, "timezone")],
    ),
}
