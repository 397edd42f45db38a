"""Coding time, computed from editor heartbeats when read (SPEC: "Coding time joins a user's
consecutive heartbeats of one project closer than the company's ``coding_timeout_seconds``").

The rule, WakaTime's: take one user's heartbeats of one project in time order, across all
their devices. The time from a heartbeat to the next one of the same project counts as coding
(for the first one's language and editor) when the gap is shorter than the timeout; a gap of
the timeout or more ends the stretch, and the last heartbeat of a stretch adds nothing (an
editor sends one every two minutes while you type, and nobody knows how long you looked after
the last one). Spans of different projects or devices can overlap (two editors open, a
laptop and a desktop): ``activity.timeline.attribute`` then counts each moment once, for the
span that started last, so a day never holds more than 24 hours of coding.

Computed when read, not stored: a company that changes its timeout sees its past with the
new rule, and there is nothing to merge or keep in step with resent heartbeats."""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from activity.models import CodingHeartbeat
from activity.timeline import attribute
from organizations.models import Company

UNKNOWN = "Unknown"  # a heartbeat without a project, language or editor is reported under this name

Key = tuple[int, str, str, str]  # (day index, project, language, editor)


@dataclass
class CodingTime:
    """Seconds of coding over some local days: in total, per day (in the order of the days
    asked for), and per project, language and editor, largest first."""

    total_seconds: float = 0.0
    days: list[float] = field(default_factory=list)
    projects: dict[str, float] = field(default_factory=dict)
    languages: dict[str, float] = field(default_factory=dict)
    editors: dict[str, float] = field(default_factory=dict)


def coding_timeout(company_id: UUID) -> timedelta:
    seconds = Company.objects.filter(pk=company_id).values_list("coding_timeout_seconds", flat=True).first()
    return timedelta(seconds=seconds if seconds is not None else 900)


def coding_latest(*, company_id: UUID, user_id: UUID) -> tuple[str, str, str] | None:
    """``(project, language, branch)`` of the user's newest coding heartbeat in the company
    (WakaTime's "same as last time" placeholders), None if they have none."""
    return (
        CodingHeartbeat.objects.filter(company_id=company_id, user_id=user_id)
        .order_by("-time", "-id")
        .values_list("project", "language", "branch")
        .first()
    )


def coding_spans(
    heartbeats: Iterable[tuple[datetime, str, str, str]], *, timeout: timedelta
) -> list[tuple[datetime, datetime, tuple[str, str, str]]]:
    """``(start, end, (project, language, editor))`` for each pair of consecutive heartbeats of
    one project closer than ``timeout``; ``heartbeats`` are ``(time, project, language,
    editor)`` in time order."""
    spans = []
    last: dict[str, tuple[datetime, str, str]] = {}
    for time, project, language, editor in heartbeats:
        previous = last.get(project)
        if previous is not None and timedelta(0) < time - previous[0] < timeout:
            spans.append((previous[0], time, (project, previous[1], previous[2])))
        last[project] = (time, language, editor)
    return spans


def _by_day(
    spans: Sequence[tuple[datetime, datetime, tuple[str, str, str]]], bounds: Sequence[tuple[datetime, datetime]]
) -> list[tuple[datetime, datetime, Key]]:
    """The spans cut at the days' bounds, each part keyed by its day's index (a span across
    midnight counts on both days for its parts)."""
    starts = [lo for lo, _ in bounds]
    parts = []
    for start, end, (project, language, editor) in spans:
        day = max(bisect.bisect_right(starts, start) - 1, 0)
        while day < len(bounds) and bounds[day][0] < end:
            lo, hi = bounds[day]
            part_start, part_end = max(start, lo), min(end, hi)
            if part_end > part_start:
                parts.append((part_start, part_end, (day, project, language, editor)))
            day += 1
    return parts


def coding_time(
    *, company_id: UUID, user_id: UUID, bounds: Sequence[tuple[datetime, datetime]], timeout: timedelta | None = None
) -> CodingTime:
    """The user's coding time in the company over ``bounds`` (consecutive local days as
    ``[start, end)`` in UTC, in order), each moment counted once across their devices."""
    if not bounds:
        return CodingTime()
    if timeout is None:
        timeout = coding_timeout(company_id)
    lo, hi = bounds[0][0], bounds[-1][1]
    # A span that crosses the range's edges needs the heartbeat outside it: one timeout either side.
    heartbeats = (
        CodingHeartbeat.objects.filter(
            company_id=company_id, user_id=user_id, time__gte=lo - timeout, time__lt=hi + timeout
        )
        .order_by("time", "id")
        .values_list("time", "project", "language", "editor")
    )
    spans = coding_spans(heartbeats.iterator(chunk_size=5000), timeout=timeout)
    seconds = attribute(_by_day(spans, bounds), lo=lo, hi=hi)
    days = [0.0] * len(bounds)
    per: dict[str, defaultdict[str, float]] = {name: defaultdict(float) for name in ("project", "language", "editor")}
    for (day, project, language, editor), value in seconds.items():
        days[day] += value
        per["project"][project or UNKNOWN] += value
        per["language"][language or UNKNOWN] += value
        per["editor"][editor or UNKNOWN] += value

    def largest_first(totals: dict[str, float]) -> dict[str, float]:
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))

    return CodingTime(
        total_seconds=sum(days),
        days=days,
        projects=largest_first(per["project"]),
        languages=largest_first(per["language"]),
        editors=largest_first(per["editor"]),
    )
