"""Every write of activity settings: the company's privacy rules (OWNER, ADMIN). A rule's
change bumps the company's rules version in the same transaction, so every intake path
re-reads the rules before its next store."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction

from activity.models import PrivacyRule
from activity.privacy import PatternError, compile_pattern, privacy_rules_changed
from common.exceptions import InvalidInput
from organizations.models import Company

MAX_PATTERN_LENGTH = 500


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


@transaction.atomic
def privacy_rule_create(*, company: Company, field: str, pattern: str, action: str) -> PrivacyRule:
    rule = PrivacyRule.objects.create(company=company, field=field, pattern=_checked_pattern(pattern), action=action)
    _rules_changed(company.pk)
    return rule


@transaction.atomic
def privacy_rule_update(*, rule: PrivacyRule, data: dict) -> PrivacyRule:
    if "pattern" in data:
        data = {**data, "pattern": _checked_pattern(data["pattern"])}
    fields = [f for f in ("field", "pattern", "action") if f in data]
    for name in fields:
        setattr(rule, name, data[name])
    rule.save(update_fields=[*fields, "updated_at"])
    _rules_changed(rule.company_id)
    return rule


@transaction.atomic
def privacy_rule_delete(*, rule: PrivacyRule) -> None:
    company_id = rule.company_id
    rule.delete()
    _rules_changed(company_id)
