"""Harvest's people by name (its export has no email column): a row's First Name + Last Name
match the one active member of the importing company with that full name; a name nobody
has, or two members share, is an error row saying so; another company's people are never
matched."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import MembershipFactory
from imports import services
from imports.sources import harvest
from imports.sources.base import EntryRow, ParseOptions, RowError
from imports.tests.sources.support import BERLIN
from organizations.models import Role
from tracking.models import TimeEntry

HEADER = "Date,Client,Project,Task,Notes,Hours,Billable?,First Name,Last Name\n"
ROWS = (
    "2026-03-02,Acme,Web,Design,one,2,Yes,Anna,Müller\n"  # row 2
    "2026-03-02,Acme,Web,Design,two,1,Yes,  anna , MÜLLER \n"  # row 3: case and spaces do not matter
    "2026-03-02,,Intern,,three,1,No,Sam,Twin\n"  # row 4: two members share the name
    "2026-03-02,,Intern,,four,1,No,Bruno,Bravo\n"  # row 5: company B's person
    "2026-03-02,,Intern,,five,1,No,,\n"  # row 6: no name
)


def _parse(emails_by_name: dict) -> list:
    stream = io.BytesIO((HEADER + ROWS).encode())
    return list(harvest.parse(stream, ParseOptions(timezone=BERLIN, emails_by_name=emails_by_name)))


def test_names_find_the_one_member_or_are_error_rows_saying_why():
    items = _parse({"anna müller": "anna@example.com", "sam twin": None})

    assert [(i.row, i.email) for i in items if isinstance(i, EntryRow)] == [
        (2, "anna@example.com"),
        (3, "anna@example.com"),  # laid after row 2 on her day, as with emails
    ]
    problems = {i.row: (i.field, i.detail) for i in items if isinstance(i, RowError)}
    shared = "Several members of this company are named 'Sam Twin': add an Email column to tell them apart."
    assert problems == {
        4: ("First Name", shared),
        5: ("First Name", "No member of this company is named 'Bruno Bravo': add an Email column."),
        6: ("First Name", "no name"),
    }


@pytest.mark.django_db(transaction=True)
def test_an_import_matches_the_importing_companys_members_by_name_only(world, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    anna = MembershipFactory(company=world.a, role=Role.MEMBER, user__name="Anna Müller").user
    for _ in range(2):
        MembershipFactory(company=world.a, role=Role.MEMBER, user__name="Sam Twin")
    MembershipFactory(company=world.b, role=Role.MEMBER, user__name="Bruno Bravo")
    MembershipFactory(company=world.b, role=Role.MEMBER, user__name="Anna Müller")  # B's namesake
    MembershipFactory(company=world.a, role=Role.MEMBER, user__name="Old Timer", is_active=False)

    job = services.import_request(
        membership=world.users["owner"].memberships.get(company=world.a),
        fileobj=SimpleUploadedFile("harvest.csv", (HEADER + ROWS + "2026-03-03,,X,,six,1,No,Old,Timer\n").encode()),
        source="harvest_csv",
        dry_run=False,
        tz="Europe/Berlin",
    )
    services.import_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.summary["created"]["entries"] == 2
    assert [(e["row"], e["field"]) for e in job.summary["errors"]] == [
        (4, "First Name"), (5, "First Name"), (6, "First Name"), (7, "First Name")
    ]  # fmt: skip
    assert set(TimeEntry.objects.values_list("user_id", flat=True)) == {anna.pk}
    assert not TimeEntry.objects.filter(company=world.b).exists()
