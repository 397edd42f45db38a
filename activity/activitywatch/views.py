"""``/api/0/``: aw-server's REST API as ``aw-client`` and the watchers speak it (routes, status
codes and bodies of aw-server 0.12's ``rest.py``), for the caller's own buckets in the
company the request acts in. Thin: parse, scope, call ``services``/``selectors``, render.

Errors are aw-server's: ``{"message": ...}`` with its status codes (400 a bad event or
parameter, 404 no such bucket, 401 no or a bad token, 403 a token without the scope), so a
watcher logs what went wrong; aw-client's queue drops a request that got any 4xx and retries
only after a connection error."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.authentication import authenticated_user
from activity.models import AwBucket
from activity.privacy import privacy_rules_for
from common.exceptions import exception_handler as api_exception_handler
from organizations import permissions
from organizations.api.scoping import company_membership
from organizations.models import Membership

from . import selectors, services
from .events import BadEvent, Event, parse_event, parse_timestamp

VERSION = "v0.12.0 (Stint)"
MAX_EVENTS = 10_000  # per POST .../events; an export re-imported in pieces


def aw_exception_handler(exc, context):
    """The API's own handler (statuses, 503s, Retry-After, WWW-Authenticate), its body
    rewritten in aw-server's shape: ``{"message": ...}``."""
    if isinstance(exc, BadEvent):
        exc = exceptions.ValidationError(str(exc))
    response = api_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data if isinstance(response.data, dict) else {}
    details = [e.get("detail", "") for e in data.get("errors", []) if isinstance(e, dict)]
    attrs = [e.get("attr") for e in data.get("errors", []) if isinstance(e, dict)]
    message = "; ".join(f"{attr}: {detail}" if attr else detail for attr, detail in zip(attrs, details, strict=True))
    response.data = {"message": message or response.status_text}
    return response


class AwView(APIView):
    accepts_ingest_tokens = True  # PATs with the ingest scope may call (accounts.authentication)
    # Not in Stint's OpenAPI schema: aw-server's protocol, documented by ActivityWatch and in
    # docs/trackers-activitywatch.md; its bodies are aw-core's, not serializers of ours.
    schema = None

    def get_exception_handler(self):
        return aw_exception_handler

    def membership(self, request: Request) -> Membership:
        """The company the request acts in (SPEC: Conventions): ``?company=``, else the user's
        default or only company; a token bound to a company sees that one alone
        (``permissions.active_memberships``)."""
        memberships = list(permissions.active_memberships(authenticated_user(request)))
        default = getattr(request.user, "default_company_id", None)
        return company_membership(memberships, request.GET.get("company"), default_company_id=default)

    def bucket(self, request: Request, bucket_id: str, membership: Membership | None = None) -> AwBucket:
        membership = membership or self.membership(request)
        bucket = selectors.bucket_for(company_id=membership.company_id, user_id=membership.user_id, bucket_id=bucket_id)
        if bucket is None:
            raise services.no_such_bucket(bucket_id)
        return bucket


def _when(request: Request, name: str) -> datetime | None:
    raw = request.GET.get(name)
    if raw is None:
        return None
    try:
        return parse_timestamp(raw.replace(" ", "+"), name=name)  # an unescaped "+" arrives as " "
    except BadEvent as exc:
        raise exceptions.ValidationError(str(exc)) from None


def _body(request: Request) -> Any:
    return request.data


class InfoView(AwView):
    def get(self, request: Request) -> Response:
        membership = self.membership(request)
        return Response(
            {
                # the name the watcher reached us by, not the machine's own (which says nothing
                # useful to a watcher and tells the internet about the deployment)
                "hostname": request.get_host().rsplit(":", 1)[0],
                "version": VERSION,
                "testing": False,
                "device_id": str(membership.company_id),
            }
        )


class BucketsView(AwView):
    def get(self, request: Request) -> Response:
        membership = self.membership(request)
        return Response(selectors.bucket_list(company_id=membership.company_id, user_id=membership.user_id))


class BucketView(AwView):
    def get(self, request: Request, bucket_id: str) -> Response:
        return Response(selectors.bucket_json(self.bucket(request, bucket_id)))

    def post(self, request: Request, bucket_id: str) -> Response:
        data = _body(request)
        if not isinstance(data, dict):
            raise exceptions.ValidationError("The body must be a JSON object")
        for required in ("client", "type", "hostname"):
            value = data.get(required)
            if not isinstance(value, str) or not value or len(value) > 255:
                raise exceptions.ValidationError(f"'{required}' is required (a string of 1-255 characters)")
        extra = data.get("data")
        if extra is not None and not isinstance(extra, dict):
            raise exceptions.ValidationError("'data' must be a JSON object")
        name: str | None = data.get("name")
        if len(bucket_id) > 255 or (name is not None and (not isinstance(name, str) or len(name) > 255)):
            raise exceptions.ValidationError("The bucket id and name are at most 255 characters")
        membership = self.membership(request)
        spec = services.BucketSpec(
            bucket_id=bucket_id,
            type=data["type"],
            client=data["client"],
            hostname=data["hostname"],
            name=name,
            data=extra,
        )
        created = services.bucket_create(company_id=membership.company_id, user_id=membership.user_id, spec=spec)
        return Response({}, status=200 if created else 304)

    def delete(self, request: Request, bucket_id: str) -> Response:
        bucket = self.bucket(request, bucket_id)
        # aw-server (not in testing mode) deletes only with ?force=1: a mistyped call must not
        # lose a watcher's history. Its answer, 401, is kept for compatibility.
        if request.GET.get("force") != "1":
            raise exceptions.NotAuthenticated(
                "Deleting buckets is only permitted if aw-server is running in testing mode or if ?force=1"
            )
        services.bucket_delete(bucket=bucket)
        return Response({})


class EventsView(AwView):
    def get(self, request: Request, bucket_id: str) -> Response:
        bucket = self.bucket(request, bucket_id)
        raw_limit = request.GET.get("limit", "-1")
        try:
            limit = int(raw_limit)
        except ValueError:
            raise exceptions.ValidationError("'limit' must be an integer") from None
        events = selectors.events_list(
            bucket=bucket, limit=limit, start=_when(request, "start"), end=_when(request, "end")
        )
        return Response([event.to_json() for event in events])

    def post(self, request: Request, bucket_id: str) -> HttpResponse:
        data = _body(request)
        single = isinstance(data, dict)
        if not single and not isinstance(data, list):
            raise exceptions.ValidationError("Invalid POST data: an event or a list of events")
        raw_events = [data] if single else data
        if len(raw_events) > MAX_EVENTS:
            raise exceptions.ValidationError(f"At most {MAX_EVENTS} events per request")
        now = timezone.now()
        events = [parse_event(raw, now=now) for raw in raw_events]  # all or nothing
        membership = self.membership(request)
        bucket = self.bucket(request, bucket_id, membership)
        stored = services.events_insert(
            bucket=bucket, events=events, rules=privacy_rules_for(membership.company_id), now=now
        )
        # aw-server answers the event for a single one, null for a list.
        if single and stored:
            return Response(stored[0].to_json())
        return HttpResponse("null", content_type="application/json")


class EventCountView(AwView):
    def get(self, request: Request, bucket_id: str) -> Response:
        bucket = self.bucket(request, bucket_id)
        return Response(selectors.event_count(bucket=bucket, start=_when(request, "start"), end=_when(request, "end")))


class EventView(AwView):
    def get(self, request: Request, bucket_id: str, event_id: int) -> Response:
        event = selectors.event_get(bucket=self.bucket(request, bucket_id), event_id=event_id)
        if event is None:
            raise exceptions.NotFound(f"There's no event {event_id} in bucket {bucket_id}")
        return Response(event.to_json())

    def delete(self, request: Request, bucket_id: str, event_id: int) -> Response:
        bucket = self.bucket(request, bucket_id)
        deleted, _ = bucket.events.filter(pk=event_id).delete()
        return Response({"success": bool(deleted)})


class HeartbeatView(AwView):
    def post(self, request: Request, bucket_id: str) -> Response:
        raw = request.GET.get("pulsetime")
        if raw is None:
            raise exceptions.ValidationError("Missing required parameter pulsetime")
        try:
            pulsetime = float(raw)
        except ValueError:
            raise exceptions.ValidationError("'pulsetime' must be a number of seconds") from None
        if not 0 <= pulsetime <= 86400:
            raise exceptions.ValidationError("'pulsetime' must be between 0 and 86400 seconds")
        now = timezone.now()
        heartbeat: Event = parse_event(_body(request), now=now)
        membership = self.membership(request)
        event = services.heartbeat(
            company_id=membership.company_id,
            user_id=membership.user_id,
            bucket_id=bucket_id,
            heartbeat=heartbeat,
            pulsetime=pulsetime,
            rules=privacy_rules_for(membership.company_id),
            now=now,
        )
        return Response(event.to_json())


def _attachment(payload: dict, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(payload), content_type="application/json")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


class ExportView(AwView):
    def get(self, request: Request) -> HttpResponse:
        membership = self.membership(request)
        buckets = selectors.export_all(company_id=membership.company_id, user_id=membership.user_id)
        return _attachment({"buckets": buckets}, "aw-buckets-export.json")


class BucketExportView(AwView):
    def get(self, request: Request, bucket_id: str) -> HttpResponse:
        bucket = self.bucket(request, bucket_id)
        return _attachment(
            {"buckets": {bucket.bucket_id: selectors.bucket_export(bucket)}},
            f"aw-bucket-export_{bucket.bucket_id}.json",
        )


def not_supported(request, rest: str = "") -> JsonResponse:
    """The rest of aw-server's API (query, settings, import, log): not offered by Stint."""
    return JsonResponse({"message": f"Not supported by Stint's ActivityWatch API: /api/0/{rest}"}, status=404)
