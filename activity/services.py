"""Every write of activity settings: the company's privacy rules (OWNER, ADMIN). A rule's
change bumps the company's rules version in the same transaction, so every intake path
re-reads the rules before its next store."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import UUID

from django.db import transaction

from activity.models import PrivacyRule
from activity.privacy import PatternError, compile_pattern, privacy_rules_changed
from audit import recording
from common.exceptions import InvalidInput
from organizations.models import Company

if TYPE_CHECKING:
    from accounts.models import User

MAX_PATTERN_LENGTH = 500
RULE_FIELDS = ("field", "pattern", "action")


def _checked_pattern(pattern: str) -> str:
    if not pattern or len(pattern) > MAX_PATTERN_LENGTH or "\x00" in pattern:
        raise InvalidInput(f"A pattern of 1 to {MAX_PATTERN_LENGTH} characters.", code="invalid", attr="pattern")
    try:
        compile_pattern(pattern)  # the engine intake runs it with (RE2: linear time)
    except PatternError as exc:
        raise InvalidInput(
            f"Not a valid regular expression: {exc}. Patterns are RE2: no backreferences or lookaround.",
            code="invalid",
            attr="pattern",
        ) from None
    return pattern


def _rules_changed(company_id: UUID) -> None:
    privacy_rules_changed(company_id)


def _audit(rule: PrivacyRule, *, verb: str, actor: User | None, changes: dict) -> None:
    recording.record_of(rule, "privacy_rule", verb, actor=actor, changes=changes)


@transaction.atomic
def privacy_rule_create(
    *, company: Company, field: str, pattern: str, action: str, actor: User | None = None
) -> PrivacyRule:
    rule = PrivacyRule.objects.create(company=company, field=field, pattern=_checked_pattern(pattern), action=action)
    _rules_changed(company.pk)
    _audit(rule, verb="created", actor=actor, changes=recording.diff({}, recording.snapshot(rule, RULE_FIELDS)))
    return rule


@transaction.atomic
def privacy_rule_update(*, rule: PrivacyRule, data: dict, actor: User | None = None) -> PrivacyRule:
    if "pattern" in data:
        data = {**data, "pattern": _checked_pattern(data["pattern"])}
    # As stored, not as passed: the admin hands over an instance its form already changed.
    before = PrivacyRule.objects.filter(pk=rule.pk).values(*RULE_FIELDS).first() or {}
    fields = [f for f in RULE_FIELDS if f in data]
    for name in fields:
        setattr(rule, name, data[name])
    rule.save(update_fields=[*fields, "updated_at"])
    _rules_changed(rule.company_id)
    changes = recording.diff(before, recording.snapshot(rule, RULE_FIELDS), RULE_FIELDS)
    if changes:
        _audit(rule, verb="updated", actor=actor, changes=changes)
    return rule


@transaction.atomic
def privacy_rule_delete(*, rule: PrivacyRule, actor: User | None = None) -> None:
    company_id, pk = rule.company_id, rule.pk
    before = recording.snapshot(rule, RULE_FIELDS)
    rule.delete()
    _rules_changed(company_id)
    rule.pk = pk  # Django clears it on delete; the log names the rule that went
    _audit(rule, verb="deleted", actor=actor, changes=recording.diff(before, {}, RULE_FIELDS))
