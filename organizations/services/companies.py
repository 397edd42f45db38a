"""Companies: creating one, its settings (the period lock among them), its plan, deleting it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Protocol, cast
from zoneinfo import ZoneInfo

import structlog
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from audit import recording as audit
from common.db_guards import period_locks_lifted
from common.exceptions import ConflictError, InvalidInput
from common.models import uuid7
from organizations import plans
from organizations.models import (
    Company,
    Membership,
    Project,
    Role,
    SubscriptionStatus,
)

logger = structlog.get_logger(__name__)


# --------------------------------------------------------------------------- companies


@transaction.atomic
def company_create(*, owner: User, name: str, timezone: str | None = None) -> Company:
    """A new company with ``owner`` as its first OWNER. Two companies may share a name; their
    slugs differ by a random suffix. The unique index decides races: on a collision the insert
    is retried inside a savepoint with a fresh suffix."""
    base = slugify(name)[:60] or "company"
    slug = base
    for _attempt in range(5):
        try:
            with transaction.atomic():
                company = Company.objects.create(name=name, slug=slug, timezone=timezone or owner.timezone)
            break
        except IntegrityError:
            slug = f"{base}-{uuid7().hex[-8:]}"
    else:  # pragma: no cover - five random collisions in a row
        raise ConflictError("Could not choose a unique slug; try again.", code="slug_conflict")
    Membership.objects.create(company=company, user=owner, role=Role.OWNER)
    return company


# How far ahead ``locked_until`` may go: locking next month's payroll in advance is a plan, a
# date years ahead is a typo that would freeze everyone's timers.
LOCKED_UNTIL_MAX_AHEAD = timedelta(days=365)


class PeriodLockGuard(Protocol):
    def __call__(self, *, company: Company, bound: datetime) -> None: ...


_period_lock_guard: PeriodLockGuard | None = None


def set_period_lock_guard(guard: PeriodLockGuard) -> None:
    """The tracking app's check for a ``locked_until`` that moves later (it waits for the
    company's in-flight entry writes and refuses while a timer runs in the newly locked time:
    tracking.services.timesheets.company_lock_guard). Registered when the app registry is
    ready: this app may not import tracking (docs/timesheets.md, "Layering")."""
    global _period_lock_guard
    _period_lock_guard = guard


def locked_until_end(day: date | None, tz: str) -> datetime | None:
    """The instant ``locked_until`` locks up to: the end of that local day in the company's
    time zone (the database's check computes the same: tracking migration 0006)."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))


@transaction.atomic
def company_update(*, company: Company, changes: dict, actor: User | None = None) -> Company:
    """Change company settings; every changed field is audited (``company.updated``). A
    ``locked_until`` may be at most a year ahead of the company's today; when the locked time
    grows (a later date, or a time zone that moves its end), the period lock guard runs first.
    ``subscription_status`` goes through ``company_change_plan`` (its own audit row), before the
    settings, which are checked against the new plan (screenshots_enabled: organizations.plans)."""
    changes = dict(changes)
    if "subscription_status" in changes:  # the plan first: the settings below are checked against it
        company = company_change_plan(company=company, plan=changes.pop("subscription_status"), actor=actor)
    # The row lock serialises settings changes: two admins moving locked_until at once are
    # checked one after the other, each against the other's result.
    current = Company.objects.select_for_update(no_key=True).get(pk=company.pk)
    if changes.get("screenshots_enabled") and not current.screenshots_enabled:
        plans.check(current, plans.SCREENSHOTS)
    fields = list(changes)
    before = audit.snapshot(current, fields)
    for field, value in changes.items():
        setattr(current, field, value)
    if "locked_until" in changes and current.locked_until is not None:
        today = timezone.now().astimezone(ZoneInfo(current.timezone)).date()
        if current.locked_until > today + LOCKED_UNTIL_MAX_AHEAD:
            raise InvalidInput(
                f"At most a year ahead: {today + LOCKED_UNTIL_MAX_AHEAD} or earlier.",
                code="too_far_ahead",
                attr="locked_until",
            )
    old_end = locked_until_end(
        before.get("locked_until", current.locked_until), before.get("timezone", current.timezone)
    )
    new_end = locked_until_end(current.locked_until, current.timezone)
    if new_end is not None and (old_end is None or new_end > old_end):
        if _period_lock_guard is None:  # pragma: no cover - the tracking app registers it
            raise ImproperlyConfigured("No period lock guard: is the tracking app installed?")
        _period_lock_guard(company=current, bound=new_end)
    if changes:
        current.save(update_fields=[*changes, "updated_at"])
    changed = audit.diff(before, audit.snapshot(current, fields), fields)
    if changed:
        audit.record(
            action="company.updated",
            target_type="company",
            target_id=current.pk,
            company_id=current.pk,
            actor=actor,
            changes=changed,
        )
    return current


@transaction.atomic
def company_change_plan(*, company: Company, plan: str, actor: User | None = None) -> Company:
    """Move the company to another plan (the admin's "Change plan to" actions, ``manage.py
    set_plan``, the OWNER's PATCH of ``subscription_status``), audited as
    ``company.plan_changed``. A lower plan keeps everything the company has (members,
    screenshots, exports): only additions past the new limits are refused (organizations.plans)."""
    if plan not in SubscriptionStatus.values:
        raise InvalidInput(
            f"Not a plan: choose one of {', '.join(SubscriptionStatus.values)}.",
            code="invalid_choice",
            attr="subscription_status",
        )
    # The lock plans.check takes: a plan change waits for additions counted under the old plan.
    current = Company.objects.select_for_update(no_key=True).get(pk=company.pk)
    before = current.subscription_status
    if before != plan:
        current.subscription_status = plan
        current.save(update_fields=["subscription_status", "updated_at"])
        audit.record(
            action="company.plan_changed",
            target_type="company",
            target_id=current.pk,
            company_id=current.pk,
            actor=actor,
            changes={"subscription_status": [before, plan]},
        )
        logger.info("company_plan_changed", company_id=str(current.pk), before=before, after=plan)
    return current


# --------------------------------------------------------------------------- deleting a company


@transaction.atomic
def company_delete(*, company: Company) -> None:
    """Delete a company and everything it owns (an operator's shell; the admin's delete goes
    here too). Its time entries go with it, locked periods included: the database's
    locked-period check is lifted for this one transaction (``period_locks_lifted``), because a
    lock protects the company's signed-off time from edits, and with the company gone there is
    nothing left to protect."""
    with period_locks_lifted():
        # Rows that PROTECT a project (time entries: a project with time is archived, never
        # deleted) would stop the cascade; the company's own go first. Found through the
        # relation, not an import: organizations sits below the apps that own them.
        for relation in Project._meta.related_objects:
            if relation.on_delete is models.PROTECT:
                protecting = cast(type[models.Model], relation.related_model)  # a model, never "self" here
                protecting._base_manager.filter(**{f"{relation.field.name}__company": company}).delete()
        company.delete()
