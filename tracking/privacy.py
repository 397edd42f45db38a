"""Privacy rules applied to heartbeats at intake, before anything is stored (the rules are
``tracking.models.PrivacyRule``; intake is ``sync.heartbeats``). Compiled rules are cached per
process and re-read when the company's version counter in Redis moves, so a rule created or
removed applies to the very next request of every web process."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

from common.redis import get_client, key
from tracking.models import PrivacyAction, PrivacyRule

REDACTED = "[redacted]"


@dataclass(frozen=True)
class CompiledRule:
    field: str
    pattern: re.Pattern
    action: str


_rules_cache: dict[str, tuple[int, list[CompiledRule]]] = {}
_rules_lock = threading.Lock()


def rules_version_key(company_id) -> str:
    """A counter in Redis that moves whenever the company's rules change."""
    return key("privacy-rules", str(company_id))


def privacy_rules_changed(company_id) -> None:
    """Tell every process to reload the company's rules (services call this on commit)."""
    get_client().incr(rules_version_key(company_id))


def cached_rules(company_id, version: int) -> list[CompiledRule] | None:
    """This process's compiled rules for the company, if they are of ``version``."""
    with _rules_lock:
        cached = _rules_cache.get(str(company_id))
    return cached[1] if cached is not None and cached[0] == version else None


def remember_rules(company_id, version: int, rows) -> list[CompiledRule]:
    """Compile ``(field, pattern, action)`` rows (in rule order) and keep them as ``version``."""
    rules = [CompiledRule(field, re.compile(pattern, re.IGNORECASE), action) for field, pattern, action in rows]
    with _rules_lock:
        _rules_cache[str(company_id)] = (version, rules)
    return rules


RULES_ORDER = ("created_at", "id")


def privacy_rules_for(company_id) -> list[CompiledRule]:
    """The company's rules, compiled; cached per process and re-read when their version in
    Redis moves (one GET per request, so a new rule applies to the very next heartbeat)."""
    version = int(get_client().get(rules_version_key(company_id)) or 0)
    rules = cached_rules(company_id, version)
    if rules is None:
        rows = PrivacyRule.objects.filter(company_id=company_id).order_by(*RULES_ORDER)
        rules = remember_rules(company_id, version, rows.values_list("field", "pattern", "action"))
    return rules


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
