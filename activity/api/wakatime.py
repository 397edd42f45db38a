"""WakaTime's heartbeat intake at ``/api/compat/wakatime/v1/`` (SPEC: Bring your own tracker;
docs/trackers-wakatime.md). Thin: resolve the company, read the headers, parse each heartbeat
(``activity.wakatime``), store them (``activity.coding``), answer in WakaTime's shape.

Errors speak WakaTime's protocol, not the API's: ``{"error": "..."}`` with WakaTime's status
(401 a bad key, 400 a bad body), and a heartbeat refused on its own gets its own
``[{"error": ...}, 400]`` pair while the rest of its batch is stored."""

from __future__ import annotations

import contextlib
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.exceptions import ParseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from activity.coding import CodingItem, coding_heartbeats_store
from activity.coding_time import coding_latest
from activity.wakatime import (
    MAX_HEARTBEATS,
    ItemError,
    editor_from_user_agent,
    has_placeholders,
    heartbeat_parse,
    placeholders_resolve,
)
from common.exceptions import exception_handler
from common.throttling import SyncThrottle
from organizations.api.scoping import request_membership

CREATED, ALREADY_STORED, REFUSED = 201, 202, 400


def wakatime_exception_handler(exc, context) -> Response | None:
    """The API's handler (statuses, Retry-After, 503 for a dependency down), its body in
    WakaTime's shape: ``{"error": "<field>: <message>"}``."""
    response = exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict) and "errors" in response.data:
        first = response.data["errors"][0]
        attr = first.get("attr")
        message = f"{attr}: {first['detail']}" if attr and attr != "non_field_errors" else first["detail"]
        response.data = {"error": message}
    return response


class WakaTimeView(APIView):
    """A WakaTime endpoint: ingest-scoped tokens welcome (the key in ``~/.wakatime.cfg``), errors
    in WakaTime's shape."""

    accepts_ingest_tokens = True

    def get_exception_handler(self):
        return wakatime_exception_handler


def _heartbeat_list(data: Any) -> list:
    """The body's heartbeats: a list, or one object (both endpoints take both, as Wakapi's do)."""
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise ParseError("Expected a list of heartbeats or one heartbeat object.")
    if not data:
        raise ParseError("No heartbeats given.")
    if len(data) > MAX_HEARTBEATS:
        # 400, not 413: wakatime-cli keeps anything answered otherwise in its offline queue and
        # resends it for ever; a 400 it logs and drops (a batch this big is not its own anyway).
        raise ParseError(f"At most {MAX_HEARTBEATS} heartbeats per request; none was stored.")
    return data


def _machine(request: Request) -> str:
    """WakaTime's machine name (``X-Machine-Name``); a client that sends none is one unnamed
    device. wakatime-cli sends the host name UTF-8 encoded, which WSGI and ASGI servers hand
    over as Latin-1: decoded back, so "Jörg's laptop" stays that."""
    raw = request.headers.get("X-Machine-Name", "")
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):  # not UTF-8 bytes: keep what came
        raw = raw.encode("latin-1").decode("utf-8")
    return raw.strip()[:100]


def _accepted(item: CodingItem) -> dict:
    return {"data": {"entity": item.entity, "type": item.type, "time": item.time.timestamp()}}


@extend_schema(exclude=True)  # WakaTime's protocol, documented in docs/trackers-wakatime.md
class HeartbeatsView(WakaTimeView):
    """``POST /users/current/heartbeats.bulk`` and ``/users/current/heartbeats``: 201 with one
    ``[body, status]`` pair per heartbeat, in order: 201 stored, 202 already stored (a resend),
    400 refused (the body says why)."""

    throttle_classes = [SyncThrottle]

    def post(self, request: Request, **kwargs) -> Response:
        raw = _heartbeat_list(request.data)
        membership = request_membership(request)
        now = timezone.now()
        parsed: list[CodingItem | str] = []
        for entry in raw:
            try:
                parsed.append(heartbeat_parse(entry, now=now))
            except ItemError as exc:
                parsed.append(str(exc))
        if isinstance(request.data, dict) and isinstance(parsed[0], str):
            raise ParseError(parsed[0])  # one heartbeat, refused: the request is
        items = [item for item in parsed if isinstance(item, CodingItem)]
        if has_placeholders(items):  # a query only for a batch that needs it
            latest = coding_latest(company_id=membership.company_id, user_id=membership.user_id)
            items = placeholders_resolve(items, latest)
        stored = iter(
            coding_heartbeats_store(
                company_id=membership.company_id,
                user_id=membership.user_id,
                device_id=_machine(request),
                editor=editor_from_user_agent(request.headers.get("User-Agent", "")),
                items=items,
                # read with the membership (its company): one query fewer per request
                privacy_rules_version=membership.company.privacy_rules_version,
            )
        )
        responses: list[list] = []
        for item in parsed:
            if isinstance(item, str):
                responses.append([{"error": item}, REFUSED])
            else:
                responses.append([_accepted(item), CREATED if next(stored) else ALREADY_STORED])
        body: dict[str, Any] = {"responses": responses}
        if isinstance(request.data, dict):
            body.update(responses[0][0])  # one heartbeat: WakaTime's single answer, ``{"data": ...}``, too
        return Response(body, status=201)
