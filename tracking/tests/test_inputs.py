"""The typed service inputs and the serializers that fill them agree: ``entry_data`` and
``task_data`` keep only ``EntryData``'s and ``TaskData``'s keys, so a body field missing from
them would be dropped without a word. (The sync batch's item serializers: sync/tests.)"""

from __future__ import annotations

from tracking import services
from tracking.api import serializers as s

# Fields that choose where a write goes (the membership, the project) rather than what it holds.
ROUTING = {"company_id", "project_id"}


def test_an_entry_body_is_entry_data():
    assert set(s.EntryCreateSerializer().fields) - {"company_id"} == services.EntryData.__optional_keys__
    assert set(s.EntryUpdateSerializer().fields) <= services.EntryData.__optional_keys__


def test_a_task_body_is_task_data():
    assert set(s.TaskWriteSerializer().fields) - ROUTING == services.TaskData.__optional_keys__
    assert set(s.TaskUpdateSerializer().fields) <= services.TaskData.__optional_keys__


def test_entry_data_and_task_data_keep_their_own_keys_only():
    body = {"company_id": "c", "project_id": "p", "title": "t", "parent_id": None}

    assert services.task_data(body) == {"title": "t", "parent_id": None}
    assert services.entry_data(body) == {"project_id": "p"}
