"""One body schema (activity/schema.py): every limit is written once, and the Django view, the
lean heartbeat path and the OpenAPI schema all follow it. Each limit is changed in the schema
alone, and the three are seen to move with it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import path as url_path
from django.utils import timezone

from activity import schema
from activity.api.views import ActivityView, HeartbeatsView
from activity.models import ActivitySample, AppUsage, Heartbeat, HeartbeatInbox
from tests.support.api import assert_error
from tests.support.asgi import AsgiClient
from tests.support.heartbeats import URL, hb, iso

pytestmark = pytest.mark.django_db(transaction=True)
ACTIVITY = "/api/v1/sync/activity"
SMALLER = 7  # a limit no real body is near, so only the patched schema explains a refusal


def _limits(body: schema.Obj) -> list[str]:
    return [path for path, spec in schema.limits(body)]


def _spec(body: schema.Obj, path: str):
    return dict(schema.limits(body))[path]


def _with(body: dict, path: str, value) -> dict:
    """``body`` with ``value`` at ``path`` (``heartbeats.0.title``); a list field gets that
    many copies of its first item."""
    *parents, name = path.split(".")
    node = body
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[name] = [node[name][0]] * value if isinstance(node[name], list) else value
    return body


def _bound(spec) -> int:
    if isinstance(spec, schema.Text):
        return spec.max_length
    return spec.max_items if isinstance(spec, schema.Items) else spec.high


def _value(spec, *, over: bool):
    """A value at the limit, or just over it (a list field: how many items)."""
    if isinstance(spec, schema.Text):
        return "x" * (spec.max_length + over)
    return _bound(spec) + over  # a whole number stays whole


def _openapi_limit(path: str, component: str) -> int | float:
    """What the OpenAPI schema, generated now from the views, says of the field at ``path`` of
    ``component``: ``maxLength`` or ``maximum``; for the list, its 413's "More than N ..."."""
    from drf_spectacular.generators import SchemaGenerator

    urls = {"HeartbeatBatchRequest": URL, "ActivityBatchRequest": ACTIVITY}
    views = [url_path(URL[1:], HeartbeatsView.as_view()), url_path(ACTIVITY[1:], ActivityView.as_view())]
    generated = SchemaGenerator(patterns=views).get_schema(request=None, public=True)
    components = generated["components"]["schemas"]
    if path in ("heartbeats", "samples"):
        too_many = str(generated["paths"][urls[component]]["post"]["responses"]["413"]["description"])
        match = re.fullmatch(rf"More than ([\d,]+) {path}", too_many)
        assert match is not None, too_many
        return int(match.group(1).replace(",", ""))
    *parents, name = path.split(".")
    for part in parents:
        if not part.isdigit():  # the item's own component: HeartbeatRequest, ActivitySampleRequest
            component = components[component]["properties"][part]["items"]["$ref"].rsplit("/", 1)[1]
    found = components[component]["properties"][name]
    return found["maxLength"] if "maxLength" in found else found["maximum"]


def _shrink(monkeypatch, spec) -> None:
    name = {schema.Text: "max_length", schema.Items: "max_items", schema.Number: "high"}[type(spec)]
    monkeypatch.setattr(spec, name, SMALLER)


# The API's documented limits (docs/activity.md, SPEC: Sync): a change here is an API change.
DOCUMENTED = {
    "HeartbeatBatchRequest": {
        "device_id": 100,
        "pulsetime": 3600,
        "heartbeats": 1000,
        "heartbeats.0.duration": 86400,
        "heartbeats.0.app": 255,
        "heartbeats.0.title": 1000,
        "heartbeats.0.url": 2048,
    },
    "ActivityBatchRequest": {
        "device_id": 100,
        "samples": 1000,
        "samples.0.keyboard": 1_000_000,
        "samples.0.mouse": 1_000_000,
        "samples.0.active_seconds": 60,
    },
}


def test_every_limit_is_one_the_openapi_schema_states():
    for body, component in (
        (schema.HEARTBEAT_BATCH, "HeartbeatBatchRequest"),
        (schema.ACTIVITY_BATCH, "ActivityBatchRequest"),
    ):
        enforced = {path: _bound(spec) for path, spec in schema.limits(body)}
        assert enforced == DOCUMENTED[component]
        assert {path: _openapi_limit(path, component) for path in enforced} == enforced


def test_every_text_limit_fits_the_columns_it_is_stored_in():
    """The columns are storage, not the contract: raising a limit in the schema without a
    migration that widens them fails here, not in production."""
    stored = [
        (schema.HEARTBEAT_BATCH, [HeartbeatInbox, Heartbeat, AppUsage]),
        (schema.HEARTBEAT, [HeartbeatInbox, Heartbeat, AppUsage]),
        (schema.ACTIVITY_BATCH, [ActivitySample]),
    ]
    checked = 0
    for body, models in stored:
        for name, spec in body.fields.items():
            if isinstance(spec, schema.Text):
                for model in models:
                    assert spec.max_length <= model._meta.get_field(name).max_length, (model, name)
                    checked += 1
    assert checked == 13


@pytest.mark.parametrize("path", _limits(schema.HEARTBEAT_BATCH))
@pytest.mark.parametrize("way", ["django", "lean"])
def test_a_heartbeat_limit_changed_in_the_schema_moves_both_paths_and_the_openapi_schema(
    world, asgi_http, monkeypatch, path, way
):
    spec = _spec(schema.HEARTBEAT_BATCH, path)
    _shrink(monkeypatch, spec)
    app, loop = asgi_http
    client = world.api("member") if way == "django" else AsgiClient(app, loop, dict(world.api("member")._credentials))

    def body(value) -> dict:
        return _with({"device_id": "laptop", "pulsetime": 5, "heartbeats": [hb(10, duration=5)]}, path, value)

    over = client.post(URL, body(_value(spec, over=True)), format="json")
    if isinstance(spec, schema.Items):
        assert_error(over, 413, code="payload_too_large")
    else:
        assert_error(over, 400, attr=path, code="invalid")
    answered = app.answered
    at_limit = client.post(URL, body(_value(spec, over=False)), format="json")
    assert at_limit.status_code == 202, at_limit.content
    assert app.answered == answered + (way == "lean")  # the lean path took it, not the view
    assert HeartbeatInbox.objects.count() == (SMALLER if isinstance(spec, schema.Items) else 1)
    assert _openapi_limit(path, "HeartbeatBatchRequest") == SMALLER


@pytest.mark.parametrize("path", _limits(schema.ACTIVITY_BATCH))
def test_an_activity_sample_limit_changed_in_the_schema_moves_the_view_and_the_openapi_schema(world, monkeypatch, path):
    spec = _spec(schema.ACTIVITY_BATCH, path)
    _shrink(monkeypatch, spec)
    minute = iso(timezone.now().replace(second=0, microsecond=0) - timedelta(minutes=5))

    def body(value) -> dict:
        sample = {"minute": minute, "keyboard": 1, "mouse": 1, "active_seconds": 1}
        return _with({"device_id": "laptop", "samples": [sample]}, path, value)

    api = world.api("member")
    over = api.post(ACTIVITY, body(_value(spec, over=True)), format="json")
    if isinstance(spec, schema.Items):
        assert_error(over, 413, code="payload_too_large")
    else:
        assert_error(over, 400, attr=path, code="invalid")
    assert api.post(ACTIVITY, body(_value(spec, over=False)), format="json").status_code == 202
    assert ActivitySample.objects.count() == 1  # (a list of one minute resent: one sample)
    assert _openapi_limit(path, "ActivityBatchRequest") == SMALLER
