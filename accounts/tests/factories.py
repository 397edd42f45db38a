from __future__ import annotations

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from organizations.models import Company, Membership, Role

PASSWORD = "correct-horse-battery-staple"
# Argon2 is slow by design; hash the shared test password once per run, not per user.
_PASSWORD_HASH = make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    timezone = "UTC"
    password = factory.LazyFunction(lambda: _PASSWORD_HASH)


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")
    slug = factory.Sequence(lambda n: f"company-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.MEMBER
