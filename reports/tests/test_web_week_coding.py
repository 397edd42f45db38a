"""Coding time on the dashboard's Week panel (#17 item 5): the viewer's own editor time
(WakaTime intake and ActivityWatch editor events, the figures of /reports/coding) as a thin bar
beside each day's and a "Coding: … this week" line; nothing when they have none; never someone
else's, nor their own in another company."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from activity.coding import CodingItem, coding_heartbeats_store
from reports.web.charts import week_bars

pytestmark = pytest.mark.django_db

PANEL = "/dashboard/panels/week/"


def panel_as(user, path=PANEL) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def days_ago(n: int, hour: int = 10) -> datetime:
    """``hour`` o'clock UTC ``n`` days before today (UTC): always in the past for n >= 1."""
    return datetime.combine(timezone.now().astimezone(UTC).date() - timedelta(days=n), time(hour), tzinfo=UTC)


def code(company, user, start, minutes, *, device="laptop", editor="vscode", **fields):
    """A heartbeat every two minutes from ``start`` for ``minutes`` minutes: ``minutes`` of coding."""
    items = [
        CodingItem(time=start + timedelta(minutes=m), entity="/src/a.py", **fields) for m in range(0, minutes + 1, 2)
    ]
    coding_heartbeats_store(company_id=company.id, user_id=user.id, device_id=device, editor=editor, items=items)


def in_utc(user):
    user.timezone = "UTC"
    user.save(update_fields=["timezone"])
    return user


def coding_per_day(html: str) -> dict[str, int]:
    return {
        d: int(s) for d, s in re.findall(r'data-date="([^"]+)" data-seconds="\d+" data-coding-seconds="(\d+)"', html)
    }


def coding_line(html: str) -> str:
    found = re.search(
        r'<p class="coding-line[^"]*" data-testid="week-coding" data-seconds="(\d+)">(.*?)</p>', html, re.S
    )
    assert found, "no coding line on the Week panel"
    return found.group(1) + " " + " ".join(re.sub(r"<[^>]+>", " ", found.group(2)).split())


def test_the_members_coding_shows_per_day_and_in_total(world):
    member = in_utc(world.users["member"])
    code(world.a, member, days_ago(1), 90, project="stint", language="Python")
    code(world.a, member, days_ago(3), 30, project="docs", language="Markdown", device="desktop", editor="vim")
    code(world.a, member, days_ago(3, hour=14), 20, project="stint", language="SQL")
    code(world.a, member, days_ago(9), 60, project="old", language="Go")  # before the week: not counted

    html = panel_as(member)

    per_day = coding_per_day(html)
    assert len(per_day) == 7
    assert per_day[days_ago(1).date().isoformat()] == 90 * 60
    assert per_day[days_ago(3).date().isoformat()] == 50 * 60
    assert sum(per_day.values()) == 140 * 60
    assert html.count('data-testid="week-coding-bar"') == 2  # days without coding draw no bar
    assert "1h 30m coding</title>" in html  # the bar's tooltip names its day's coding time
    line = coding_line(html)
    assert line.startswith(f"{140 * 60} Coding: 2h 20m this week")
    assert "stint 1h 50m, docs 30m" in line  # projects, largest first
    assert "Python 1h 30m, Markdown 30m, SQL 20m" in line  # languages, largest first
    assert "old" not in line
    assert "Go" not in line
    assert 'data-testid="week-chart"' in html

    # The whole dashboard renders the same panel.
    page = panel_as(member, "/dashboard/")
    assert 'data-testid="week-coding"' in page
    assert coding_per_day(page) == per_day


def test_without_coding_the_panel_shows_no_coding_at_all(world):
    member = in_utc(world.users["member"])

    html = panel_as(member)

    assert 'data-testid="week-chart"' in html
    assert 'data-testid="week-coding"' not in html
    assert "data-coding-seconds" not in html
    assert "Coding:" not in html
    assert len(re.findall(r'<g class="bar[^"]*" data-date="[^"]+" data-seconds="\d+"', html)) == 7


def test_only_the_viewers_own_coding_in_this_company_is_shown(world):
    owner = in_utc(world.users["owner"])
    member = in_utc(world.users["member"])
    outsider = in_utc(world.users["outsider"])
    code(world.a, member, days_ago(1), 60, project="members-secret", language="Rust")
    code(world.b, outsider, days_ago(1), 60, project="outsiders-secret", language="Elixir")
    from organizations import services as org

    side = org.company_create(owner=owner, name="Side Gig")
    code(side, owner, days_ago(2, hour=15), 40, project="side-gig", language="Ruby")  # the owner's, elsewhere
    code(world.a, owner, days_ago(2), 20, project="stint", language="Python")

    html = panel_as(owner)  # the owner sees the member on the Now board, not their coding

    line = coding_line(html)
    assert line.startswith(f"{20 * 60} Coding: 20m this week")
    for secret in ["members-secret", "Rust", "outsiders-secret", "Elixir", "side-gig", "Ruby"]:
        assert secret not in html
    assert sum(coding_per_day(html).values()) == 20 * 60
    # Their own coding in the other company shows when they look at that company.
    side_line = coding_line(panel_as(owner, f"{PANEL}?company={side.pk}"))
    assert side_line.startswith(f"{40 * 60} Coding: 40m this week · side-gig 40m · Ruby 40m")

    # The member's panel shows the member's hour, not the owner's 20 minutes.
    assert coding_line(panel_as(member)).startswith(f"{60 * 60} Coding: 1h 00m this week")
    # The outsider's panel, in their own company, shows only theirs.
    outsider_html = panel_as(outsider)
    assert "outsiders-secret" in outsider_html
    assert "members-secret" not in outsider_html
    assert "stint 20m" not in outsider_html


def test_an_hour_of_coding_is_as_tall_as_an_hour_tracked():
    days = [{"date": f"2026-03-0{n}", "seconds": 3600 if n == 2 else 0} for n in range(1, 8)]
    report = {"days": days, "projects": []}
    coding = {
        "total_seconds": 3600,
        "days": [{"date": d["date"], "seconds": 3600 if d["date"] == "2026-03-05" else 0} for d in days],
        "projects": [{"name": "stint", "seconds": 3600}],
        "languages": [{"name": "Python", "seconds": 3600}],
    }

    chart = week_bars(report, today=date(2026, 3, 7), coding=coding)

    tracked = chart["bars"][1]
    coded = chart["bars"][4]
    assert tracked["height"] == coded["coding_height"] > 0
    assert coded["coding_value"] == "1h 00m"
    # The thin bar sits beside the day's bar, inside the day's slot.
    assert coded["x"] + coded["width"] < coded["coding_x"] < coded["coding_x"] + coded["coding_width"] <= 5 * 80
    assert chart["coding"]["total"] == "1h 00m"
    # Without coding the chart is as before: no summary, bars centred in their slots.
    plain = week_bars(report, today=date(2026, 3, 7))
    assert plain["coding"] is None
    assert plain["bars"][0]["x"] == (80 - 44) / 2
