"""Text PostgreSQL cannot store, in any JSON body (common/parsers.py): a lone UTF-16 surrogate is
kept as U+FFFD, a NUL is a 400 naming where it is; never a 500. (Heartbeats, both intake
paths: sync/tests/test_heartbeats.py and test_intake.py.)"""

from __future__ import annotations

import json
import uuid

import pytest
from django.utils import timezone

from organizations.models import Company
from screenshots.models import Screenshot
from tests.support.api import assert_error
from tests.support.screenshots import png, upload
from tracking.models import TimeEntry

pytestmark = pytest.mark.django_db(transaction=True)


def post_escaped(api, url: str, body, method: str = "post"):
    """As a client sends it: ASCII JSON, the surrogate as a ``\\ud800`` escape (the test
    client's own encoder would fail on it before sending)."""
    return getattr(api, method)(url, json.dumps(body), content_type="application/json")


def test_an_error_quoting_a_lone_surrogate_is_a_400_not_a_500(world):
    # the "is not a valid choice" message quotes the input: it failed to render as UTF-8
    response = post_escaped(world.api("member"), "/api/v1/me/settings", {"week_start": "mon\ud800"}, "patch")
    assert_error(response, 400, attr="week_start")
    assert "mon\ufffd" in response.json()["errors"][0]["detail"]


def test_a_sync_item_with_a_lone_surrogate_is_applied_with_the_replacement_character(world):
    item = {
        "idempotency_key": "k-1",
        "entity": "time_entry",
        "action": "upsert",
        "client_updated_at": "2026-03-02T09:00:00Z",
        "data": {
            "id": str(uuid.uuid4()),
            "project_id": str(world.project_open.id),
            "started_at": "2026-03-02T09:00:00Z",
            "ended_at": "2026-03-02T10:00:00Z",
            "description": "draft \ud83d",
        },
    }
    response = post_escaped(world.api("member"), "/api/v1/sync/batch", {"device_id": "d", "items": [item]})
    assert response.json()["processed"] == 1, response.content
    assert TimeEntry.objects.get().description == "draft \ufffd"


@pytest.fixture
def screenshots_on(settings, tmp_path, world):
    settings.MEDIA_ROOT = tmp_path / "media"
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True)


@pytest.mark.usefixtures("screenshots_on")
def test_screenshot_metadata_with_a_nul_is_a_400_naming_it(world):
    presign = {"captured_at": timezone.now().isoformat(), "content_type": "image/png", "size": 100}
    response = post_escaped(world.api("member"), "/api/v1/screenshots/presign", {**presign, "metadata": {"os": "x\0"}})
    assert_error(response, 400, attr="metadata")
    assert_error(upload(world, png(), metadata=json.dumps({"displays": [{"name": "\0"}]})), 400, attr="metadata")
    assert not Screenshot.objects.exists()


@pytest.mark.usefixtures("screenshots_on")
def test_screenshot_metadata_keeps_a_lone_surrogate_as_the_replacement_character(world):
    presign = {"captured_at": timezone.now().isoformat(), "content_type": "image/png", "size": 100}
    response = post_escaped(
        world.api("member"), "/api/v1/screenshots/presign", {**presign, "metadata": {"os": "\udc00"}}
    )
    assert response.status_code == 201, response.content
    assert upload(world, png(), metadata=json.dumps({"os": "\ud800"})).status_code == 201
    assert [s.metadata for s in Screenshot.objects.order_by("created_at")] == [{"os": "\ufffd"}] * 2


def test_a_body_that_is_not_json_is_still_a_parse_error(world):
    api = world.api("member")
    for raw in ("{", '{"week_start": NaN}', b'{"week_start": "\xff"}'):
        assert_error(api.patch("/api/v1/me/settings", raw, content_type="application/json"), 400)
