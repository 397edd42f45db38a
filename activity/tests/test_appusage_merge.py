"""Heartbeat merging against hand-worked streams (activity.appusage.merge is pure), including
ActivityWatch's own edge cases, and properties over random streams."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from activity.appusage import Beat, Interval, coalesce, domain_of, merge, split_by_month

T0 = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
A = ("c", "Firefox", "Docs", "https://docs.example.com/a")
B = ("c", "Terminal", "zsh", "")


def beat(seconds: float, duration: float = 0.0, key=A, pulse: float = 60.0) -> Beat:
    return Beat(T0 + timedelta(seconds=seconds), duration, key, pulse)


def spans(intervals: list[Interval]) -> list[tuple[float, float, str]]:
    return [((i.start - T0).total_seconds(), (i.end - T0).total_seconds(), i.key[1]) for i in intervals]


def run(*beats: Beat, existing=None) -> list[tuple[float, float, str]]:
    return spans(merge(list(existing or []), list(beats)))


def test_heartbeats_within_pulsetime_extend_one_interval():
    # ActivityWatch: the first heartbeat is a zero-length event, each next one extends it.
    assert run(beat(0), beat(5), beat(10)) == [(0, 10, "Firefox")]
    assert run(beat(0, 2), beat(5, 2), beat(10, 2)) == [(0, 12, "Firefox")]


def test_a_gap_of_exactly_pulsetime_still_merges_and_a_hair_more_does_not():
    assert run(beat(0, 10), beat(70, 5)) == [(0, 75, "Firefox")]
    assert run(beat(0, 10), beat(70.001, 5)) == [(0, 10, "Firefox"), (70.001, 75.001, "Firefox")]
    assert run(beat(0, 10, pulse=0), beat(10, 5, pulse=0)) == [(0, 15, "Firefox")]  # touching


def test_switching_back_and_forth_makes_one_interval_per_stretch():
    stream = [beat(0, 5), beat(5, 5, B), beat(10, 5), beat(15, 5), beat(20, 5, B)]
    assert run(*stream) == [(0, 5, "Firefox"), (5, 10, "Terminal"), (10, 20, "Firefox"), (20, 25, "Terminal")]


def test_zero_durations_and_a_heartbeat_inside_a_longer_one():
    assert run(beat(0), beat(0)) == [(0, 0, "Firefox")]
    assert run(beat(0, 30), beat(10)) == [(0, 30, "Firefox")]  # inside: nothing changes


def test_order_of_arrival_within_a_batch_does_not_matter():
    stream = [beat(0, 5), beat(5, 5, B), beat(7, 1), beat(12, 3), beat(30, 0, B), beat(95, 10)]
    expected = run(*stream)
    for order in itertools.permutations(stream):
        assert run(*order) == expected


def test_a_late_heartbeat_falls_into_its_gap_without_overlapping():
    existing = [
        Interval(T0, T0 + timedelta(seconds=10), B),
        Interval(T0 + timedelta(seconds=100), T0 + timedelta(seconds=110), B),
    ]
    assert run(beat(50, 10), existing=existing) == [(0, 10, "Terminal"), (50, 60, "Firefox"), (100, 110, "Terminal")]


def test_a_late_heartbeat_under_another_apps_time_is_clipped_or_adds_nothing():
    def existing():
        return [
            Interval(T0, T0 + timedelta(seconds=100), B),
            Interval(T0 + timedelta(seconds=150), T0 + timedelta(seconds=200), B),
        ]

    # starts inside B's first interval, runs into the gap: only the gap is Firefox's
    assert run(beat(50, 80), existing=existing()) == [
        (0, 100, "Terminal"),
        (100, 130, "Firefox"),
        (150, 200, "Terminal"),
    ]
    # wholly inside B's time: nothing is added
    assert run(beat(20, 30), existing=existing()) == [(0, 100, "Terminal"), (150, 200, "Terminal")]
    # runs past the next interval's start: stops there
    assert run(beat(120, 60), existing=existing()) == [
        (0, 100, "Terminal"),
        (120, 150, "Firefox"),
        (150, 200, "Terminal"),
    ]


def test_a_late_heartbeat_of_the_same_app_extends_the_next_interval_backwards():
    existing = [Interval(T0 + timedelta(seconds=100), T0 + timedelta(seconds=110), A)]
    assert run(beat(50, 10), existing=existing) == [(50, 110, "Firefox")]
    # the same stream in the other order gives the same interval
    assert run(beat(50, 10), beat(100, 10)) == [(50, 110, "Firefox")]


def test_extending_joins_the_next_interval_of_the_same_app_and_goes_around_another():
    existing = [
        Interval(T0, T0 + timedelta(seconds=10), A, [1]),
        Interval(T0 + timedelta(seconds=40), T0 + timedelta(seconds=50), A, [2]),
        Interval(T0 + timedelta(seconds=60), T0 + timedelta(seconds=70), B, [3]),
    ]
    merged = merge(existing, [beat(10, 45)])
    assert spans(merged) == [(0, 55, "Firefox"), (60, 70, "Terminal")]
    assert merged[0].changed
    assert sorted(merged[0].ids) == [1, 2]
    assert not merged[1].changed
    merged = merge(
        [
            Interval(T0, T0 + timedelta(seconds=10), A),
            Interval(T0 + timedelta(seconds=20), T0 + timedelta(seconds=30), B),
        ],
        [beat(10, 60)],
    )
    # the heartbeat's time after Terminal's interval is still Firefox's
    assert spans(merged) == [(0, 20, "Firefox"), (20, 30, "Terminal"), (30, 70, "Firefox")]


def test_other_companies_or_titles_are_other_intervals():
    other_company = ("d", *A[1:])
    other_title = ("c", "Firefox", "Mail", A[3])
    assert [s[:2] for s in run(beat(0, 5), beat(5, 5, other_company), beat(10, 5, other_title))] == [
        (0, 5),
        (5, 10),
        (10, 15),
    ]


def test_intervals_are_stored_split_at_month_ends_and_read_back_whole():
    end_of_month = datetime(2026, 11, 30, 23, 59, 30, tzinfo=UTC)
    interval = Interval(end_of_month, end_of_month + timedelta(seconds=60), A)
    pieces = split_by_month(interval)
    assert pieces == [
        (end_of_month, datetime(2026, 12, 1, tzinfo=UTC)),
        (datetime(2026, 12, 1, tzinfo=UTC), end_of_month + timedelta(seconds=60)),
    ]
    stored = [Interval(start, end, A, [n]) for n, (start, end) in enumerate(pieces)]
    [whole] = coalesce(stored)
    assert (whole.start, whole.end, whole.ids) == (interval.start, interval.end, [0, 1])


def test_domains_are_derived_from_urls():
    assert domain_of("https://www.GitHub.com:443/x?y=1") == "github.com"
    assert domain_of("docs.example.com/path") == "docs.example.com"
    assert domain_of("") == ""
    assert domain_of("http://[::1") == ""  # malformed: no domain rather than an error


# --------------------------------------------------------------------------- properties

keys = st.sampled_from([A, B, ("c", "Mail", "", "")])
beats = st.lists(
    st.builds(
        beat,
        st.floats(min_value=0, max_value=600, allow_nan=False).map(lambda s: round(s, 3)),
        st.floats(min_value=0, max_value=120, allow_nan=False).map(lambda s: round(s, 3)),
        keys,
        st.sampled_from([0.0, 5.0, 60.0]),
    ),
    max_size=25,
)


def _no_overlap(intervals: list[Interval]) -> bool:
    return all(a.end <= b.start for a, b in itertools.pairwise(intervals)) and all(i.start <= i.end for i in intervals)


@settings(max_examples=300, deadline=None)
@given(beats, st.randoms(use_true_random=False))
def test_any_stream_in_any_order_and_any_split_into_batches_never_overlaps(stream, rnd: random.Random):
    in_order = merge([], stream)
    assert _no_overlap(in_order)
    shuffled = list(stream)
    rnd.shuffle(shuffled)
    assert spans(merge([], shuffled)) == spans(in_order)  # one batch: arrival order is irrelevant
    cut = rnd.randint(0, len(shuffled))
    two_batches = merge(merge([], shuffled[:cut]), shuffled[cut:])
    assert _no_overlap(two_batches)
    # every second a heartbeat covered is covered by some interval, unless another app holds it
    for b in stream:
        if b.duration:
            mid = b.timestamp + timedelta(seconds=b.duration / 2)
            assert any(i.start <= mid <= i.end for i in two_batches)
