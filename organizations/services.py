from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from accounts.models import User
from common.models import uuid7
from organizations.models import Company, Membership, Role


@transaction.atomic
def company_create(*, owner: User, name: str, timezone: str | None = None) -> Company:
    """A new company with ``owner`` as its first OWNER."""
    base = slugify(name)[:60] or "company"
    slug = base
    # The random suffix keeps two same-named companies (a common case: "Studio") unique
    # without a read-then-write race; the unique index is the final word.
    if Company.objects.filter(slug=slug).exists():
        slug = f"{base}-{uuid7().hex[-6:]}"
    company = Company.objects.create(name=name, slug=slug, timezone=timezone or owner.timezone)
    Membership.objects.create(company=company, user=owner, role=Role.OWNER)
    return company
