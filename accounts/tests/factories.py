from __future__ import annotations

import functools

import factory
from django.contrib.auth.hashers import make_password

from accounts.models import User
from organizations.models import Company, Membership, Role

PASSWORD = "correct-horse-battery-staple"


@functools.cache
def _password_hash() -> str:
    """The shared test password, hashed once per run, not per user; on first use, so with the
    session's hasher (conftest.py), not whatever was configured when this module was imported."""
    return make_password(PASSWORD)


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    timezone = "UTC"
    password = factory.LazyFunction(_password_hash)


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
