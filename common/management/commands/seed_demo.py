"""`manage.py seed_demo`: the demo world of SPEC.md (Operations). Idempotent: running it
twice changes nothing. It grows with each app (tracking adds projects, tasks and entries)."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from organizations.models import Company, Membership, Role
from organizations.services import company_create

DEMO_PASSWORD = "password123"  # SPEC's demo login; below the 12-char rule on purpose (seeded, not typed)
TEAMMATES = [
    ("sam@studio.co", "Sam Rivera", Role.MANAGER, "Europe/Berlin"),
    ("jordan@studio.co", "Jordan Lee", Role.MEMBER, "America/New_York"),
    ("priya@studio.co", "Priya Shah", Role.MEMBER, "Asia/Kolkata"),
]


class Command(BaseCommand):
    help = "Create the demo company Studio Co with alex@studio.co / password123 and teammates."

    @transaction.atomic
    def handle(self, *args, **options):
        alex, created = self._user("alex@studio.co", "Alex Morgan", "Europe/London")
        company = Company.objects.filter(memberships__user=alex, name="Studio Co").first()
        if company is None:
            company = company_create(owner=alex, name="Studio Co", timezone="Europe/London")
        for email, name, role, tz in TEAMMATES:
            user, _ = self._user(email, name, tz)
            Membership.objects.get_or_create(company=company, user=user, defaults={"role": role})
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo ready: alex@studio.co / {DEMO_PASSWORD} in {company.name} "
                f"({company.memberships.count()} members){'' if created else ' (already there)'}"
            )
        )

    def _user(self, email: str, name: str, tz: str) -> tuple[User, bool]:
        user = User.objects.filter(email=email).first()
        if user:
            return user, False
        return User.objects.create_user(email=email, password=DEMO_PASSWORD, name=name, timezone=tz), True
