from __future__ import annotations

import functools
import json

from rest_framework import serializers

from accounts.models import validate_timezone
from common.fields import ClientUUIDField, ServerZoneDateTimeField
from common.serializers import InputSerializer
from tracking.api.serializers import MAX_ENTRY_SECONDS, MAX_SECONDS
from tracking.models import BillingType, TaskStatus

MAX_BATCH_ITEMS = 1000


class ChangesQuerySerializer(serializers.Serializer):
    cursor = serializers.IntegerField(min_value=0, required=False)
    limit = serializers.IntegerField(min_value=1, max_value=1000, default=500)


class ChangeSerializer(serializers.Serializer):
    cursor = serializers.IntegerField()
    entity = serializers.CharField()
    id = serializers.UUIDField(source="entity_id")
    action = serializers.CharField()
    data = serializers.JSONField(source="payload")  # type: ignore[assignment]  # a field may be named "data" (the wire name)
    at = serializers.DateTimeField()


@functools.lru_cache(maxsize=256)
def _json_string(value: str) -> str:
    """``json.dumps`` of an entity or action name: a few distinct values, each written once per
    change (two calls per row were a third of the page's Python time)."""
    return json.dumps(value)


def changes_page_json(rows: list[tuple], next_cursor: int, has_more: bool) -> bytes:
    """The ``ChangesPageSerializer`` shape, written directly: each change's payload is spliced
    in as the JSON text the database returned (``selectors.change_rows``), never decoded."""
    changes = ",".join(
        f'{{"cursor":{cursor},"entity":{_json_string(entity)},"id":"{entity_id}","action":{_json_string(action)},'
        f'"data":{payload},"at":"{at}"}}'
        for cursor, entity, entity_id, action, payload, at in rows
    )
    more = "true" if has_more else "false"
    return f'{{"changes":[{changes}],"next_cursor":{next_cursor},"has_more":{more}}}'.encode()


def changes_page(rows: list[tuple], *, limit: int, head: int) -> bytes:
    """The page from up to ``limit + 1`` rows read after the caller's cursor (an extra row says
    there is more): ``next_cursor`` is the last change returned when ``has_more``, else the head,
    so a client never rescans changes it cannot see."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    return changes_page_json(rows, rows[-1][0] if has_more else head, has_more)


class ChangesPageSerializer(serializers.Serializer):
    changes = ChangeSerializer(many=True)
    next_cursor = serializers.IntegerField()
    has_more = serializers.BooleanField()


class JSONStringField(serializers.CharField):
    """A CharField that takes a JSON string only. DRF's turns a number into its text, so a
    client's `"idempotency_key": 7` and `"7"` would be one key (found by schema fuzzing)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ItemDataField(serializers.DictField):
    """An item's ``data``: a JSON object, handed as sent to its kind's serializer, which checks
    every key. DictField's own pass over the values checked nothing (its child takes anything)
    and cost a sixth of the item's envelope check, 1,000 times a batch."""

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            self.fail("not_a_dict", input_type=type(data).__name__)
        return data


class BatchItemSerializer(InputSerializer):
    """The envelope of one item; ``data`` is checked per entity and action afterwards."""

    idempotency_key = JSONStringField(max_length=255)
    entity = serializers.ChoiceField(choices=["time_entry", "task"])
    action = serializers.ChoiceField(choices=["upsert", "delete"])
    data = ItemDataField()  # type: ignore[assignment]  # a field may be named "data" (the wire name)
    client_updated_at = ServerZoneDateTimeField()


# The batch as the schema documents it. A request is checked by BatchEnvelopeSerializer, then
# each item by BatchItemSerializer on its own (SPEC: a malformed item is that item's conflict
# "invalid", never a 400 for the batch).
class BatchSerializer(InputSerializer):
    """Up to 1,000 items from one device. A bad envelope is a 400; a bad item is its own
    conflict ``invalid``."""

    device_id = JSONStringField(max_length=100)
    # many=True makes a ListSerializer, which takes max_length (the stubs know the child's arguments only).
    items = BatchItemSerializer(  # type: ignore[call-arg]
        many=True,
        allow_empty=True,
        max_length=MAX_BATCH_ITEMS,
        help_text="An item that does not fit this shape (no idempotency_key, a key that is not a string, "
        "an unknown entity, an item that is not an object, ...) is answered as a conflict "
        '"invalid" (idempotency_key null when the item had no usable key); the rest are applied.',
    )


class AsSent(serializers.Field):
    """A value taken as sent, for ``BatchView`` to check on its own (a JSON null too)."""

    def run_validation(self, data=serializers.empty):
        return data

    def to_internal_value(self, data):
        return data

    def to_representation(self, value):
        return value


class BatchEnvelopeSerializer(InputSerializer):
    """What is a 400 for the whole batch: no or a bad ``device_id``, ``items`` missing or not a
    list (more than 1,000 is a 413 before this), a field beside the two."""

    device_id = JSONStringField(max_length=100)
    items: serializers.ListSerializer[object] = serializers.ListSerializer(
        child=AsSent(), allow_empty=True, max_length=MAX_BATCH_ITEMS
    )


class EntryDataSerializer(InputSerializer):
    id = ClientUUIDField()
    project_id = serializers.UUIDField(required=False)
    task_id = serializers.UUIDField(required=False, allow_null=True)
    description = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    started_at = ServerZoneDateTimeField(required=False)
    ended_at = ServerZoneDateTimeField(required=False, allow_null=True)
    duration_seconds = serializers.IntegerField(
        min_value=1, max_value=MAX_ENTRY_SECONDS, required=False, allow_null=True
    )
    billable = serializers.BooleanField(required=False)
    timezone = serializers.CharField(max_length=64, required=False, validators=[validate_timezone])
    paused = serializers.BooleanField(
        required=False,
        help_text="true: this finished entry is the user's paused timer (what POST /time-entries/resume "
        "copies); false: it no longer is. docs/sync.md",
    )


class TaskDataSerializer(InputSerializer):
    id = ClientUUIDField()
    project_id = serializers.UUIDField(required=False)
    parent_id = serializers.UUIDField(required=False, allow_null=True)
    title = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(choices=TaskStatus.choices, required=False)
    position = serializers.IntegerField(min_value=-(10**6), max_value=10**6, required=False)
    estimate_seconds = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)
    billing_type = serializers.ChoiceField(choices=BillingType.choices, required=False)
    hourly_rate_cents = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)
    task_price_cents = serializers.IntegerField(min_value=0, max_value=MAX_SECONDS, required=False, allow_null=True)


class DeleteDataSerializer(InputSerializer):
    id = ClientUUIDField()


DATA_SERIALIZERS = {
    ("time_entry", "upsert"): EntryDataSerializer,
    ("task", "upsert"): TaskDataSerializer,
    ("time_entry", "delete"): DeleteDataSerializer,
    ("task", "delete"): DeleteDataSerializer,
}


class ConflictSerializer(serializers.Serializer):
    # null: the item had no usable key (missing, not a string, empty; or it was not an object).
    idempotency_key = serializers.CharField(allow_null=True)
    reason = serializers.CharField()
    server = serializers.JSONField(allow_null=True)
    detail = serializers.CharField(required=False)
    # reason "locked" only: {period_start, period_end, status} of the week, or {locked_until}.
    locked_period = serializers.JSONField(required=False)


class BatchResultSerializer(serializers.Serializer):
    processed = serializers.IntegerField()
    skipped = serializers.IntegerField()
    conflicts = ConflictSerializer(many=True)
    cursor = serializers.IntegerField(allow_null=True)
