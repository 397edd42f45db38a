"""stint_json's clients (issue 20: "clients, projects, tasks with their tree"): the full export
lists every client, the import creates each one that is missing, so a client with no project
survives the round trip; a client is matched by name within the importing company only."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.storage import default_storage

from imports import services
from imports.sources import stint_json
from imports.sources.base import ClientRow, ParseOptions
from imports.tests.sources.support import BERLIN, errors
from organizations import services as org
from organizations.models import Client
from reports import services as reports

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _parse(doc: dict) -> list:
    body = json.dumps({"format": "stint_json", "version": 1, **doc}).encode()
    return list(stint_json.parse(io.BytesIO(body), ParseOptions(timezone=BERLIN)))


def test_each_client_is_a_row_and_one_without_a_name_is_an_error_row():
    items = _parse({"members": [], "clients": [{"name": "Acme"}, {"name": ""}, {"name": "Lonely"}]})

    assert [item for item in items if isinstance(item, ClientRow)] == [
        ClientRow(row=1, name="Acme"),
        ClientRow(row=3, name="Lonely"),
    ]
    assert errors(items) == [(2, "name")]


def test_a_client_without_projects_survives_the_round_trip_and_only_into_the_importing_company(world):
    org.client_create(company=world.a, name="Lonely Client")
    org.client_create(company=world.a, name="Bolt")  # company B has a "Bolt" too: never matched with it
    owner = world.users["owner"].memberships.get(company=world.a)
    export = reports.export_request(membership=owner, report="full", fmt="json", first=None, last=None, tz="UTC")
    export = reports.export_build(export_id=export.pk)
    assert export is not None
    empty = org.company_create(owner=world.users["owner"], name="Company C")
    importer = world.users["owner"].memberships.get(company=empty)
    b_clients = list(Client.objects.filter(company=world.b).values_list("pk", "name"))

    def run(dry_run: bool):
        return services.import_file(
            membership=importer, path=default_storage.path(export.file_key), source="stint_json", dry_run=dry_run
        )

    dry = run(True)
    assert not Client.objects.filter(company=empty).exists()
    real = run(False)

    assert (real.status, real.summary["errors"]) == ("READY", [])
    assert dry.summary == real.summary
    assert real.summary["created"]["clients"] == 3
    assert sorted(Client.objects.filter(company=empty).values_list("name", flat=True)) == [
        "Acme", "Bolt", "Lonely Client"
    ]  # fmt: skip
    assert list(Client.objects.filter(company=world.b).values_list("pk", "name")) == b_clients
    assert run(False).summary["created"]["clients"] == 0  # matched by name the second time
