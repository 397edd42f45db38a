"""A sync item's ``data`` is what the tracking services take: the batch hands it on through
``entry_data`` and ``task_data``, which keep only ``EntryData``'s and ``TaskData``'s keys, so a
field the item serializer gained and they lack would be dropped without a word."""

from __future__ import annotations

from sync.api import serializers as s
from tracking import services


def test_an_entry_item_is_entry_data():
    # ``paused`` is no field of an entry: the batch hands it to entry_create/entry_update by
    # name (sync/tests/test_batch_pause.py checks it arrives).
    assert set(s.EntryDataSerializer().fields) - {"paused"} == services.EntryData.__optional_keys__


def test_a_task_item_is_task_data_and_its_project():
    assert set(s.TaskDataSerializer().fields) - {"project_id"} == services.TaskData.__optional_keys__
