"""Sync endpoints for desktop clients (SPEC: Sync). Thin: validate, call sync services."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from changelog import recording
from changelog.selectors import cursor_gone
from changelog.sequencer import number_pending
from common.exceptions import Gone, PayloadTooLarge
from common.idempotency import complete_response
from common.openapi import gone
from common.query import validated_query
from common.throttling import SyncThrottle
from organizations import permissions
from sync import selectors, services
from sync.api import serializers as s


@extend_schema(tags=["sync"])
class ChangesView(APIView):
    throttle_classes = [SyncThrottle]

    @extend_schema(
        parameters=[s.ChangesQuerySerializer],
        responses={200: s.ChangesPageSerializer, 410: gone("Cursor pruned (or never issued): do a full resync.")},
    )
    def get(self, request: Request) -> HttpResponse:
        query = validated_query(request, s.ChangesQuerySerializer)
        cursor, limit = query.get("cursor"), query["limit"]
        # The log's state and the caller's memberships (the rows the role rules read), one round trip.
        user = authenticated_user(request)
        start = selectors.pull_start(user)
        if start.unnumbered:  # number what just committed, so a pull right after a write sees it
            number_pending()
            start = selectors.pull_start(user)
        head = start.head
        if cursor is None:  # where to start after a full resync
            return Response({"changes": [], "next_cursor": head, "has_more": False})
        if cursor_gone(cursor, head=head, pruned_below=start.pruned_below):
            raise Gone("This cursor is no longer available: do a full resync.", code="cursor_gone")
        if cursor == head:  # nothing new (a client's poll, most pulls): no scan
            return HttpResponse(s.changes_page_json([], head, False), content_type="application/json")
        rows = selectors.change_rows(memberships=start.memberships, after=cursor, upto=head, limit=limit + 1)
        return HttpResponse(s.changes_page(rows, limit=limit, head=head), content_type="application/json")


@extend_schema(tags=["sync"])
class BatchView(APIView):
    throttle_classes = [SyncThrottle]

    @extend_schema(request=s.BatchSerializer, responses={200: s.BatchResultSerializer})
    def post(self, request: Request) -> Response:
        items = request.data.get("items") if isinstance(request.data, dict) else None
        if isinstance(items, list) and len(items) > s.MAX_BATCH_ITEMS:
            raise PayloadTooLarge(f"At most {s.MAX_BATCH_ITEMS} items per batch; nothing was applied.")
        envelope = s.BatchEnvelopeSerializer(data=request.data)
        envelope.is_valid(raise_exception=True)
        valid, invalid = [], []
        # One serializer per kind for the whole batch: a DRF serializer deep-copies its fields
        # on first use, which per item was a quarter of a 1,000-item batch.
        item_checker = s.BatchItemSerializer()
        checkers: dict[tuple[str, str], Serializer] = {}
        for raw in envelope.validated_data["items"]:
            try:
                item = item_checker.run_validation(raw)
                kind = (item["entity"], item["action"])
                checker = checkers.get(kind) or checkers.setdefault(kind, s.DATA_SERIALIZERS[kind]())
                valid.append({**item, "data": dict(checker.run_validation(item["data"]))})
            except ValidationError as exc:
                # SPEC: a malformed item is its own conflict "invalid"; the others still apply.
                detail = _first_error(exc.detail) if isinstance(raw, dict) else "An item must be a JSON object."
                invalid.append(
                    {"idempotency_key": _usable_key(raw), "reason": "invalid", "server": None, "detail": detail}
                )
        user = authenticated_user(request)
        memberships = list(permissions.active_memberships(user))
        device_id = envelope.validated_data["device_id"]
        with recording.flush_deferred():  # batch_finish numbers, a worker publishes
            result = services.batch_apply(user=user, memberships=memberships, device_id=device_id, items=valid)
        result.conflicts = invalid + result.conflicts
        response = Response(s.BatchResultSerializer(result).data)

        def finish() -> None:  # the cursor exists only once the batch's changes are committed
            services.batch_finish(user=user, device_id=device_id, result=result)
            complete_response(response, s.BatchResultSerializer(result).data)

        # At once (each item committed in its own savepoint), or, under an Idempotency-Key,
        # when the middleware commits the request's one transaction; the same either way.
        transaction.on_commit(finish)
        return response


def _usable_key(item: object) -> str | None:
    """The item's idempotency_key when it is one the batch could have remembered, else None."""
    key = item.get("idempotency_key") if isinstance(item, dict) else None
    if not isinstance(key, str) or not key.strip() or len(key) > 255:
        return None
    return key


def _first_error(errors: list[Any] | dict[str, Any]) -> str:
    if isinstance(errors, list):  # a serializer's errors are by field; a list only if it says so
        return str(errors[0])
    field, messages = next(iter(errors.items()))
    return f"{field}: {messages[0] if isinstance(messages, list) else messages}"
