"""Uploading an import from the admin (issue 20, "Surfaces"): OWNER and ADMIN upload a file
for their company through the API's service, the worker's run fills the job's page with its
summary; MEMBERs and MANAGERs never get in, and another company's jobs and company stay out
of reach."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.tests.factories import MembershipFactory
from imports import services
from imports.models import ImportJob, ImportStatus
from organizations.models import Role
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)
ADD = reverse("admin:imports_importjob_add")
CSV = (
    "\ufeffUser,Email,Client,Project,Task,Description,Billable,Start date,Start time,End date,End time,Duration,"
    "Tags,Amount (USD)\n"
    "Ana,ana@example.com,Acme,Website,,Layout,Yes,2026-03-02,09:00:00,2026-03-02,10:30:00,01:30:00,,\n"
    "Ghost,ghost@example.com,,,,Nobody,No,2026-03-02,09:00:00,2026-03-02,10:00:00,01:00:00,,\n"
).encode()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def ana(world):
    return MembershipFactory(company=world.a, role=Role.MEMBER, user__email="ana@example.com").user


def form(company, **fields) -> dict:
    return {
        "company": str(company.pk),
        "file": SimpleUploadedFile("export.csv", CSV, content_type="text/csv"),
        "source": "toggl_csv",
        "timezone": "Europe/Berlin",
        "date_format": "",
        **fields,
    }


def change_url(job: ImportJob) -> str:
    return reverse("admin:imports_importjob_change", args=[job.pk])


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_an_owner_or_admin_uploads_a_dry_run_then_the_import_and_sees_the_summary(client, world, ana, role):
    client.force_login(world.users[role])
    assert client.get(ADD).status_code == 200

    response = client.post(ADD, form(world.a, dry_run="on"))

    dry = ImportJob.objects.get()
    assert (response.status_code, response["Location"]) == (302, change_url(dry))
    assert (dry.company, dry.requested_by, dry.dry_run, dry.timezone) == (
        world.a, world.users[role], True, "Europe/Berlin"
    )  # fmt: skip
    services.import_run(job_id=dry.pk)  # what the worker's task does
    shown = client.get(change_url(dry)).content.decode()
    assert "Would create: 0 clients, 1 projects, 0 tasks, 1 entries" in shown
    assert "No member of this company has the email" in shown
    assert not TimeEntry.objects.exists()

    client.post(ADD, form(world.a))
    real = ImportJob.objects.exclude(pk=dry.pk).get()
    services.import_run(job_id=real.pk)
    real.refresh_from_db()
    assert (real.status, real.dry_run, real.summary["created"]["entries"]) == (ImportStatus.READY, False, 1)
    assert TimeEntry.objects.get().user == ana
    assert "Error rows: 1." in client.get(change_url(real)).content.decode()


@pytest.mark.parametrize("role", ["manager", "member"])
def test_members_and_managers_cannot_upload(client, world, role):
    client.force_login(world.users[role])

    shown = client.get(ADD)
    posted = client.post(ADD, form(world.a))

    assert shown.status_code == posted.status_code == 302  # to the admin's sign-in
    assert reverse("admin:login") in posted["Location"]
    assert not ImportJob.objects.exists()


def test_another_companys_jobs_and_company_are_out_of_reach(client, world, ana):
    theirs = services.import_request(
        membership=world.b.memberships.get(user=world.users["outsider"]),
        fileobj=SimpleUploadedFile("theirs.csv", CSV),
        source="toggl_csv",
        dry_run=True,
    )
    client.force_login(world.users["owner"])

    listed = client.get(reverse("admin:imports_importjob_changelist")).content.decode()
    detail = client.get(change_url(theirs), follow=True)
    into_theirs = client.post(ADD, form(world.b))

    assert "theirs.csv" not in listed
    assert detail.redirect_chain[0] == (reverse("admin:index"), 302)
    assert "doesn’t exist" in detail.content.decode()
    assert "theirs.csv" not in detail.content.decode()
    assert into_theirs.status_code == 200  # the form again: B is not a choice
    assert "Select a valid choice" in into_theirs.content.decode()
    assert list(ImportJob.objects.all()) == [theirs]


def test_a_refused_file_is_a_form_error(client, world, settings):
    settings.IMPORT_MAX_BYTES = 10
    client.force_login(world.users["owner"])

    response = client.post(ADD, form(world.a))

    assert response.status_code == 200
    assert "At most 10 bytes per import file" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_the_upload_can_invite_the_files_unknown_people(client, world, ana):
    client.force_login(world.users["admin"])

    client.post(ADD, form(world.a, invite_unknown="on"))
    job = ImportJob.objects.get()
    services.import_run(job_id=job.pk)
    job.refresh_from_db()

    assert job.invite_unknown is True
    assert (job.summary["created"]["members"], job.summary["invited"]) == (1, ["ghost@example.com"])
    assert "1 members" in client.get(change_url(job)).content.decode()
    assert TimeEntry.objects.filter(company=world.a, user__email="ghost@example.com").count() == 1
