"""Every source's fixture through the whole import (imports/pipeline.py): the entries created
are exactly the hand-computed totals of cases.py, the error rows are the parser's (same row
and field), and a second import of the same file creates nothing."""

from __future__ import annotations

from collections import defaultdict

import pytest
from django.db.models import Sum

from accounts.tests.factories import MembershipFactory
from imports import services
from imports.tests.sources.cases import CASES, IMPORTER, Case
from imports.tests.sources.support import FIXTURES
from organizations.models import Role
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _run(membership, case: Case):
    return services.import_file(
        membership=membership,
        path=str(FIXTURES / case.file),
        source=case.source,
        dry_run=False,
        tz=case.options["timezone"],
        date_format=case.options.get("date_format"),
    )


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_fixture_imports_with_its_exact_totals_and_once(world, case: Case):
    importer = MembershipFactory(company=world.a, role=Role.ADMIN, user__email=IMPORTER)
    for email in case.seconds_by_email:
        if email != IMPORTER:
            MembershipFactory(company=world.a, role=Role.MEMBER, user__email=email)
    job = _run(importer, case)
    assert job.status == "READY", job.error
    assert [(e["row"], e["field"]) for e in job.summary["errors"]] == case.error_rows
    assert job.summary["created"]["entries"] == case.entries
    totals: dict[str, int] = defaultdict(int)
    rows = TimeEntry.objects.filter(company=world.a).values("user__email").annotate(seconds=Sum("duration_seconds"))
    for row in rows:
        totals[row["user__email"].lower()] += row["seconds"]
    assert dict(totals) == case.seconds_by_email
    again = _run(importer, case)
    assert again.summary["created"]["entries"] == 0
    assert TimeEntry.objects.filter(company=world.a).count() == case.entries
