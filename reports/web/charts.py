"""The Week chart's geometry: SVG rectangles from the weekly report (no chart library; the
template draws them), and beside each day's bar a thin one for the member's coding time from
their editors when they have any that week. Presentation only: the numbers come from
reports.selectors (``tracked_time.weekly_report`` and ``coding.coding_report``)."""

from __future__ import annotations

from datetime import date

from reports.templatetags.dashboard import hm

WIDTH, HEIGHT = 560, 200  # the SVG viewBox; it scales to the card's width
TOP, BOTTOM = 22, 28  # room for the value above a bar and the day below it
SLOT = WIDTH / 7
BAR = 44
CODE_BAR, CODE_GAP = 8, 3  # the thin coding bar and its distance from the day's bar
TOP_NAMES = 3  # projects and languages named in the coding line


def _hours(seconds: int) -> str:
    """The Team table's format (the ``hm`` filter), blank for nothing: one reading of a duration."""
    return hm(seconds) if seconds else ""


def _coding_summary(coding: dict | None) -> dict | None:
    """The coding line under the chart; None for a week without coding (a member who runs no
    editor plugin sees the panel as before, not a line of zeros)."""
    if not coding or not coding["total_seconds"]:
        return None

    def top(rows: list[dict]) -> list[dict]:
        return [{"name": r["name"], "value": hm(r["seconds"])} for r in rows[:TOP_NAMES]]

    return {
        "seconds": coding["total_seconds"],
        "total": hm(coding["total_seconds"]),
        "projects": top(coding["projects"]),
        "languages": top(coding["languages"]),
    }


def week_bars(report: dict, *, today: date, coding: dict | None = None) -> dict:
    """Bars for ``report["days"]``; ``coding`` is ``coding_report`` over the same seven days."""
    days = report["days"]
    summary = _coding_summary(coding)
    coded = [d["seconds"] for d in coding["days"]] if summary and coding else [0] * len(days)
    # One scale for both bars, so an hour of coding is as tall as an hour tracked.
    peak = max([d["seconds"] for d in days] + coded + [4 * 3600])  # a quiet week still has a scale
    room = HEIGHT - TOP - BOTTOM
    # With coding, the pair of bars is centred in the day's slot; without, the day's bar alone.
    pair = BAR + CODE_GAP + CODE_BAR if summary else BAR
    bars = []
    for n, (day, code_seconds) in enumerate(zip(days, coded, strict=True)):
        when = date.fromisoformat(day["date"])
        height = round(room * day["seconds"] / peak, 1)
        code_height = round(room * code_seconds / peak, 1)
        x = round(n * SLOT + (SLOT - pair) / 2, 1)
        bars.append(
            {
                "date": day["date"],
                "seconds": day["seconds"],
                "x": x,
                "y": round(HEIGHT - BOTTOM - height, 1),
                "width": BAR,
                "height": height,
                "center": round(n * SLOT + SLOT / 2, 1),
                "value_x": round(x + BAR / 2, 1),
                "label": when.strftime("%a"),
                "sublabel": when.strftime("%-d %b"),
                "value": _hours(day["seconds"]),
                "value_y": round(HEIGHT - BOTTOM - height - 6, 1),
                "is_today": when == today,
                "coding_seconds": code_seconds,
                "coding_value": _hours(code_seconds),
                "coding_x": round(x + BAR + CODE_GAP, 1),
                "coding_y": round(HEIGHT - BOTTOM - code_height, 1),
                "coding_width": CODE_BAR,
                "coding_height": code_height,
            }
        )
    top = max([p["seconds"] for p in report["projects"]] + [1])
    projects = [
        {**p, "value": _hours(p["seconds"]), "share": round(100 * p["seconds"] / top, 1)} for p in report["projects"]
    ]
    return {
        "projects": projects,
        "width": WIDTH,
        "height": HEIGHT,
        "baseline": HEIGHT - BOTTOM,
        "label_y": HEIGHT - BOTTOM + 16,
        "bars": bars,
        "total": _hours(sum(d["seconds"] for d in days)) or "0m",
        "coding": summary,
    }
