"""Formatting for the dashboard templates (durations as people read them)."""

from __future__ import annotations

from datetime import datetime

from django import template

register = template.Library()


@register.filter
def hm(seconds) -> str:
    """3h 05m; 42m under an hour; 0m for nothing."""
    hours, minutes = divmod(int(seconds or 0) // 60, 60)
    return f"{hours}h {minutes:02d}m" if hours else f"{minutes}m"


@register.filter
def clock(seconds) -> str:
    """H:MM:SS, the running timer's face (the script keeps it ticking)."""
    hours, rest = divmod(max(int(seconds or 0), 0), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


@register.filter
def since(started_at: datetime, now: datetime) -> int:
    return int((now - started_at).total_seconds())


@register.filter
def iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


@register.filter
def initials(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.filter
def label(value: str) -> str:
    """time_entries -> Time entries."""
    text = str(value or "").replace("_", " ")
    return text[:1].upper() + text[1:]


# What a week's approval status reads as on the page (the data-status attribute keeps the
# API's value): a week never submitted, or reopened, is simply not submitted yet.
APPROVAL_LABELS = {
    "OPEN": "Not submitted",
    "SUBMITTED": "Submitted",
    "APPROVED": "Approved",
    "REJECTED": "Rejected",
    "MIXED": "Mixed",
}


@register.filter
def approval(status: str) -> str:
    return APPROVAL_LABELS.get(str(status), str(status))
