"""The move of the change log out of ``sync`` and of heartbeats, app usage, samples and privacy
rules out of ``tracking`` (into ``changelog`` and ``activity``): a database at the schema from
before the move, with rows in every moved table, comes through the migrations with every row
readable by the new models, its ids unchanged, and the content types (so admin history and
permissions) following the models."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.tests.factories import UserFactory
from activity import partitions
from activity.models import ActivitySample, AppUsage, Heartbeat, HeartbeatInbox, PrivacyRule
from changelog.models import Change, SyncState, Tombstone
from organizations import services as org_services

BEFORE = [("sync", "0005_heartbeat_inbox"), ("tracking", "0004_entry_time_range_and_31_day_cap")]
MOVED = {
    ("sync", "change"): ("changelog", Change),
    ("sync", "syncstate"): ("changelog", SyncState),
    ("sync", "tombstone"): ("changelog", Tombstone),
    ("sync", "heartbeatinbox"): ("activity", HeartbeatInbox),
    ("tracking", "heartbeat"): ("activity", Heartbeat),
    ("tracking", "appusage"): ("activity", AppUsage),
    ("tracking", "activitysample"): ("activity", ActivitySample),
    ("tracking", "privacyrule"): ("activity", PrivacyRule),
}
AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def _leaves():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_rows_in_the_moved_tables_survive_the_move_and_stay_readable():
    # given a company and a member, then the schema from before the move
    owner = UserFactory()
    company = org_services.company_create(owner=owner, name="Moved Co")
    partitions.ensure(partitions.HEARTBEATS, [AT.replace(day=1)])
    partitions.ensure(partitions.APP_USAGE, [AT.replace(day=1)])
    leaves = _leaves()
    _migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        # and one row in every table the move touches, written through the old models
        rule = old.get_model("tracking", "PrivacyRule").objects.create(
            id=uuid.uuid4(), company_id=company.pk, field="title", pattern="payroll", action="drop"
        )
        sample = old.get_model("tracking", "ActivitySample").objects.create(
            id=uuid.uuid4(), company_id=company.pk, user_id=owner.pk, device_id="laptop", minute=AT, active_seconds=42
        )
        beat = old.get_model("tracking", "Heartbeat").objects.create(
            company_id=company.pk,
            user_id=owner.pk,
            device_id="laptop",
            timestamp=AT,
            duration=5.0,
            app="Editor",
            received_at=AT,
        )
        usage = old.get_model("tracking", "AppUsage").objects.create(
            company_id=company.pk, user_id=owner.pk, device_id="laptop", app="Editor", started_at=AT, ended_at=AT
        )
        waiting = old.get_model("sync", "HeartbeatInbox").objects.create(
            company_id=company.pk,
            user_id=owner.pk,
            device_id="laptop",
            timestamp=AT,
            duration=1.0,
            app="Shell",
            pulsetime=60.0,
            received_at=AT,
        )
        change = old.get_model("sync", "Change").objects.create(
            cursor=None,
            company_id=company.pk,
            entity="task",
            entity_id=uuid.uuid4(),
            action="upsert",
            event="task.upserted",
            payload={"title": "Kept"},
            at=AT,
        )
        tombstone = old.get_model("sync", "Tombstone").objects.create(
            entity="task", entity_id=uuid.uuid4(), company_id=company.pk, deleted_at=AT
        )
        old.get_model("sync", "SyncState").objects.update_or_create(pk=1, defaults={"head": 41, "pruned_below": 7})
        # the content types carry their old app labels; admin history points at one of them
        old_types = {key: ContentType.objects.get(app_label=key[0], model=key[1]).pk for key in MOVED}
        entry = LogEntry.objects.create(
            user_id=owner.pk,
            content_type_id=old_types[("tracking", "privacyrule")],
            object_id=str(rule.pk),
            object_repr="drop title ~ payroll",
            action_flag=ADDITION,
        )
    finally:
        # when the migrations run forward again
        _migrate(leaves)

    # then every row reads back through the new models, ids and values unchanged
    assert PrivacyRule.objects.get(pk=rule.pk).pattern == "payroll"
    assert ActivitySample.objects.get(pk=sample.pk).active_seconds == 42
    assert Heartbeat.objects.get(pk=beat.pk).app == "Editor"
    assert AppUsage.objects.get(pk=usage.pk).device_id == "laptop"
    assert HeartbeatInbox.objects.get(pk=waiting.pk).app == "Shell"
    assert Change.objects.get(pk=change.pk).payload == {"title": "Kept"}
    assert Tombstone.objects.filter(pk=tombstone.pk).exists()
    state = SyncState.objects.get(pk=1)
    assert (state.head, state.pruned_below) == (41, 7)
    # and the content types moved with their models (same ids: history and permissions follow)
    for (old_app, name), (new_app, model) in MOVED.items():
        moved = ContentType.objects.get(pk=old_types[(old_app, name)])
        assert (moved.app_label, moved.model) == (new_app, name)
        assert moved.model_class() is model
    assert LogEntry.objects.get(pk=entry.pk).get_edited_object().pk == rule.pk
