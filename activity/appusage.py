"""Merging heartbeats into app-usage intervals, with ActivityWatch's heartbeat semantics
(SPEC: Sync, "Heartbeat merging"; docs/activity.md).

``merge`` is pure: given a device's intervals around the heartbeats and the heartbeats, it
returns the intervals after merging, each marked changed or not. ``appusage_merge`` is the
service that runs it for one claimed device inside the merge transaction.

The rules, per heartbeat, in timestamp order:

- the interval that starts at or before the heartbeat (its "previous") has the same key
  (company, app, title, url) and ends no more than ``pulsetime`` before the heartbeat starts:
  the heartbeat extends it (ActivityWatch's merge), up to the next interval's start;
- otherwise, if the next interval has the same key and starts within ``pulsetime`` after the
  heartbeat ends (an older heartbeat arriving late), the heartbeat extends that one backwards:
  a stream merges to the same intervals whichever of two batches arrived first;
- otherwise a new interval starts, clipped to the gap between its neighbours so intervals
  never overlap; a heartbeat whose time is wholly covered by another app's interval adds
  nothing (that time is already accounted for), and one that runs across another app's
  interval goes on after it (first come, first served: never two apps at once).

A heartbeat with zero duration makes a zero-length interval, as in ActivityWatch, which the
next heartbeat within pulsetime extends."""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from activity.partitions import month_start, next_month

Key = tuple  # (company_id, app, title, url)


@dataclass
class Interval:
    start: datetime
    end: datetime
    key: Key
    ids: list[int] = field(default_factory=list)  # its stored pieces (split at month ends)
    changed: bool = False


@dataclass(frozen=True)
class Beat:
    timestamp: datetime
    duration: float  # seconds
    key: Key
    pulsetime: float  # seconds

    @property
    def end(self) -> datetime:
        return self.timestamp + timedelta(seconds=self.duration)


def domain_of(url: str) -> str:
    """The host of a URL, lower case, without ``www.`` and port ("" when there is none)."""
    if not url:
        return ""
    try:
        host = urlsplit(url if "://" in url else f"//{url}").hostname or ""
    except ValueError:
        return ""
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def coalesce(pieces: list[Interval]) -> list[Interval]:
    """Stored pieces (sorted by start) as logical intervals: a piece that ends exactly at a
    month boundary where the next piece, same key, begins is one interval split by storage."""
    out: list[Interval] = []
    for piece in pieces:
        last = out[-1] if out else None
        if (
            last is not None
            and last.key == piece.key
            and last.end == piece.start
            and piece.start == month_start(piece.start)
        ):
            last.end = piece.end
            last.ids.extend(piece.ids)
        else:
            out.append(Interval(piece.start, piece.end, piece.key, list(piece.ids)))
    return out


def _absorb_following(intervals: list[Interval], index: int, end: datetime) -> Interval | None:
    """Set intervals[index]'s end to ``end``, joining same-key intervals it reaches and the
    zero-length ones of other keys it passes (they hold no time), and stopping at the first
    other interval (no overlap), which it returns."""
    current, blocker = intervals[index], None
    while index + 1 < len(intervals) and end > intervals[index + 1].start:
        following = intervals[index + 1]
        if following.key == current.key:
            end = max(end, following.end)
        elif following.start != following.end:
            blocker, end = following, following.start
            break
        current.ids.extend(following.ids)  # its stored pieces are replaced by ours
        del intervals[index + 1]
    if end != current.end:
        current.end = end
        current.changed = True
    return blocker


def _rest_after(beat: Beat, blocker: Interval | None) -> Beat | None:
    """What is left of a heartbeat that ran into another app's interval: its time after it."""
    if blocker is None or beat.end <= blocker.end:
        return None
    return Beat(blocker.end, (beat.end - blocker.end).total_seconds(), beat.key, beat.pulsetime)


def merge(intervals: list[Interval], beats: list[Beat]) -> list[Interval]:
    """Merge ``beats`` into ``intervals`` (a device's, sorted, non-overlapping; modified in
    place and returned). The order of ``beats`` does not matter: they are taken in timestamp
    order (ties by key and duration, so equal input gives equal output)."""
    for first in sorted(beats, key=lambda b: (b.timestamp, b.key, b.duration, b.pulsetime)):
        beat: Beat | None = first
        while beat is not None:  # a heartbeat split by another app's interval goes on after it
            beat = _place(intervals, beat)
    return intervals


def _place(intervals: list[Interval], beat: Beat) -> Beat | None:
    """Merge one heartbeat; returns the part of it still to place, if another app's interval
    cut it in two."""
    starts = [i.start for i in intervals]
    at = bisect.bisect_right(starts, beat.timestamp) - 1  # the last interval starting at or before
    prev = intervals[at] if at >= 0 else None
    nxt = intervals[at + 1] if at + 1 < len(intervals) else None
    pulse = timedelta(seconds=beat.pulsetime)
    if prev is not None and prev.key == beat.key and beat.timestamp <= prev.end + pulse:
        return _rest_after(beat, _absorb_following(intervals, at, max(prev.end, beat.end)))
    start = max(beat.timestamp, prev.end) if prev is not None else beat.timestamp
    if nxt is not None and nxt.key == beat.key and start <= nxt.start <= beat.end + pulse:
        if start < nxt.start:
            nxt.start = start
            nxt.changed = True
        return _rest_after(beat, _absorb_following(intervals, at + 1, max(nxt.end, beat.end)))
    if beat.end < start:
        return None  # wholly inside time another app already holds
    intervals.insert(at + 1, Interval(start, start, beat.key, changed=True))
    blocker = _absorb_following(intervals, at + 1, beat.end)  # clipped at the next app's interval
    new = intervals[at + 1]
    if new.start == new.end and beat.timestamp < start and not new.ids:
        del intervals[at + 1]  # clipped to nothing: that time is another app's
    return _rest_after(beat, blocker)


def split_by_month(interval: Interval) -> list[tuple[datetime, datetime]]:
    """An interval as the (start, end) pieces it is stored as: none crosses a UTC month."""
    pieces, start = [], interval.start
    while True:
        boundary = next_month(month_start(start))
        if interval.end <= boundary:
            pieces.append((start, interval.end))
            return pieces
        pieces.append((start, boundary))
        start = boundary


# --------------------------------------------------------------------------- the service


def _pieces(*, user_id, device_id, lo: datetime, hi: datetime) -> list[Interval]:
    """The device's stored pieces that can matter for heartbeats in [lo, hi], locked."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, company_id, app, title, url, started_at, ended_at FROM tracking_appusage "
            "WHERE user_id = %s AND device_id = %s AND started_at >= %s AND started_at <= %s AND ended_at >= %s "
            "ORDER BY started_at, id FOR UPDATE",
            # No piece crosses a month, so one that reaches `lo` starts in lo's month or later
            # (less a day for the boundary itself): only the partitions that matter are read.
            [user_id, device_id, month_start(lo - timedelta(days=1)), hi, lo],
        )
        return [
            Interval(start, end, (str(company_id), app, title, url), [pk])
            for pk, company_id, app, title, url, start, end in cursor.fetchall()
        ]


def appusage_merge(*, user_id, device_id: str, beats: list[Beat]) -> dict[str, int]:
    """Merge one device's heartbeats into its stored intervals, inside the caller's
    transaction (which also claimed the heartbeats: all or nothing). The months touched must
    have their partitions already (``activity.partitions.ensure``)."""
    from django.db import connection

    from activity.models import AppUsage
    from common.bulk import copy_insert

    if not beats:
        return {"deleted": 0, "inserted": 0}
    widest = timedelta(seconds=max(b.pulsetime for b in beats))
    lo = min(b.timestamp for b in beats) - widest
    hi = max(b.end for b in beats) + widest
    intervals = merge(coalesce(_pieces(user_id=user_id, device_id=device_id, lo=lo, hi=hi)), beats)
    changed = [i for i in intervals if i.changed]
    stale = [pk for i in changed for pk in i.ids]
    if stale:
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM tracking_appusage WHERE user_id = %s AND device_id = %s AND id = ANY(%s) "
                "AND started_at >= %s AND started_at <= %s",
                [user_id, device_id, stale, month_start(lo - timedelta(days=1)), hi],
            )
    rows = [
        AppUsage(
            company_id=interval.key[0],
            user_id=user_id,
            device_id=device_id,
            app=interval.key[1],
            title=interval.key[2],
            url=interval.key[3],
            domain=domain_of(interval.key[3]),
            started_at=start,
            ended_at=end,
        )
        for interval in changed
        for start, end in split_by_month(interval)
    ]
    copy_insert(rows)
    return {"deleted": len(stale), "inserted": len(rows)}
