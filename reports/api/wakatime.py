"""WakaTime's status bar, ``GET /api/compat/wakatime/v1/users/current/statusbar/today`` (SPEC:
Bring your own tracker): what an editor plugin shows beside the clock, today's coding time
on the user's local day, in WakaTime's shape (the fields its plugins read: Wakapi's answer
has the same). A report, so it lives here; the intake's base view gives it WakaTime's errors
and the ingest-scoped key the editor already has."""

from __future__ import annotations

import zoneinfo

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.authentication import authenticated_user
from activity.api.wakatime import WakaTimeView
from activity.wakatime import duration_text
from organizations.api.scoping import request_membership
from reports.selectors.coding import coding_today


def _entry(seconds: float, total: float) -> dict:
    whole = round(seconds)
    hours, minutes = divmod(whole // 60, 60)
    return {
        "total_seconds": seconds,
        "text": duration_text(seconds),
        "digital": f"{hours}:{minutes:02d}",
        "hours": hours,
        "minutes": minutes,
        "percent": round(100 * seconds / total, 2) if total else 0.0,
    }


def _named(totals: dict[str, float], total: float) -> list[dict]:
    return [{"name": name, **_entry(seconds, total)} for name, seconds in totals.items()]


@extend_schema(exclude=True)  # WakaTime's protocol, documented in docs/trackers-wakatime.md
class StatusBarTodayView(WakaTimeView):
    def get(self, request: Request) -> Response:
        membership = request_membership(request)
        user = authenticated_user(request)
        tz = zoneinfo.ZoneInfo(user.timezone)
        now = timezone.now()
        found = coding_today(company_id=membership.company_id, user_id=user.pk, tz=tz, now=now)
        total = found.total_seconds
        grand_total = _entry(total, total)
        del grand_total["percent"]
        day = now.astimezone(tz).date()
        return Response(
            {
                "cached_at": now.isoformat().replace("+00:00", "Z"),
                "data": {
                    "grand_total": grand_total,
                    "projects": _named(found.projects, total),
                    "languages": _named(found.languages, total),
                    "editors": _named(found.editors, total),
                    "range": {"date": day.isoformat(), "text": "Today", "timezone": tz.key},
                },
            }
        )
