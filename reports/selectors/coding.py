"""Coding time from the user's editors (SPEC: /reports/coding, and WakaTime's status bar):
``activity.coding_time`` counts it, these shape it over local days."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from activity.coding_time import CodingTime, coding_time
from reports.selectors.days import local_day_bounds


def coding_report(*, company_id: UUID, user_id: UUID, first: date, last: date, tz: ZoneInfo) -> dict:
    """SPEC's coding shape over the local days ``first`` .. ``last``: seconds in total, per
    project, language, editor (largest first) and day, each moment counted once across the
    user's devices (``activity.coding_time``: the rule and the counting)."""
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    found = coding_time(company_id=company_id, user_id=user_id, bounds=[local_day_bounds(day, tz) for day in days])

    def named(totals: dict[str, float]) -> list[dict]:
        return [{"name": name, "seconds": round(seconds)} for name, seconds in totals.items() if round(seconds)]

    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "timezone": tz.key,
        "total_seconds": round(found.total_seconds),
        "projects": named(found.projects),
        "languages": named(found.languages),
        "editors": named(found.editors),
        "days": [
            {"date": day.isoformat(), "seconds": round(seconds)} for day, seconds in zip(days, found.days, strict=True)
        ],
    }


def coding_today(*, company_id: UUID, user_id: UUID, tz: ZoneInfo, now: datetime) -> CodingTime:
    """The user's coding time so far on their local day (WakaTime's status bar)."""
    return coding_time(company_id=company_id, user_id=user_id, bounds=[local_day_bounds(now.astimezone(tz).date(), tz)])
