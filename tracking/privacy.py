"""Privacy rules applied to heartbeats at intake, before anything is stored (the rules are
``tracking.models.PrivacyRule``; intake is ``sync.heartbeats`` and ``sync.intake``). Compiled
rules are cached per process and re-read when ``Company.privacy_rules_version`` moves, which
the rule services do in their own transaction: a rule created or removed applies to the very
next request of every web process."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from django.db.models import F

from organizations.models import Company
from tracking.models import PrivacyAction, PrivacyRule

REDACTED = "[redacted]"


@dataclass(frozen=True)
class CompiledRule:
    field: str
    pattern: re.Pattern
    action: str


_rules_cache: dict[str, tuple[int, list[CompiledRule]]] = {}
_rules_lock = threading.Lock()


def privacy_rules_changed(company_id) -> None:
    """Move the company's rules version, so every process reloads them (inside the rule
    service's transaction: the change and the version commit together)."""
    Company.objects.filter(pk=company_id).update(privacy_rules_version=F("privacy_rules_version") + 1)


RULES_ORDER = ("created_at", "id")


def cached_rules(company_id) -> tuple[int, list[CompiledRule]] | None:
    """This process's compiled rules of the company and the version they were compiled at
    (both intake paths share them: the view here, the lean path in ``sync.intake``)."""
    with _rules_lock:
        return _rules_cache.get(str(company_id))


def remember_rules(company_id, version: int, rows) -> tuple[int, list[CompiledRule]]:
    """Compile ``(field, pattern, action)`` rows (in ``RULES_ORDER``) as the company's rules at
    ``version`` (case-insensitive patterns), and keep them for this process."""
    entry = (
        version,
        [CompiledRule(field, re.compile(pattern, re.IGNORECASE), action) for field, pattern, action in rows],
    )
    with _rules_lock:
        _rules_cache[str(company_id)] = entry
    return entry


def privacy_rules_for(company_id) -> list[CompiledRule]:
    """The company's rules, compiled; cached per process and re-read when their version
    moves (one indexed read per request, so a new rule applies to the very next heartbeat)."""
    version = Company.objects.filter(pk=company_id).values_list("privacy_rules_version", flat=True).first() or 0
    cached = cached_rules(company_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = PrivacyRule.objects.filter(company_id=company_id).order_by(*RULES_ORDER)
    return remember_rules(company_id, version, rows.values_list("field", "pattern", "action"))[1]


def apply_privacy(heartbeat: dict, rules: list[CompiledRule]) -> dict | None:
    """None when a drop rule matches; else the heartbeat with matching fields redacted (a
    redacted URL takes its domain with it). Rules are searched on the original values."""
    redact = set()
    for rule in rules:
        if rule.pattern.search(heartbeat[rule.field]):
            if rule.action == PrivacyAction.DROP:
                return None
            redact.add(rule.field)
    if not redact:
        return heartbeat
    return {**heartbeat, **dict.fromkeys(redact, REDACTED)}
