"""The dashboard page and its panels (SPEC: Web dashboard). Server-rendered from the same
selectors as the API; static/js/dashboard.js re-fetches a panel (``/dashboard/panels/<name>/``)
when a realtime event says it changed. Thin: pick the membership, call selectors, render."""

from __future__ import annotations

import zoneinfo
from datetime import date, timedelta

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import NotFound

from changelog.selectors import head_cursor
from organizations import permissions
from organizations.api.scoping import company_membership
from reports.api.serializers import ExportStatusSerializer
from reports.models import ExportFormat, ExportReport
from reports.selectors.coding import coding_report
from reports.selectors.dashboard import my_timesheet_weeks, now_board
from reports.selectors.days import local_day_bounds
from reports.selectors.exports import export_list
from reports.selectors.team import team_members, team_rows
from reports.selectors.tracked_time import weekly_report
from reports.web.charts import week_bars
from screenshots import selectors as screenshot_selectors
from screenshots.api.serializers import ScreenshotLinksSerializer
from screenshots.models import ScreenshotStatus
from tracking.weeks import Week, week_containing

PANELS = ("now", "week", "team", "exports")
EXPORTS_SHOWN = 8
SCREENSHOTS_PER_MEMBER = 8


def _memberships_and_current(request):
    """The caller's companies, and the one the page shows: ``?company=``, else the first by
    name. Another company's id (or junk) is 404, as everywhere."""
    memberships = sorted(permissions.active_memberships(request.user), key=lambda m: (m.company.name, m.company_id))
    raw = request.GET.get("company")
    if raw is None:
        return memberships, (memberships[0] if memberships else None)
    try:  # the API's one rule: empty, junk or not theirs is 404
        return memberships, company_membership(memberships, raw)
    except NotFound:
        raise Http404("No such company.") from None


def _now_context(request, membership, now) -> dict:
    tz = zoneinfo.ZoneInfo(membership.company.timezone)
    today = now.astimezone(tz).date()
    board = now_board(membership=membership, day=today, tz=tz, now=now)
    return {
        "board": board,
        "me": next((row for row in board if row["is_me"]), None),
        "now": now,
        "board_day": today,
        "board_tz": tz.key,
        "projects": permissions.visible_projects(membership).filter(archived_at__isnull=True).order_by("name"),
    }


def _week_context(request, membership, now) -> dict:
    tz = zoneinfo.ZoneInfo(request.user.timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=6)
    report = weekly_report(
        company_id=membership.company_id,
        user_id=request.user.pk,
        first=first,
        tz=tz,
        now=now,
        week_start=membership.company.week_start,
    )
    # The viewer's own coding time from their editors, the same figures as /reports/coding.
    coding = coding_report(company_id=membership.company_id, user_id=request.user.pk, first=first, last=today, tz=tz)
    return {
        "chart": week_bars(report, today=today, coding=coding),
        "week_tz": tz.key,
        "my_weeks": my_timesheet_weeks(membership=membership, timezone=tz.key, now=now),
    }


def _team_context(request, membership, now) -> dict:
    if not permissions.can_read_team_reports(membership):
        return {"team_visible": False}
    tz = zoneinfo.ZoneInfo(membership.company.timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=6)
    lo, hi = local_day_bounds(first, tz)[0], local_day_bounds(today, tz)[1]
    members = list(team_members(membership=membership).order_by("user__name", "user_id"))
    rows = team_rows(
        company_id=membership.company_id,
        members=members,
        lo=lo,
        hi=hi,
        now=now,
        week_start=membership.company.week_start,
    )
    day_lo, day_hi = local_day_bounds(today, tz)
    # Only processed ones: a PENDING upload has no thumbnail (nor a link) yet.
    shots = screenshot_selectors.screenshot_list(
        memberships=[membership],
        filters=screenshot_selectors.ScreenshotFilters(
            captured_from=day_lo, captured_to=day_hi, status=ScreenshotStatus.READY
        ),
    )
    by_user: dict[str, list] = {}
    for shot in ScreenshotLinksSerializer(shots[:200], many=True, context={"request": request}).data:
        by_user.setdefault(str(shot["user_id"]), []).append(shot)
    for row in rows:
        row["screenshots"] = by_user.get(row["user"]["id"], [])[:SCREENSHOTS_PER_MEMBER]
    return {"team_visible": True, "team_rows": rows, "team_from": first, "team_to": today}


def _exports_context(request, membership, now) -> dict:
    mine = export_list(memberships=[membership], user=request.user).filter(requested_by=request.user)
    tz = zoneinfo.ZoneInfo(membership.company.timezone)
    today = now.astimezone(tz).date()
    return {
        "exports": ExportStatusSerializer(mine[:EXPORTS_SHOWN], many=True, context={"request": request}).data,
        "export_reports": ExportReport.choices,
        "export_formats": ExportFormat.choices,
        "export_from": (today - timedelta(days=6)).isoformat(),
        "export_to": today.isoformat(),
    }


_BUILDERS = {"now": _now_context, "week": _week_context, "team": _team_context, "exports": _exports_context}


@never_cache
@login_required
@require_GET
def dashboard(request):
    memberships, membership = _memberships_and_current(request)
    context = {"memberships": memberships, "membership": membership}
    if membership is not None:
        now = timezone.now()
        # Read before the panels: events after this cursor are replayed on connect, so nothing
        # that changes between rendering and the socket opening is missed.
        context["cursor"] = head_cursor()
        for build in _BUILDERS.values():
            context.update(build(request, membership, now))
        context["is_approver"] = context["team_visible"]  # the same people (see approvals)
    return render(request, "dashboard.html", context)


@never_cache
@login_required
@require_GET
def panel(request, name: str):
    if name not in PANELS:
        raise Http404("No such panel.")
    _, membership = _memberships_and_current(request)
    if membership is None:
        raise Http404("You are not a member of any company.")
    context = {"membership": membership, **_BUILDERS[name](request, membership, timezone.now())}
    return render(request, f"partials/{name}.html", context)


# --------------------------------------------------------------------------- approvals, audit trail


def _week_param(request, membership, now) -> Week:
    """The week ``?week=`` (any of its days, ISO) names, else the current one, in the
    company's time zone and week_start. Junk is 404, like any address that names nothing."""
    tz = membership.company.timezone
    raw = request.GET.get("week")
    try:
        day = date.fromisoformat(raw) if raw else now.astimezone(zoneinfo.ZoneInfo(tz)).date()
    except ValueError:
        raise Http404("No such week.") from None
    return week_containing(day, week_start=membership.company.week_start, timezone=tz)


@never_cache
@login_required
@require_GET
def approvals(request):
    """The Approvals page (SPEC: Web dashboard, issue 18): the week's timesheets of the members
    the caller approves, approve or reject in place. The rows come from the timesheet API
    (static/js/approvals.js), so the page and any other client see the same thing; this view
    only decides who may open it and which week. Approvers are OWNER, ADMIN, MANAGER and team
    LEADs, exactly those who read others' reports (``can_read_team_reports``); anyone else gets
    a 404, as for a page that does not exist."""
    memberships, membership = _memberships_and_current(request)
    if membership is None or not permissions.can_read_team_reports(membership):
        raise Http404("No such page.")
    now = timezone.now()
    week = _week_param(request, membership, now)
    context = {
        "memberships": memberships,
        "membership": membership,
        "is_approver": True,
        "cursor": head_cursor(),
        "week": week,
        "previous_week": week.period_start - timedelta(days=7),
        "next_week": week.period_start + timedelta(days=7),
    }
    return render(request, "approvals.html", context)


@never_cache
@login_required
@require_GET
def audit_trail(request):
    """My audit trail: what others did to the caller's data in this company, and who viewed
    their screenshots (``GET /api/v1/audit-log?mine=true``, read by static/js/audit.js).
    Every member may open it."""
    memberships, membership = _memberships_and_current(request)
    if membership is None:
        raise Http404("You are not a member of any company.")
    context = {
        "memberships": memberships,
        "membership": membership,
        "is_approver": permissions.can_read_team_reports(membership),
    }
    return render(request, "audit_trail.html", context)
