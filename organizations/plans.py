"""Plan limits: what a company's ``subscription_status`` allows (``settings.PLAN_LIMITS``), and
the one check every service that adds something limited calls (docs/organizations.md, "Plans
and limits").

Counted limits (members, exports per day, webhooks) are checked under a row lock on the
company, taken in the caller's transaction before it counts and inserts: two additions at the
limit run one after the other, and the second sees the first's row. Apps above this one count
their own rows: they register a counter here when the app registry is ready (this app may not
import them), as reports does for ``exports_per_day`` and the webhooks issue (#19) will for
``webhooks``.

A plan lowered below what a company already has keeps everything it has (members, screenshots,
exports); only new additions are refused."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import Case, IntegerField, Value, When
from django.db.models.expressions import Combinable
from django.utils import timezone

from common.exceptions import PlanLimitError
from organizations.models import Company, Invitation, Membership, SubscriptionStatus

MEMBERS = "members"
SCREENSHOTS = "screenshots"
RETENTION_DAYS = "retention_days"
EXPORTS_PER_DAY = "exports_per_day"
WEBHOOKS = "webhooks"
COUNTED = (MEMBERS, EXPORTS_PER_DAY, WEBHOOKS)

# What each limit is called in an error or the admin.
LABELS = {
    MEMBERS: "members (active members and pending invitations)",
    SCREENSHOTS: "screenshots",
    RETENTION_DAYS: "days activity and screenshots are kept",
    EXPORTS_PER_DAY: "report exports per UTC day",
    WEBHOOKS: "webhook endpoints",
}


class PlanLimitExceeded(PlanLimitError):
    """402 ``plan_limit``; ``attr`` is the limit's name, ``limit`` and ``plan`` what refused."""

    def __init__(self, company: Company, limit: str, allowed: int | bool | None):
        plan = company.subscription_status
        if limit == SCREENSHOTS:
            message = f"The {plan} plan does not include screenshots."
        else:
            message = f"The {plan} plan allows {allowed} {LABELS[limit]}; upgrade the plan to add more."
        super().__init__(message, code="plan_limit", attr=limit)
        self.limit, self.plan, self.allowed = limit, plan, allowed


@dataclass(frozen=True)
class PlanLimits:
    members: int | None
    screenshots: bool
    retention_days: int | None
    exports_per_day: int | None
    webhooks: int | None


def plan_limits(plan: str) -> PlanLimits:
    return PlanLimits(**settings.PLAN_LIMITS[plan])  # type: ignore[arg-type]  # validated in settings


def limits_for(company: Company) -> PlanLimits:
    return plan_limits(company.subscription_status)


# --------------------------------------------------------------------------- counting

Counter = Callable[[UUID], int]
_counters: dict[str, Counter] = {}


def register_counter(limit: str, counter: Counter) -> None:
    """How an app above this one counts a company's use of ``limit`` (``counter(company_id)``),
    called from its AppConfig.ready: reports for exports_per_day, the webhooks app for webhooks."""
    if limit not in COUNTED or limit == MEMBERS:
        raise ValueError(f"{limit!r} is not a limit counted by another app")
    _counters[limit] = counter


def _members(company_id: UUID) -> int:
    # A pending invitation holds a seat from the moment it is sent, so accepting it never
    # finds the company full unless the plan was lowered meanwhile.
    active = Membership.objects.filter(company_id=company_id, is_active=True).count()
    pending = Invitation.objects.filter(
        company_id=company_id, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).count()
    return active + pending


def usage(company: Company, limit: str) -> int | None:
    """What the company uses of a counted limit now; None when nothing counts it yet."""
    if limit == MEMBERS:
        return _members(company.pk)
    counter = _counters.get(limit)
    return counter(company.pk) if counter is not None else None


def start_of_utc_day() -> datetime:
    """Where ``exports_per_day`` counts from."""
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


# --------------------------------------------------------------------------- checking


def check(company: Company, limit: str, *, adding: int = 1) -> None:
    """Refuse (402) when ``adding`` more of ``limit`` would take the company past its plan.
    Call it inside the transaction that inserts: a counted limit locks the company row first
    (SELECT ... FOR NO KEY UPDATE) and reads the plan and the count under that lock, so concurrent
    additions are counted one after the other. ``screenshots`` is a yes or no (no lock)."""
    if limit == SCREENSHOTS:
        if not limits_for(company).screenshots:
            raise PlanLimitExceeded(company, SCREENSHOTS, False)
        return
    if limit not in COUNTED:
        raise ValueError(f"{limit!r} is not a limit that can be checked")
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("plans.check of a counted limit must run inside the inserting transaction")
    # NO KEY: the lock orders additions and plan changes, yet leaves every insert that
    # references the company (entries, heartbeats: FOR KEY SHARE) unblocked.
    locked = Company.objects.select_for_update(no_key=True).only("id", "subscription_status").get(pk=company.pk)
    allowed = getattr(limits_for(locked), limit)
    if allowed is None:
        return
    used = usage(locked, limit)
    if used is None:
        raise ImproperlyConfigured(f"nothing counts {limit!r}: register_counter is called by the app that owns it")
    if used + adding > allowed:
        raise PlanLimitExceeded(locked, limit, allowed)


def allows_screenshots(company: Company) -> bool:
    return limits_for(company).screenshots


def retention_days(company: Company, operator_days: int | None) -> int | None:
    """The stricter of the operator's setting (or the company's own) and the plan's."""
    return _stricter(operator_days, limits_for(company).retention_days)


def _stricter(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)


def retention_days_sql(status_field: str = "company__subscription_status") -> Combinable:
    """Each row's company's plan retention in days, as SQL (0 for a plan that keeps forever:
    callers combine it with their own setting through ``Least``/``Case``)."""
    return Case(
        *[
            When(**{status_field: plan}, then=Value(days))
            for plan in SubscriptionStatus.values
            if (days := plan_limits(plan).retention_days) is not None
        ],
        default=Value(None),
        output_field=IntegerField(),
    )


def plans_keeping_less_than(days: int | None) -> dict[str, int]:
    """{plan: its retention days} for the plans that keep data for fewer than ``days`` (None:
    forever), i.e. where the plan, not the operator, decides what goes."""
    found = {}
    for plan in SubscriptionStatus.values:
        keep = plan_limits(plan).retention_days
        if keep is not None and (days is None or keep < days):
            found[plan] = keep
    return found
