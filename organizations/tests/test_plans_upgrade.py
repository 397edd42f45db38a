"""Upgrading to enforced plans (organizations migration 0008): the companies that exist when it
runs stored FREE only because it was the default, so they move to ENTERPRISE and lose no
screenshots and no history; a plan set on purpose stays; companies created later start on
TRIAL."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory
from organizations import plans
from organizations import services as org_services
from organizations.models import Company

BEFORE = [("organizations", "0007_company_plan_trial_default")]


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_companies_on_the_old_free_default_keep_everything_and_chosen_plans_stay():
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    owner = UserFactory()
    untouched = org_services.company_create(owner=owner, name="Since 2025")
    chosen = org_services.company_create(owner=owner, name="Pays for PRO")
    _migrate(BEFORE)
    try:
        Company.objects.filter(pk=untouched.pk).update(subscription_status="FREE")
        Company.objects.filter(pk=chosen.pk).update(subscription_status="PRO")
    finally:
        _migrate(leaves)

    untouched.refresh_from_db()
    chosen.refresh_from_db()
    assert untouched.subscription_status == "ENTERPRISE"
    assert plans.allows_screenshots(untouched)
    assert plans.limits_for(untouched).retention_days is None  # no history purged by plan
    assert chosen.subscription_status == "PRO"
    assert org_services.company_create(owner=owner, name="New").subscription_status == "TRIAL"
