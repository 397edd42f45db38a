"""`manage.py set_plan <company slug or id> <PLAN>`: move a company to another plan, as the
admin's "Change plan to" actions do (organizations.services.company_change_plan, audited as
``company.plan_changed`` with no actor: an operator's command)."""

from __future__ import annotations

from dataclasses import asdict
from uuid import UUID

from django.core.management.base import BaseCommand, CommandError

from common.exceptions import ServiceError
from organizations import plans, services
from organizations.models import Company, SubscriptionStatus


class Command(BaseCommand):
    help = "Move a company (by slug or id) to another plan: " + ", ".join(SubscriptionStatus.values) + "."

    def add_arguments(self, parser):
        parser.add_argument("company", help="The company's slug or id.")
        parser.add_argument("plan", help="One of " + ", ".join(SubscriptionStatus.values) + " (any case).")

    def handle(self, *args, company: str, plan: str, **options):
        plan = plan.strip().upper()
        if plan not in SubscriptionStatus.values:
            raise CommandError(f"{plan!r} is not a plan: choose one of {', '.join(SubscriptionStatus.values)}.")
        found = Company.objects.filter(slug=company).first()
        if found is None:
            try:
                found = Company.objects.filter(pk=UUID(company)).first()
            except ValueError:
                found = None
        if found is None:
            raise CommandError(f"No company with the slug or id {company!r}.")
        before = found.subscription_status
        try:
            changed = services.company_change_plan(company=found, plan=plan, actor=None)
        except ServiceError as exc:  # pragma: no cover - the plan was checked above
            raise CommandError(exc.message) from exc
        if before == plan:
            self.stdout.write(f"{found.name} ({found.slug}) is already on {plan}: nothing changed.")
            return
        limits = plans.limits_for(changed)
        self.stdout.write(
            self.style.SUCCESS(f"{found.name} ({found.slug}): {before} -> {plan}.")
            + f" Limits now: {', '.join(f'{k}={v}' for k, v in asdict(limits).items())}."
        )
