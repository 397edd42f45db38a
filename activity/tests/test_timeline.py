"""Each moment of a user's time counted once, whatever number of devices report it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from activity.timeline import attribute, covered_seconds

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def test_two_devices_reporting_the_same_hour_count_it_once():
    laptop = (at(0), at(60), "Code")
    desktop = (at(0), at(60), "Code")
    assert attribute([laptop, desktop]) == {"Code": 3600}


def test_the_interval_started_last_takes_the_overlap():
    # the laptop shows the editor for an hour; at 0:20 the desktop's browser takes focus for 10 min
    totals = attribute([(at(0), at(60), "Code"), (at(20), at(30), "Firefox")])
    assert totals == {"Code": 50 * 60, "Firefox": 10 * 60}
    assert sum(totals.values()) == 3600  # never more than the wall clock


def test_an_earlier_start_that_outlasts_a_later_one_takes_the_rest_back():
    totals = attribute([(at(10), at(20), "Slack"), (at(0), at(40), "Code"), (at(15), at(25), "Mail")])
    assert totals == {"Code": 25 * 60, "Slack": 5 * 60, "Mail": 10 * 60}


def test_clipping_to_a_day_and_gaps_are_not_counted():
    totals = attribute([(at(-30), at(10), "a"), (at(50), at(70), "b")], lo=at(0), hi=at(60))
    assert totals == {"a": 600, "b": 600}


def test_ties_do_not_depend_on_row_order():
    rows = [(at(0), at(10), "x"), (at(0), at(10), "y")]
    assert attribute(rows) == attribute(list(reversed(rows))) == {"y": 600}


def test_covered_seconds_is_the_union():
    assert covered_seconds([(at(0), at(10)), (at(5), at(15)), (at(20), at(21))]) == 16 * 60
    assert covered_seconds([]) == 0


@settings(max_examples=300, deadline=None)  # no deadline: the shared CI machine's load varies
@given(
    st.lists(
        st.tuples(st.integers(0, 40), st.integers(0, 15), st.sampled_from("abc")),
        max_size=25,
    ),
    st.integers(0, 20),
    st.integers(20, 60),
)
def test_every_minute_goes_to_the_latest_started_interval_covering_it(rows, lo, hi):
    """The sweep against its definition, minute by minute: whatever the overlaps, each minute
    of [lo, hi) covered by some interval is counted once, for the one that started last (ties
    to the larger key, whatever the rows' order)."""
    intervals = [(at(start), at(start + length), key) for start, length, key in rows]
    expected: dict[str, float] = {}
    for minute in range(lo, hi):
        covering = [(start, key) for start, length, key in rows if start <= minute < start + length]
        if covering:
            winner = max(covering)[1]
            expected[winner] = expected.get(winner, 0) + 60
    totals = attribute(intervals, lo=at(lo), hi=at(hi))
    assert {key: round(seconds) for key, seconds in totals.items()} == expected
    assert attribute(list(reversed(intervals)), lo=at(lo), hi=at(hi)) == totals
