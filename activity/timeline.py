"""One user's time, each moment counted once however many devices report it (SPEC: "Every
report counts a moment once per user however many devices report it").

Two devices of one member often report the same minutes: a laptop's window watcher and a
desktop's, an editor plugin on each. Summing their intervals lets a day exceed 24 hours. Here
every moment goes to exactly one interval: where several cover it, the one that started most
recently (the window the member switched to last), ties broken by the key, so the answer does
not depend on the order rows came from the database. Every report that adds up activity
(apps, domains, away time, coding) goes through ``attribute``."""

from __future__ import annotations

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
    return attribute_epoch(
        ((start.timestamp(), end.timestamp(), key) for start, end, key in intervals),
        lo=None if lo is None else lo.timestamp(),
        hi=None if hi is None else hi.timestamp(),
    )


def attribute_epoch(
    intervals: Iterable[tuple[float, float, K]],
    *,
    lo: float | None = None,
    hi: float | None = None,
) -> dict[K, float]:
    """``attribute`` over epoch seconds, for a caller that reads them straight from SQL
    (``extract(epoch FROM ...)``): turning a day's thousands of timestamps into datetimes costs
    several times more than counting them. Arithmetic on floats too, for the same reason."""
    spans = []
    # Ordered by the real start, counted from the clipped one: an interval that began before
    # ``lo`` still loses to one that began later, so a day's answer is the week's for that day.
    for began, end, key in intervals:
        s, e = began, end
        if lo is not None and s < lo:
            s = lo
        if hi is not None and e > hi:
            e = hi
        if e > s:
            spans.append((began, repr(key), s, e, key))
    if not spans:
        return {}
    spans.sort(key=lambda span: (span[0], span[1]))
    totals: dict[K, float] = {}
    # A sweep in start order. The stack holds the intervals started so far, the latest on
    # top (the sort's order, so ties go to the later one of it): the top, while it lasts, has
    # the moment; ended ones are dropped when they surface.
    stack: list[tuple[float, K]] = []
    now = spans[0][2]
    # A last span at infinity drains the stack; its own time is never counted.
    spans.append((float("inf"), "", float("inf"), float("inf"), spans[-1][4]))
    for _began, _order, s, e, key in spans:
        while stack and now < s:
            top_end, top_key = stack[-1]
            if top_end > now:
                upto = top_end if top_end < s else s
                totals[top_key] = totals.get(top_key, 0.0) + (upto - now)
                now = upto
            if top_end <= now:
                stack.pop()
        if now < s:
            now = s
        stack.append((e, key))
    return totals


def covered_seconds(intervals: Iterable[tuple[datetime, datetime]]) -> float:
    """Seconds covered by at least one interval (their union)."""
    return sum(attribute(((start, end, None) for start, end in intervals)).values())
