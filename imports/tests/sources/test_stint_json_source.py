"""The entry's ``source`` in stint_json (docs/imports.md, Stint's "Lost"): the full export
writes where each entry came from (TIMER, MANUAL, SYNC, IMPORT); an import records every
entry it creates as IMPORT, whatever the file says, and only in the importing company."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.storage import default_storage

from imports import services
from organizations import services as org
from reports import services as reports
from tracking import services as tracking
from tracking.models import Source, TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_the_export_writes_each_entrys_source_and_the_import_records_import(world):
    owner = world.users["owner"].memberships.get(company=world.a)
    start = datetime(2026, 3, 2, 8, tzinfo=UTC)
    for n, source in enumerate([Source.MANUAL, Source.SYNC, Source.TIMER]):
        tracking.entry_create(
            membership=owner,
            data={"project_id": world.project_open.id, "started_at": start + timedelta(hours=n),
                  "ended_at": start + timedelta(hours=n, minutes=30)},
            source=source,
        )  # fmt: skip
    export = reports.export_request(membership=owner, report="full", fmt="json", first=None, last=None, tz="UTC")
    export = reports.export_build(export_id=export.pk)
    assert export is not None
    with default_storage.open(export.file_key, "rb") as stream:
        written = [entry["source"] for entry in json.load(stream)["entries"]]
    assert written == ["MANUAL", "SYNC", "TIMER"]
    # The move (as test_round_trip.py): a person's entries never overlap, whatever the company.
    TimeEntry.objects.filter(company=world.a).delete()

    empty = org.company_create(owner=world.users["owner"], name="Company C")
    job = services.import_file(
        membership=world.users["owner"].memberships.get(company=empty),
        path=default_storage.path(export.file_key),
        source="stint_json",
        dry_run=False,
    )

    assert job.summary["created"]["entries"] == 3
    assert set(TimeEntry.objects.filter(company=empty).values_list("source", flat=True)) == {Source.IMPORT}
    assert not TimeEntry.objects.filter(company=world.b).exists()
