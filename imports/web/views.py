"""The dashboard's Import page (SPEC issue 20, "Surfaces"): upload a file, preview the dry
run's summary with its first error rows, confirm, watch the progress live. The page itself is
a form; static/js/imports.js calls the API (``POST /api/v1/imports``) with the session and
follows ``import.progress`` / ``import.finished`` on the socket."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from rest_framework.exceptions import NotFound

from changelog.selectors import head_cursor
from imports import sources
from organizations import permissions
from organizations.api.scoping import company_membership

SOURCE_LABELS = {
    "toggl_csv": "Toggl Track (detailed CSV)",
    "clockify_csv": "Clockify (detailed CSV)",
    "harvest_csv": "Harvest (time report CSV)",
    "solidtime_csv": "solidtime (CSV)",
    "timetagger_json": "TimeTagger (records JSON)",
    "activitywatch_json": "ActivityWatch (export JSON)",
    "wakatime_json": "WakaTime (data dump JSON)",
    "stint_json": "Stint (full export JSON)",
}


@never_cache
@login_required
@require_GET
def imports_page(request):
    memberships = sorted(permissions.active_memberships(request.user), key=lambda m: (m.company.name, m.company_id))
    raw = request.GET.get("company")
    try:
        membership = company_membership(memberships, raw) if raw is not None else memberships[0]
    except (NotFound, IndexError):
        raise Http404("No such company.") from None
    context = {
        "memberships": memberships,
        "membership": membership,
        "is_approver": permissions.can_read_team_reports(membership),
        "can_invite": permissions.can_manage_members(membership),  # invite_unknown: OWNER/ADMIN
        "cursor": head_cursor(),
        "sources": [(name, label) for name, label in SOURCE_LABELS.items() if sources.supported(name)],
    }
    return render(request, "imports.html", context)
