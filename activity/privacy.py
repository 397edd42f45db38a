"""Privacy rules applied to heartbeats at intake, before anything is stored (the rules are
``tracking.models.PrivacyRule``; intake is ``activity.heartbeats`` and ``activity.intake``). Compiled
rules are cached per process and re-read when ``Company.privacy_rules_version`` moves, which
the rule services do in their own transaction: a rule created or removed applies to the very
next request of every web process.

Patterns are RE2 (``google-re2``), not Python's ``re``: anyone who registers owns a company
and may write rules, and a backtracking engine lets one pattern like ``^(a+)+$`` hold a web
process's event loop for seconds per heartbeat, stalling every tenant on it. RE2 matches in
time linear in the text; the price is no backreferences or lookaround, which
``compile_pattern`` refuses when a rule is written."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import re2
import structlog
from django.db.models import F

from activity.models import PrivacyAction, PrivacyRule
from organizations.models import Company

logger = structlog.get_logger(__name__)
REDACTED = "[redacted]"

_OPTIONS = re2.Options()
_OPTIONS.case_sensitive = False
_OPTIONS.log_errors = False  # a refused pattern is the caller's 400, not a line on stderr


class PatternError(ValueError):
    """A pattern RE2 cannot run (the message says why)."""


def compile_pattern(pattern: str) -> re2._Regexp:
    """``pattern`` compiled for searching, case-insensitively, in linear time; ``PatternError``
    for anything RE2 refuses (a syntax error, a backreference, lookahead or lookbehind)."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(reason) from None
    except UnicodeEncodeError:  # a lone surrogate: not text RE2 (UTF-8) can hold
        raise PatternError("invalid character in pattern") from None


@dataclass(frozen=True)
class CompiledRule:
    field: str
    pattern: re2._Regexp | None  # None: stored, but not a pattern RE2 can run (see remember_rules)
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
    (both intake paths share them: the view here, the lean path in ``activity.intake``)."""
    with _rules_lock:
        return _rules_cache.get(str(company_id))


def _compiled(company_id, field: str, pattern: str, action: str) -> CompiledRule:
    try:
        return CompiledRule(field, compile_pattern(pattern), action)
    except PatternError as exc:
        # Stored before patterns were checked for RE2 (Python's re took backreferences and
        # lookaround). Intake must not fail, nor quietly store what the rule was written to
        # keep out: the field is redacted in every heartbeat (fail closed for privacy, the
        # tracked time kept) until an admin rewrites the rule.
        logger.warning("privacy_rule_not_compilable", company_id=str(company_id), field=field, error=str(exc))
        return CompiledRule(field, None, PrivacyAction.REDACT)


def remember_rules(company_id, version: int, rows) -> tuple[int, list[CompiledRule]]:
    """Compile ``(field, pattern, action)`` rows (in ``RULES_ORDER``) as the company's rules at
    ``version`` (case-insensitive patterns), and keep them for this process."""
    entry = (version, [_compiled(company_id, field, pattern, action) for field, pattern, action in rows])
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
    redacted URL takes its domain with it). Rules are searched on the original values; a rule
    without a runnable pattern matches everything."""
    redact = set()
    for rule in rules:
        if rule.pattern is None or rule.pattern.search(heartbeat[rule.field]):
            if rule.action == PrivacyAction.DROP:
                return None
            redact.add(rule.field)
    if not redact:
        return heartbeat
    return {**heartbeat, **dict.fromkeys(redact, REDACTED)}
