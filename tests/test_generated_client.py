"""A client generated from our OpenAPI schema by openapi-python-client drives the API.

The schema is what client authors build on: where it lies, a generated client fails (a tree
documented as a page parses as nothing, an undocumented answer comes back as None). This test
dumps /api/schema/, generates a client with the pinned generator (requirements-dev.txt), refuses
any warning about our schema, imports the package and walks the golden path against a real
daphne serving the test database, asserting on the parsed models, not on status codes alone.

The generator reads only the schema (no network). Its config maps the binary media types it has
no reader for (the screenshot and export files) to bytes: docs/api-conventions.md."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command

from conftest import daphne_servers, free_port

PACKAGE = "stint_client"
# Media types the generator cannot read as such: handed to the caller as bytes.
GENERATOR_CONFIG = """\
post_hooks: []
content_type_overrides:
  image/png: application/octet-stream
  image/jpeg: application/octet-stream
  image/webp: application/octet-stream
  text/csv: application/octet-stream
  application/vnd.openxmlformats-officedocument.spreadsheetml.sheet: application/octet-stream
"""


# --------------------------------------------------------------------------- the schema itself


@pytest.fixture(scope="module")
def schema():
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def _ops(schema):
    for path, item in schema["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def test_the_task_tree_is_documented_as_the_bare_recursive_list_it_is(schema):
    op = schema["paths"]["/api/v1/projects/{project_id}/tasks"]["get"]
    body = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert body == {"type": "array", "items": {"$ref": "#/components/schemas/TaskNode"}}
    assert {p["name"] for p in op["parameters"]} == {"project_id", "company"}  # no cursor, no limit
    children = schema["components"]["schemas"]["TaskNode"]["properties"]["children"]
    assert children["items"] == {"$ref": "#/components/schemas/TaskNode"}


def test_a_screenshot_upload_is_multipart_only(schema):
    body = schema["paths"]["/api/v1/screenshots"]["post"]["requestBody"]
    assert list(body["content"]) == ["multipart/form-data"]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/screenshots/{screenshot_id}/upload",
        "/api/v1/screenshots/{screenshot_id}/{variant}",
        "/api/v1/reports/exports/{export_id}/download",
    ],
)
def test_signed_links_document_their_token(schema, path):
    (op,) = schema["paths"][path].values()
    (token,) = [p for p in op["parameters"] if p["name"] == "token"]
    assert (token["in"], token["required"]) == ("query", True)


def test_honoured_query_parameters_are_documented(schema):
    def names(path, method="get"):
        return {p["name"] for p in schema["paths"][path][method].get("parameters", [])}

    assert {"user", "from", "to", "company", "cursor", "limit"} <= names("/api/v1/screenshots")
    assert {"cursor", "limit"} <= names("/api/v1/reports/exports")
    assert "company" in names("/api/v1/time-entries/{id}", "patch")
    file_params = schema["paths"]["/api/v1/screenshots/{screenshot_id}/{variant}"]["get"]["parameters"]
    (variant,) = [p for p in file_params if p["name"] == "variant"]
    assert variant["schema"]["enum"] == ["image", "thumbnail"]  # the route's regex, stated


def test_every_write_documents_its_409_with_the_conflicting_entries(schema):
    ref = "#/components/schemas/ConflictResponse"
    writes = [(name, op) for name, op in _ops(schema) if name.split()[0] in {"POST", "PUT", "PATCH", "DELETE"}]
    assert writes
    for name, op in writes:
        assert op["responses"]["409"]["content"]["application/json"]["schema"] == {"$ref": ref}, name
    conflict = schema["components"]["schemas"]["ConflictResponse"]["properties"]
    assert conflict["conflicting_entry_ids"] == {"type": "array", "items": {"type": "string", "format": "uuid"}}


@pytest.mark.parametrize(
    ("path", "method"),
    [
        ("/api/v1/invitations/{token}/accept", "post"),
        ("/api/v1/screenshots/{screenshot_id}/upload", "put"),
        ("/api/v1/sync/changes", "get"),
    ],
)
def test_what_expires_documents_its_410_in_the_error_shape(schema, path, method):
    gone = schema["paths"][path][method]["responses"]["410"]
    assert gone["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorResponse"}


def test_input_rules_of_drf_char_fields_are_stated_on_requests_only(schema):
    components = schema["components"]["schemas"]
    refresh = components["RefreshInputRequest"]["properties"]["refresh"]
    assert re.search(refresh["pattern"], "token")
    assert not re.search(refresh["pattern"], "  ")  # trimmed, then blank
    assert not re.search(refresh["pattern"], "a\x00b")  # DRF refuses NUL
    # an answer (an error's attr is "" for a nameless key) is not held to input rules
    assert "pattern" not in components["ErrorItem"]["properties"]["attr"]


# --------------------------------------------------------------------------- a generated client


@pytest.fixture(scope="module")
def client_package(tmp_path_factory):
    """The generated package, imported (generated once per module)."""
    root = tmp_path_factory.mktemp("generated")
    schema = root / "schema.json"
    call_command("spectacular", "--format", "openapi-json", "--file", str(schema), "--validate", "--fail-on-warn")
    config = root / "config.yaml"
    config.write_text(GENERATOR_CONFIG)
    generator = Path(sys.executable).with_name("openapi-python-client")
    result = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--meta", "none", "--config", str(config)]
        + ["--output-path", str(root / PACKAGE)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # "Warning(s) encountered" is how it says an operation, a body or a response was dropped.
    assert "warning" not in output.lower(), output
    assert "error" not in output.lower(), output
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        package.schema = json.loads(schema.read_text())  # for the test below
        yield package
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


@pytest.mark.slow
def test_every_operation_of_the_schema_is_generated(client_package):
    paths = client_package.schema["paths"].values()
    expected = {op["operationId"] for path in paths for op in path.values() if "operationId" in op}
    api = Path(client_package.__file__).parent / "api"
    generated = {module.stem for module in api.glob("*/*.py") if module.stem != "__init__"}
    assert expected - generated == set()


class _api:  # noqa: N801  (reads as the generated package's api.<tag> module)
    """``_api("tasks").tasks_create``: the generated module of one operation, imported on use."""

    def __init__(self, tag: str):
        self.tag = tag

    def __getattr__(self, operation: str):
        return importlib.import_module(f"{PACKAGE}.api.{self.tag}.{operation}")


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_the_golden_path_through_the_generated_client(client_package, tmp_path):
    models = importlib.import_module(f"{PACKAGE}.models")
    auth, projects, entries = _api("auth"), _api("projects"), _api("time_entries")
    sync, reports, tasks = _api("sync"), _api("reports"), _api("tasks")
    day = (datetime.now(UTC) - timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)

    with daphne_servers([free_port()], tmp_path) as (port,):
        anonymous = client_package.Client(base_url=f"http://127.0.0.1:{port}", raise_on_unexpected_status=True)

        # register, then sign in
        email, password = f"gen-{uuid.uuid4().hex[:8]}@example.com", "generated client 42!"
        registered = auth.auth_register_create.sync(
            client=anonymous,
            body=models.RegisterInputRequest(email=email, password=password, name="Gen", company_name="Gen Co"),
        )
        assert isinstance(registered, models.RegisterOutput), registered
        assert (registered.user.email, registered.company.name) == (email, "Gen Co")
        login = auth.auth_login_create.sync(
            client=anonymous, body=models.LoginInputRequest(email=email, password=password, device_name="gen")
        )
        assert isinstance(login, models.LoginOutput), login
        assert login.user.id == registered.user.id
        api = client_package.AuthenticatedClient(
            base_url=f"http://127.0.0.1:{port}", token=login.access, raise_on_unexpected_status=True
        )

        # a project, a timer started yesterday at 9 and stopped an hour later
        project = projects.projects_create.sync(client=api, body=models.ProjectWriteRequest(name="Generated"))
        assert isinstance(project, models.Project), project
        assert project.name == "Generated"
        running = entries.time_entries_start_create.sync(
            client=api,
            body=models.TimerStartRequest(project_id=project.id, description="gen work", started_at=day),
        )
        assert isinstance(running, models.TimeEntry), running
        assert running.ended_at is None
        assert running.project_id == project.id
        stopped = entries.time_entries_stop_create.sync(
            client=api, body=models.TimerStopRequest(ended_at=day + timedelta(hours=1))
        )
        assert isinstance(stopped, models.TimeEntry), stopped
        assert (stopped.id, stopped.duration_seconds) == (running.id, 3600)
        page = entries.time_entries_list.sync(client=api)
        assert isinstance(page, models.PaginatedTimeEntryList), page
        assert [e.id for e in page.results] == [running.id]

        # an offline entry pushed in a batch, then pulled back with the change log
        offline = uuid.uuid4()
        data = {
            "id": str(offline),
            "project_id": str(project.id),
            "started_at": (day + timedelta(hours=2)).isoformat(),
            "ended_at": (day + timedelta(hours=3)).isoformat(),
            "description": "offline",
        }
        item = models.BatchItemRequest(
            idempotency_key="gen-1",
            entity=models.EntityEnum.TIME_ENTRY,
            action=models.BatchItemActionEnum.UPSERT,
            data=models.BatchItemRequestData.from_dict(data),
            client_updated_at=day + timedelta(hours=3),
        )
        result = sync.sync_batch_create.sync(client=api, body=models.BatchRequest(device_id="gen", items=[item]))
        assert isinstance(result, models.BatchResult), result
        assert (result.processed, result.conflicts) == (1, [])
        changes = sync.sync_changes_retrieve.sync(client=api, cursor=0)
        assert isinstance(changes, models.ChangesPage), changes
        changed = {(c.entity, c.id) for c in changes.changes}
        assert {("time_entry", running.id), ("time_entry", offline)} <= changed
        assert changes.next_cursor >= max(c.cursor for c in changes.changes)

        # the documented refusals parse too: an overlap names the entry in the way (409), a
        # cursor the log never issued is gone (410)
        overlap = entries.time_entries_partial_update.sync(
            client=api,
            id=running.id,
            body=models.PatchedEntryUpdateRequest(ended_at=day + timedelta(hours=2, minutes=30)),
        )
        assert isinstance(overlap, models.ConflictResponse), overlap
        assert overlap.conflicting_entry_ids == [offline]
        gone = sync.sync_changes_retrieve.sync(client=api, cursor=changes.next_cursor + 1000)
        assert isinstance(gone, models.ErrorResponse), gone
        assert gone.errors[0].code == "cursor_gone"

        # the day's report counts both hours
        daily = reports.reports_daily_retrieve.sync(client=api, date=day.date(), tz="UTC")
        assert isinstance(daily, models.DailyReport), daily
        assert daily.total_seconds == 7200
        assert [(p.project_id, p.seconds) for p in daily.projects] == [(project.id, 7200)]
        # and over a range, one such object per day (the schema's other shape)
        days = reports.reports_daily_retrieve.sync(
            client=api, from_=day.date() - timedelta(days=1), to=day.date(), tz="UTC"
        )
        assert isinstance(days, models.DailyRangeReport), days
        assert [(d.date, d.total_seconds) for d in days.days] == [
            (day.date() - timedelta(days=1), 0),
            (day.date(), 7200),
        ]

        # a task tree, read back as a tree
        parent = tasks.tasks_create.sync(
            client=api, body=models.TaskWriteRequest(project_id=project.id, title="Design")
        )
        assert isinstance(parent, models.Task), parent
        child = tasks.tasks_create.sync(
            client=api, body=models.TaskWriteRequest(project_id=project.id, title="Mockups", parent_id=parent.id)
        )
        assert isinstance(child, models.Task), child
        assert child.parent_id == parent.id
        tree = tasks.projects_tasks_list.sync(client=api, project_id=project.id)
        assert isinstance(tree, list), tree
        (root,) = tree
        assert isinstance(root, models.TaskNode)
        assert (root.id, root.title, root.own_seconds) == (parent.id, "Design", 0)
        (leaf,) = root.children
        assert isinstance(leaf, models.TaskNode)
        assert (leaf.id, leaf.title, leaf.children) == (child.id, "Mockups", [])
