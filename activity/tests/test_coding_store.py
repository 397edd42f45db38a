"""The one write path of editor heartbeats (``activity.coding``): stored once however often
they are resent, the company's privacy rules applied before anything is stored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from activity.coding import CodingItem, coding_heartbeats_store
from activity.models import CodingHeartbeat, PrivacyAction, PrivacyField
from activity.privacy import REDACTED
from activity.services import privacy_rule_create

pytestmark = pytest.mark.django_db


def store(world, items, *, role="member", device="laptop", editor="vscode"):
    return coding_heartbeats_store(
        company_id=world.a.id, user_id=world.users[role].id, device_id=device, editor=editor, items=items
    )


def test_heartbeats_are_stored_with_every_field(world):
    now = timezone.now().replace(microsecond=123456)
    item = CodingItem(
        time=now,
        entity="/home/me/stint/app.py",
        type="file",
        category="coding",
        project="stint",
        branch="main",
        language="Python",
        lines=120,
        lineno=12,
        cursorpos=7,
        is_write=True,
        dependencies=("django", "pytest"),
    )
    assert store(world, [item]) == [True]
    row = CodingHeartbeat.objects.get()
    assert (row.company_id, row.user_id, row.device_id, row.editor) == (
        world.a.id,
        world.users["member"].id,
        "laptop",
        "vscode",
    )
    assert row.time == now  # microseconds kept
    assert (row.entity, row.type, row.project, row.branch, row.language) == (
        "/home/me/stint/app.py",
        "file",
        "stint",
        "main",
        "Python",
    )
    assert (row.lines, row.lineno, row.cursorpos, row.is_write, row.dependencies) == (
        120,
        12,
        7,
        True,
        ["django", "pytest"],
    )


def test_a_resent_heartbeat_is_stored_once(world):
    # Given a batch stored once
    now = timezone.now()
    first = [CodingItem(time=now, entity="a.py"), CodingItem(time=now + timedelta(seconds=30), entity="a.py")]
    assert store(world, first) == [True, True]
    # When the client resends it with one new heartbeat, and a copy inside the batch
    again = [*first, CodingItem(time=now + timedelta(seconds=60), entity="a.py")]
    again.append(again[-1])
    # Then only the new one is stored, and the answer says which were already there
    assert store(world, again) == [False, False, True, False]
    assert CodingHeartbeat.objects.count() == 3


def test_same_moment_of_another_entity_type_or_user_is_not_a_duplicate(world):
    now = timezone.now()
    assert store(world, [CodingItem(time=now, entity="a.py"), CodingItem(time=now, entity="b.py")]) == [True, True]
    assert store(world, [CodingItem(time=now, entity="a.py", type="app")]) == [True]
    assert store(world, [CodingItem(time=now, entity="a.py")], role="lead") == [True]
    assert CodingHeartbeat.objects.count() == 4


def test_privacy_rules_drop_and_redact(world):
    privacy_rule_create(company=world.a, field=PrivacyField.TITLE, pattern="secret", action=PrivacyAction.DROP)
    privacy_rule_create(company=world.a, field=PrivacyField.URL, pattern="bank", action=PrivacyAction.REDACT)
    privacy_rule_create(company=world.a, field=PrivacyField.APP, pattern="^vim$", action=PrivacyAction.REDACT)
    now = timezone.now()
    items = [
        CodingItem(time=now, entity="/src/secret/plan.py"),
        CodingItem(time=now, entity="mybank.example", type="domain"),
        CodingItem(time=now, entity="/src/bank.py"),  # a file: url rules do not read it
        CodingItem(time=now + timedelta(seconds=1), entity="/src/x.py", editor="vim"),
    ]
    assert store(world, items) == [True, True, True, True]
    rows = list(CodingHeartbeat.objects.order_by("time", "entity").values_list("entity", "type", "editor"))
    assert rows == [("/src/bank.py", "file", "vscode"), (REDACTED, "domain", "vscode"), ("/src/x.py", "file", REDACTED)]


def test_nothing_to_store(world):
    assert store(world, []) == []
