"""Conventions every endpoint shares: the error shape, request ids, logs, schema and docs."""

from __future__ import annotations

import io
import json
import logging

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import PASSWORD, UserFactory
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


def test_unknown_api_url_is_404_in_the_standard_shape(api):
    body = assert_error(api.get("/api/v1/does-not-exist"), 404)
    assert body == {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}


def test_wrong_method_is_405_in_the_standard_shape(api):
    body = assert_error(api.get("/api/v1/auth/login"), 405)
    assert body["errors"][0]["code"] == "method_not_allowed"


def test_wrong_media_type_is_415(api):
    response = api.post("/api/v1/auth/login", "email=a", content_type="text/plain")
    assert_error(response, 415)


@pytest.mark.urls("common.tests.urls_crash")
@pytest.mark.parametrize("path", ["/api/v1/crash", "/plain-crash"])
def test_crash_is_500_in_the_standard_shape_without_internals(path):
    client = APIClient(raise_request_exception=False)
    response = client.get(path)
    body = assert_error(response, 500)
    assert body["type"] == "server_error"
    assert "boom" not in response.content.decode()
    assert response["X-Request-ID"]


def test_request_id_is_generated_and_echoed(api):
    first = api.get("/health/live")["X-Request-ID"]
    second = api.get("/health/live")["X-Request-ID"]
    assert len(first) == 32
    assert first != second


def test_request_id_from_the_client_is_honoured(api):
    assert api.get("/api/v1/nope", HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"


def test_unsafe_request_id_is_replaced(api):
    echoed = api.get("/health/live", HTTP_X_REQUEST_ID="bad id;with junk")["X-Request-ID"]
    assert echoed != "bad id;with junk"
    assert len(echoed) == 32


@pytest.mark.django_db(transaction=True)
def test_logs_are_json_with_request_and_user_id_and_no_secrets(api, request_logs):
    user = UserFactory()
    login = api.post("/api/v1/auth/login", {"email": user.email, "password": PASSWORD}).json()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {login['access']}")
    api.get("/api/v1/me", HTTP_X_REQUEST_ID="req-42")
    lines = request_logs()
    me = [line for line in lines if line.get("path") == "/api/v1/me"]
    assert me, lines
    assert me[0]["request_id"] == "req-42"
    assert me[0]["user_id"] == str(user.id)
    assert me[0]["status"] == 200
    assert {"timestamp", "level", "method", "duration_ms"} <= set(me[0])
    text = json.dumps(lines)
    assert PASSWORD not in text
    assert login["access"] not in text
    assert login["refresh"] not in text


def test_openapi_schema_and_docs_are_served(api):
    schema = api.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/logout-all",
        "/api/v1/auth/sessions",
        "/api/v1/auth/sessions/{session_id}",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
        "/api/v1/auth/password/change",
        "/api/v1/me",
        "/api/v1/me/settings",
    ]:
        assert path in paths, path
    assert api.get("/docs").status_code == 200
    assert api.get("/redoc").status_code == 200


def test_openapi_schema_generates_without_warnings_and_validates(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/auth/login" in (tmp_path / "schema.yaml").read_text()


def test_oversize_body_is_413_in_the_standard_shape(api, settings):
    body = '{"email": "' + "a" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) + '", "password": "x"}'
    response = api.post("/api/v1/auth/login", body, content_type="application/json")
    body = assert_error(response, 413)
    assert body["errors"][0]["code"] == "payload_too_large"


@pytest.mark.parametrize("raw", ["null", "[]", '"text"', "123", "{}", '{"email": null}', '{"email": {"$ne": 1}}'])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password/forgot",
        "/api/v1/auth/password/reset",
    ],
)
def test_odd_json_bodies_are_400_never_500(api, path, raw):
    assert_error(api.post(path, raw, content_type="application/json"), 400)


def test_third_party_stdlib_records_are_json_too_and_quiet_ones_cost_nothing(request_logs):
    """Celery and Django log through the stdlib, not structlog: their records go through the
    formatter's foreign pre-chain and must come out as JSON, not as a '--- Logging error ---'
    (a processor that needs a structlog logger once broke every one of them)."""
    import structlog

    root_handler = logging.getLogger().handlers[0]
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(root_handler.formatter)
    handler.handleError = lambda record: pytest.fail(f"logging error for {record.getMessage()!r}")
    celery_logger = logging.getLogger("celery.stint-test")
    celery_logger.addHandler(handler)
    celery_logger.setLevel(logging.INFO)
    try:
        celery_logger.info("Task %s succeeded", "sync.tasks.sequence_changes")
    finally:
        celery_logger.removeHandler(handler)
        celery_logger.setLevel(logging.NOTSET)
    [line] = [json.loads(text) for text in stream.getvalue().splitlines()]
    assert line["event"] == "Task sync.tasks.sequence_changes succeeded"
    assert line["level"] == "info"
    # Below the logger's level, structlog drops the line before running any processor.
    quiet = logging.getLogger("stint.quiet-test")
    quiet.setLevel(logging.WARNING)
    assert structlog.get_logger("stint.quiet-test").info("dropped") is None
    assert request_logs() == []


@pytest.mark.parametrize("limit", ["null", "abc", "0", "-1", "201", ""])
def test_a_malformed_page_limit_is_400_naming_it(world, limit):
    # Found by schema fuzzing: DRF quietly served the default page for ?limit=null.
    response = world.api("owner").get("/api/v1/clients", {"limit": limit})
    assert_error(response, 400, attr="limit")


def test_a_page_limit_in_range_is_honoured(world):
    for name in ["C1", "C2", "C3"]:
        world.api("owner").post("/api/v1/clients", {"name": name})
    page = world.api("owner").get("/api/v1/clients", {"limit": "2"}).json()
    assert len(page["results"]) == 2
    assert page["next"]


def test_the_schema_documents_the_error_answers(api):
    # Found by schema fuzzing: our exception handler wraps drf-standardized-errors', whose
    # schema class then documented no error response at all (every 400/401 was "undocumented").
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    login, create, detail = (
        paths["/api/v1/auth/login"]["post"],
        paths["/api/v1/clients"]["post"],
        paths["/api/v1/clients/{id}"]["get"],
    )
    assert {"400", "401", "409", "413", "422", "429", "503"} <= set(login["responses"])
    assert {"400", "401", "403", "404", "409", "413", "422", "429", "503"} <= set(create["responses"])
    assert {"401", "403", "404", "429", "503"} <= set(detail["responses"])
    assert not {"409", "413", "422"} & set(detail["responses"])  # no body, no Idempotency-Key
    ref = create["responses"]["400"]["content"]["application/json"]["schema"]["$ref"]
    assert ref.endswith("/ErrorResponse")  # SPEC's one shape, `code` any string


def test_list_filters_are_documented_on_the_lists_only(api):
    # Found by schema fuzzing: ?archived= was documented on POST /projects too, where it is
    # ignored, so a malformed value there was "accepted" (and likewise ?project= on tasks).
    paths = api.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]

    def names(path, method):
        return {p["name"] for p in paths[path][method].get("parameters", [])}

    assert "archived" in names("/api/v1/projects", "get")
    assert "project" in names("/api/v1/tasks", "get")
    for path, method, name in [
        ("/api/v1/projects", "post", "archived"),
        ("/api/v1/projects/{id}", "patch", "archived"),
        ("/api/v1/tasks", "post", "project"),
        ("/api/v1/tasks/{id}", "get", "project"),
    ]:
        assert name not in names(path, method), (path, method)


@pytest.mark.parametrize(
    ("path", "attr"),
    [
        ("/api/v1/time-entries?from=", "from"),
        ("/api/v1/screenshots?to=", "to"),
        ("/api/v1/sync/changes?cursor=", "cursor"),
        ("/api/v1/reports/weekly?tz=", "tz"),
    ],
)
def test_an_empty_query_parameter_is_a_bad_value_not_a_missing_one(world, path, attr):
    """Every view reads its query string the one way (common.query): an empty value is
    validated, not quietly read as "no filter"."""
    assert_error(world.api("owner").get(path), 400, attr=attr)


# --------------------------------------------------------------------------- API 404s (#15 item 15)


@pytest.mark.parametrize("path", ["/api/v1/does-not-exist", "/api/v2/projects", "/api/nope", "/api/v1/projects/x/y"])
def test_unknown_api_paths_are_json_404s_even_with_debug_on(api, settings, path):
    # With DEBUG on (the default of `make run`) Django answered its 27 KB HTML debug page.
    settings.DEBUG = True
    response = api.get(path)
    assert response["Content-Type"].startswith("application/json")
    body = assert_error(response, 404)
    assert body == {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}


@pytest.mark.parametrize("bad", ["------------------------------------", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz", "1"])
@pytest.mark.parametrize(
    ("method", "template"),
    [
        ("patch", "/api/v1/companies/{a}/members/{bad}"),
        ("delete", "/api/v1/companies/{a}/members/{bad}"),
        ("delete", "/api/v1/companies/{a}/invitations/{bad}"),
        ("patch", "/api/v1/teams/{team}/members/{bad}"),
        ("delete", "/api/v1/teams/{team}/members/{bad}"),
        ("get", "/api/v1/projects/{bad}"),
        ("get", "/api/v1/companies/{bad}/members"),
        ("get", "/api/v1/screenshots/{bad}/image"),
    ],
)
def test_a_malformed_id_in_a_path_is_404_never_a_database_error(world, settings, method, template, bad):
    settings.DEBUG = True  # the HTML debug page must not come back either
    path = template.format(a=world.a.id, team=world.team.id, bad=bad)
    client = world.api("owner")
    client.raise_request_exception = False
    response = getattr(client, method)(path, {"role": "MEMBER"} if method == "patch" else None, format="json")
    assert_error(response, 404)


def test_an_unsafe_method_on_an_unknown_api_path_is_a_json_404_not_a_csrf_page(world):
    # A real client's CSRF checks (the test client skips them by default): the catch-all is a
    # plain Django view, and the CSRF middleware answered DELETE/PATCH there with an HTML 403.
    from rest_framework.test import APIClient

    client = APIClient(enforce_csrf_checks=True)
    client.credentials(**world.api("owner")._credentials)
    for method in ("delete", "patch", "post"):
        response = getattr(client, method)(f"/api/v1/companies/{world.a.id}/members/null,null")
        assert response["Content-Type"].startswith("application/json")
        assert_error(response, 404)


def test_request_bodies_are_closed_objects_in_the_schema(api):
    # The server refuses unknown body fields, so the schema must not promise they are taken.
    schema = api.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    for name in ("ClientCreateRequest", "TimerStartRequest", "PatchedEntryUpdateRequest", "BatchRequest"):
        assert components[name]["additionalProperties"] is False, name
    assert components["BatchItemRequest"]["additionalProperties"] is False


# --------------------------------------------------------------------------- unknown body fields (#15 item 16)


def _request_serializers():
    """Every request-body serializer the OpenAPI generator finds on /api/v1/, per operation."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.settings import spectacular_settings

    generator = SchemaGenerator()
    generator._initialise_endpoints()
    for path, path_regex, method, view in generator._get_paths_and_endpoints():
        if not path.startswith("/api/v1/") or method not in {"POST", "PUT", "PATCH"}:
            continue
        view.request = spectacular_settings.GET_MOCK_REQUEST(method, path, view, None)
        view.schema.path, view.schema.path_regex, view.schema.method, view.schema.view = path, path_regex, method, view
        serializer = view.schema.get_request_serializer()
        if serializer is not None:
            yield f"{method} {path}", getattr(serializer, "child", serializer)


def test_every_request_body_serializer_refuses_unknown_fields():
    # The rule lives in one place (common.serializers.InputSerializer); this keeps every
    # endpoint on it, new ones included. Heartbeats and activity samples are validated in
    # plain Python (sync/heartbeats.py, the hot path): their serializers only document.
    from rest_framework.serializers import BaseSerializer

    from common.serializers import InputSerializer

    documentary = {"POST /api/v1/sync/heartbeats", "POST /api/v1/sync/activity"}
    found = list(_request_serializers())
    assert len(found) > 20
    lax = [
        op
        for op, serializer in found
        if op not in documentary
        and isinstance(serializer, BaseSerializer | type)
        and not (
            isinstance(serializer, InputSerializer)
            or (isinstance(serializer, type) and issubclass(serializer, InputSerializer))
        )
    ]
    assert lax == []


def test_unknown_fields_are_400_across_apps(world):
    api = world.api("member")
    project = str(world.project_open.id)
    for path, body, attr in [
        ("/api/v1/time-entries/start", {"project_id": project, "descripton": "typo"}, "descripton"),
        ("/api/v1/tasks", {"project_id": project, "title": "T", "assignee": "me"}, "assignee"),
        ("/api/v1/sync/batch", {"device_id": "d", "items": [], "since": 3}, "since"),
        (
            "/api/v1/reports/exports",
            {"report": "time_entries", "format": "csv", "from": "2026-01-01", "to": "2026-01-02", "zip": True},
            "zip",
        ),
    ]:
        assert_error(api.post(path, body, format="json"), 400, attr=attr, code="unknown_field")


def test_an_unknown_field_in_a_sync_item_is_that_items_conflict_not_a_400(world):
    entry = {"id": "0190a000-0000-7000-8000-0000000000aa", "project_id": str(world.project_open.id),
             "started_at": "2026-01-01T09:00:00Z", "ended_at": "2026-01-01T10:00:00Z", "colour": "red"}  # fmt: skip
    item = {"idempotency_key": "k1", "entity": "time_entry", "action": "upsert", "data": entry,
            "client_updated_at": "2026-01-01T10:00:00Z"}  # fmt: skip
    response = world.api("member").post("/api/v1/sync/batch", {"device_id": "d", "items": [item]}, format="json")
    assert response.status_code == 200
    [conflict] = response.json()["conflicts"]
    assert conflict["reason"] == "invalid"
    assert "colour" in conflict["detail"]
