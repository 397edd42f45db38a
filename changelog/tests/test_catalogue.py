"""The event catalogue is the one list of events: every event the services emit is in it, with
its entity, action and payload shape; no other module spells an event's name; audiences derive
from it; docs/realtime.md carries its table."""

from __future__ import annotations

import ast
import asyncio
import io
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from changelog import audience, catalogue, publishing
from changelog.models import Change
from common.representation import utc_iso
from organizations import services as organizations
from organizations.models import Company
from reports import services as reports
from screenshots import services as screenshots
from tracking import services as tracking
from tracking.weeks import week_containing

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")

# SPEC.md, "Realtime": the events a client may receive.
SPEC_EVENTS = {
    "timer.started", "timer.stopped", "entry.upserted", "entry.deleted", "task.upserted", "task.deleted",
    "project.upserted", "screenshot.ready", "report.ready", "sync.applied", "presence.changed",
    "timesheet.submitted", "timesheet.approved", "timesheet.rejected", "timesheet.reopened", "import.progress",
    "import.finished",
}  # fmt: skip


def _keys(payload_type: Any) -> set[str]:  # a TypedDict class
    return set(payload_type.__required_keys__) | set(payload_type.__optional_keys__)


def _timestamps(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every string in a payload that reads as a date-time, with where it is."""
    if isinstance(value, dict):
        return [hit for k, v in value.items() for hit in _timestamps(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in _timestamps(v, f"{path}[{i}]")]
    return [(path, value)] if isinstance(value, str) and TIMESTAMP.match(value) else []


# --------------------------------------------------------------------------- the catalogue itself


def test_names_are_unique_and_spec_names_every_one():
    names = [e.name for e in catalogue.EVENTS]
    assert len(names) == len(set(names))
    assert set(names) | set(catalogue.PLANNED) == SPEC_EVENTS
    assert not set(names) & set(catalogue.PLANNED)


def test_logged_events_say_how_they_are_recorded_and_others_are_not_recorded():
    for event in catalogue.EVENTS:
        assert (event.entity is None) == (event.action is None), event.name
        assert event.doc.endswith("."), event.name
    assert {e.name for e in catalogue.EVENTS if not e.logged} == {"sync.applied", "presence.changed"}


def test_audiences_route_by_the_catalogue():
    assert {"report_export", "import_job"} == audience.PRIVATE_ENTITIES
    assert {"time_entry", "screenshot", "timesheet"} == audience.USER_DATA_ENTITIES
    assert catalogue.entities(catalogue.Audience.PROJECT) == {"task", "project"}


def test_the_docs_table_is_the_catalogues():
    text = (ROOT / "docs" / "realtime.md").read_text()
    found = re.search(r"<!-- events:begin[^>]*-->\n(.*?)<!-- events:end -->", text, re.S)
    assert found, "docs/realtime.md lost its event table markers"
    assert found.group(1) == catalogue.markdown_table(), "regenerate it: python -m changelog.catalogue"


def test_no_module_but_the_catalogue_spells_an_event_name():
    names = {e.name for e in catalogue.EVENTS} | set(catalogue.PLANNED)
    found = set()
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0].startswith(".") or relative.parts[0] in {"bench", "node_modules"}:
            continue
        if "tests" in relative.parts or relative.name.startswith("test_") or relative.name == "conftest.py":
            continue
        if relative == Path("changelog/catalogue.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Constant) and node.value in names:
                found.add((relative.as_posix(), node.value))
    assert not found, f"event names spelled outside changelog/catalogue.py: {sorted(found)}"


# --------------------------------------------------------------------------- what the code emits


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


class _Listener:
    """A channel in real channel-layer groups: what sockets in them would be sent."""

    def __init__(self, groups: list[str]):
        self.layer = get_channel_layer()
        self.channel = async_to_sync(self.layer.new_channel)()
        for group in groups:
            async_to_sync(self.layer.group_add)(group, self.channel)

    def envelopes(self) -> list[dict]:
        async def drain() -> list[dict]:
            got: list[dict] = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), timeout=1.5)
                except TimeoutError:
                    return got
                if message["type"] == publishing.EVENTS_MESSAGE:
                    got += message["events"]
                elif message["type"] == publishing.EVENT_MESSAGE:
                    got.append(message["event"])

        return async_to_sync(drain)()


def _emit_everything(world, tmp_path) -> None:
    """Every service that records a change, and a sync batch, as a client would drive them."""
    member = world.users["member"].memberships.get(company=world.a)
    # time entries: timers, by hand, deleted
    tracking.timer_start(membership=member, project_id=world.project_open.id)
    tracking.timer_start(membership=member, project_id=world.project_open.id)  # stops the first
    tracking.timer_stop(user=member.user)
    entry = tracking.entry_create(
        membership=member,
        data={"project_id": world.project_open.id, "started_at": T0, "ended_at": T0 + timedelta(hours=1)},
    )
    entry = tracking.entry_update(entry=entry, membership=member, data={"description": "edited"})
    tracking.entry_delete(entry=entry)
    # a sync batch: new entries in bulk
    items = [
        {
            "idempotency_key": f"k-{uuid.uuid4()}",
            "entity": "time_entry",
            "action": "upsert",
            "data": {
                "id": str(uuid.uuid4()),
                "project_id": str(world.project_open.id),
                "started_at": utc_iso(T0 + timedelta(hours=2 + n)),
                "ended_at": utc_iso(T0 + timedelta(hours=2 + n, minutes=30)),
            },
            "client_updated_at": utc_iso(timezone.now()),
        }
        for n in range(2)
    ]
    response = world.api("member").post("/api/v1/sync/batch", {"device_id": "laptop", "items": items}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["processed"] == 2
    # a timesheet: submitted, rejected, submitted again, approved, reopened
    week = week_containing(T0.date(), week_start=world.a.week_start, timezone=member.user.timezone)
    manager = world.users["manager"].memberships.get(company=world.a)
    sheet = tracking.timesheet_submit(actor_membership=member, user_id=member.user_id, period_start=week.period_start)
    tracking.timesheet_reject(actor_membership=manager, timesheet=sheet, comment="Tuesday?")
    sheet = tracking.timesheet_submit(actor_membership=member, user_id=member.user_id, period_start=week.period_start)
    tracking.timesheet_approve(actor_membership=manager, timesheet=sheet)
    tracking.timesheet_reopen(actor_membership=world.users["owner"].memberships.get(company=world.a), timesheet=sheet)
    # tasks
    task = tracking.task_create(project=world.project_open, data={"title": "Design"})
    tracking.task_create(project=world.project_open, data={"title": "Sketch", "parent_id": task.id})
    tracking.task_update(task=task, data={"title": "Design, again"})
    tracking.task_delete(task=task)
    # projects (creating them: the world did)
    organizations.project_update(project=world.project_open, data={"name": "Open, renamed"})
    # a screenshot, processed
    Company.objects.filter(pk=world.a.pk).update(screenshots_enabled=True, screenshot_blur_level=1)
    member.company.refresh_from_db()  # the membership's cached company: the policy just changed
    shot = screenshots.screenshot_upload(
        membership=member, fileobj=SimpleUploadedFile("s.png", _png()), captured_at=timezone.now()
    )
    screenshots.screenshot_process(screenshot_id=shot.pk)
    # an export, built
    export = reports.export_request(
        membership=member, report="time_entries", fmt="csv", first=date(2026, 3, 1), last=date(2026, 3, 7),
        tz="UTC",
    )  # fmt: skip
    reports.export_build(export_id=export.pk)
    # an import, a dry run of one row: its progress and its end, to the requester
    from imports import services as imports

    row = f"M,{member.user.email},Open,d,2026-03-02,09:00:00,01:00:00\n"
    upload = SimpleUploadedFile(
        "t.csv", f"User,Email,Project,Description,Start date,Start time,Duration\n{row}".encode()
    )
    job = imports.import_request(membership=member, fileobj=upload, source="toggl_csv", dry_run=True)
    imports.import_run(job_id=job.pk)  # run already on commit (eager): nothing left to do


@pytest.mark.django_db(transaction=True)
def test_every_event_the_services_emit_is_in_the_catalogue_as_recorded(world, tmp_path, settings, celery_eager):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = world.users["member"]
    listener = _Listener([audience.user_group(member.pk), audience.company_managers_group(world.a.pk)])

    _emit_everything(world, tmp_path)

    changes = list(Change.objects.order_by("id"))
    for change in changes:
        event = catalogue.get(change.event)  # a KeyError names the stray event
        assert (change.entity, change.action) == (event.entity, event.action), change.event
        assert set(change.payload) == _keys(event.payload), change.event
        for where, value in _timestamps(change.payload):
            assert value.endswith("Z"), (change.event, where, value)
    # ... and every logged event of the catalogue is emitted by something
    assert {c.event for c in changes} == {e.name for e in catalogue.EVENTS if e.logged}

    # What sockets get: catalogue names, in the envelope, with Z times.
    envelopes = listener.envelopes()
    assert {e["type"] for e in envelopes} >= {"timer.started", "entry.deleted", "sync.applied", "report.ready"}
    for envelope in envelopes:
        event = catalogue.get(envelope["type"])
        assert envelope["cursor"] is not None or not event.logged
        assert set(envelope["data"]) == _keys(event.payload), envelope["type"]
        for where, value in [("at", envelope["at"]), *_timestamps(envelope["data"])]:
            assert value.endswith("Z"), (envelope["type"], where, value)
