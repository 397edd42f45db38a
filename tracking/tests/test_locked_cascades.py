"""Deleting a whole company or user deletes their time entries by cascade, locked periods
included: ``company_delete`` and ``user_delete`` lift the database's check for their own
transaction (``common.db_guards.period_locks_lifted``), and only for it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from accounts import profile as account_profile
from accounts.models import User
from accounts.tests.factories import UserFactory
from common.db_guards import period_locks_lifted
from organizations import services as org_services
from organizations.models import Company
from tests.support.admin import page
from tests.support.locked_periods import lock_until, lock_week
from tracking import services
from tracking.models import TimeEntry, Timesheet
from tracking.services.rules import PeriodLocked

pytestmark = pytest.mark.django_db
MONDAY = datetime(2026, 3, 2, tzinfo=UTC)
T0 = MONDAY + timedelta(days=2, hours=9)


def an_entry(world, role="member", company=None, project=None, start=T0) -> TimeEntry:
    company = company or world.a
    return services.entry_create(
        membership=world.users[role].memberships.get(company=company),
        data={"project_id": (project or world.project_open).id, "started_at": start, "duration_seconds": 3600},
    )


def test_deleting_a_company_with_locked_time_deletes_it_all(world):
    entry = an_entry(world)
    lock_week(company=world.a, user=world.users["member"], day=MONDAY.date())
    lock_until(world.a, date(2026, 3, 31))
    b_entry = an_entry(world, role="outsider", company=world.b, project=world.project_b)
    lock_until(world.b, date(2026, 3, 31))

    with transaction.atomic():  # inside a caller's transaction (a request, a command)
        org_services.company_delete(company=world.a)
        # the lift ended with the deletion, not with the transaction: B's lock still holds
        with pytest.raises(PeriodLocked):
            services.entry_delete(entry=b_entry)

    assert not Company.objects.filter(pk=world.a.pk).exists()
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()
    assert not Timesheet.objects.filter(company_id=world.a.pk).exists()
    b_entry.refresh_from_db()
    assert b_entry.deleted_at is None


def test_deleting_a_user_with_locked_time_deletes_their_entries(world):
    entry = an_entry(world)
    lock_week(company=world.a, user=world.users["member"], day=MONDAY.date())
    kept = an_entry(world, role="lead")
    locked_lead = an_entry(world, role="lead", start=T0 - timedelta(days=7))
    lock_week(company=world.a, user=world.users["lead"], day=(MONDAY - timedelta(days=7)).date())

    account_profile.user_delete(user=world.users["member"])
    with pytest.raises(PeriodLocked):  # the lift ended with the deletion
        services.entry_delete(entry=locked_lead)

    assert not User.objects.filter(pk=world.users["member"].pk).exists()
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()
    assert TimeEntry.objects.filter(pk=kept.pk).exists()


def test_without_the_lift_the_cascade_is_refused(world):
    # what company_delete guards against: a plain delete() of a company with locked time
    an_entry(world)
    lock_until(world.a, date(2026, 3, 31))
    with pytest.raises(IntegrityError), transaction.atomic():
        world.a.delete()
    assert Company.objects.filter(pk=world.a.pk).exists()


@pytest.mark.django_db(transaction=True)
def test_the_lift_needs_a_transaction():
    # outside one, SET LOCAL would end with its own statement and lift nothing: refuse loudly
    with pytest.raises(RuntimeError, match="needs a transaction"), period_locks_lifted():
        pass


def test_the_admin_refuses_to_delete_a_company_that_has_members(client, world):
    # Memberships are removed, never deleted, in the admin (their admin has no delete): so
    # Django refuses the cascade before anything runs, even for a superuser. Deleting a
    # company or user is company_delete / user_delete (an operator's shell); the admin's
    # delete_model goes through them too, should it ever get that far.
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    url = reverse("admin:organizations_company_delete", args=[world.a.pk])
    assert "permission to delete the following types of objects" in page(client.get(url))
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Company.objects.filter(pk=world.a.pk).exists()
