"""The Week chart's geometry: SVG rectangles from the weekly report (no chart library; the
template draws them). Presentation only: the numbers come from reports.selectors."""

from __future__ import annotations

from datetime import date

from reports.templatetags.dashboard import hm

WIDTH, HEIGHT = 560, 200  # the SVG viewBox; it scales to the card's width
TOP, BOTTOM = 22, 28  # room for the value above a bar and the day below it
SLOT = WIDTH / 7
BAR = 44


def _hours(seconds: int) -> str:
    """The Team table's format (the ``hm`` filter), blank for nothing: one reading of a duration."""
    return hm(seconds) if seconds else ""


def week_bars(report: dict, *, today: date) -> dict:
    days = report["days"]
    peak = max([d["seconds"] for d in days] + [4 * 3600])  # a quiet week still has a scale
    room = HEIGHT - TOP - BOTTOM
    bars = []
    for n, day in enumerate(days):
        when = date.fromisoformat(day["date"])
        height = round(room * day["seconds"] / peak, 1)
        x = round(n * SLOT + (SLOT - BAR) / 2, 1)
        bars.append(
            {
                "date": day["date"],
                "seconds": day["seconds"],
                "x": x,
                "y": round(HEIGHT - BOTTOM - height, 1),
                "width": BAR,
                "height": height,
                "center": round(n * SLOT + SLOT / 2, 1),
                "label": when.strftime("%a"),
                "sublabel": when.strftime("%-d %b"),
                "value": _hours(day["seconds"]),
                "value_y": round(HEIGHT - BOTTOM - height - 6, 1),
                "is_today": when == today,
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
    }
