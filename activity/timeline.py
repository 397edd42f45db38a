"""One user's time, each moment counted once however many devices report it (SPEC: "Every
report counts a moment once per user however many devices report it").

Two devices of one member often report the same minutes: a laptop's window watcher and a
desktop's, an editor plugin on each. Summing their intervals lets a day exceed 24 hours. Here
every moment goes to exactly one interval: where several cover it, the one that started most
recently (the window the member switched to last), ties broken by the key, so the answer does
not depend on the order rows came from the database. Every report that adds up activity
(apps, domains, away time, coding) goes through ``attribute``."""

from __future__ import annotations

import heapq
from collections.abc import Hashable, Iterable
from datetime import datetime
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


def attribute(
    intervals: Iterable[tuple[datetime, datetime, K]],
    *,
    lo: datetime | None = None,
    hi: datetime | None = None,
) -> dict[K, float]:
    """Seconds per key over ``intervals`` of ``(start, end, key)``, clipped to ``[lo, hi)``
    when given, each moment counted once (the latest-started interval covering it wins)."""
    spans = []
    for start, end, key in intervals:
        if lo is not None and start < lo:
            start = lo
        if hi is not None and end > hi:
            end = hi
        if end > start:
            spans.append((start, end, key))
    if not spans:
        return {}
    spans.sort(key=lambda span: (span[0], repr(span[2])))
    totals: dict[K, float] = {}
    # Covering intervals, the winner on top: latest start first (negated timestamp), then the
    # order of the sort above; ended ones are dropped lazily when they surface.
    covering: list[tuple[float, int, datetime, K]] = []
    boundaries = sorted({point for start, end, _ in spans for point in (start, end)})
    i = 0
    for here, there in zip(boundaries, boundaries[1:], strict=False):
        while i < len(spans) and spans[i][0] <= here:
            start, end, key = spans[i]
            heapq.heappush(covering, (-start.timestamp(), -i, end, key))
            i += 1
        while covering and covering[0][2] <= here:
            heapq.heappop(covering)
        if covering:
            key = covering[0][3]
            totals[key] = totals.get(key, 0.0) + (there - here).total_seconds()
    return totals


def covered_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one interval (their union)."""
    return sum(attribute(((start, end, None) for start, end in intervals)).values())
