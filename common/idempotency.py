"""``Idempotency-Key`` on every POST (SPEC: Conventions), with Stripe's semantics and the IETF
draft's status codes:

- the same key and the same request (method, path, query, body) within 24 hours replays the
  stored status and body (``Idempotent-Replayed: true``), doing nothing again;
- the same key with a different request: 422;
- the same key while the first request is still running: 409.

Keys are per user. The key is claimed with a transaction-scoped advisory lock and the outcome
stored in the same transaction as the work, so a crash can never leave "done" without the
work or the work without "done". Only successes (status < 400) are remembered: a failed request
may be retried with the same key. Anonymous POSTs (sign-in, registration) are not keyed.

Work a view leaves for after commit (``transaction.on_commit``) runs when this middleware
commits, after the view has returned: if it completes the answer (``complete_response``: the
sync batch's cursor), the answer sent and the one stored for replays are the completed one,
with or without a key."""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response

from common.exceptions import error_body
from common.models import IdempotencyRecord
from common.uploads import max_upload_request_bytes

KEY_HEADER = "Idempotency-Key"
TTL = timedelta(hours=24)
_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def _error(status: int, code: str, detail: str) -> JsonResponse:
    return JsonResponse(error_body(type_="client_error", code=code, detail=detail, attr=None), status=status)


def _user_of(request):
    """The caller, authenticated the way the API will authenticate them (bearer token or the
    dashboard's session); None when anonymous or the credentials are bad (the view answers)."""
    from accounts.authentication import SessionJWTAuthentication, personal_token_user

    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    try:
        # A personal token's user (what it may do is the view's to check), else a session's.
        user = personal_token_user(request)
        if user is None:
            result = SessionJWTAuthentication().authenticate(Request(request))
            user = result[0] if result else None
    except AuthenticationFailed:
        return None
    return user


def _hash_body(request, digest) -> None:
    """Feed the body to ``digest``, for the fingerprint. ``request.body`` refuses anything over
    DATA_UPLOAD_MAX_MEMORY_SIZE (413), but uploaded files do not count towards that limit: a
    screenshot or an import file must not be refused only for carrying a key. Such a body is
    hashed as it is read, kept in a temporary file (in memory up to that limit, on disk past it:
    an import file may be 200 MB) and re-served from there to the parser, bounded by the largest
    request an upload view allows (``common.uploads``; each view checks its own limit)."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if (
        request.content_type != "multipart/form-data"
        or hasattr(request, "_body")
        or (limit is not None and length <= limit)  # within the limit: Django reads it
        or length > max_upload_request_bytes()  # over every limit: Django's 413
    ):
        digest.update(request.body)
        return
    spool = tempfile.SpooledTemporaryFile(max_size=limit or 0)  # noqa: SIM115  (the request's stream now)
    while chunk := request.read(256 * 1024):
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    request._stream = spool
    request._read_started = False  # the multipart parser reads it from the start, from here


def _fingerprint(request) -> str:
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode()):
        digest.update(part)
        digest.update(b"\0")
    _hash_body(request, digest)
    digest.update(b"\0")
    return digest.hexdigest()


def complete_response(response: Response, data) -> None:
    """Give ``response`` its final ``data`` from an on-commit callback. Without a key the view
    runs in autocommit, the callback runs at once and the response is not rendered yet; under
    one, the callback runs as this middleware commits, after rendering: render it again (the
    middleware then stores what is sent)."""
    response.data = data
    if response.is_rendered:
        response.content = response.rendered_content


def replay_without(response: Response, *fields: str) -> Response:
    """Keep ``fields`` (a secret shown once: a new personal token) out of what is stored for
    replays: a replay answers the same status and the rest of the body, without them."""
    response.idempotency_replay_data = {k: v for k, v in response.data.items() if k not in fields}  # type: ignore[attr-defined]
    return response


def _stored_body(response) -> str:
    redacted = getattr(response, "idempotency_replay_data", None)
    if redacted is not None:
        return json.dumps(redacted, cls=DjangoJSONEncoder, separators=(",", ":"))  # as DRF renders
    return response.content.decode("utf-8", "replace")


def _try_claim(user_id, key: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))", [f"idem:{user_id}:{key}"])
        return cursor.fetchone()[0]


class IdempotencyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        key = request.headers.get(KEY_HEADER)
        if request.method != "POST" or key is None:
            return self.get_response(request)
        if not _VALID_KEY.match(key):
            return _error(400, "invalid_idempotency_key", "Idempotency-Key must be 1-255 printable characters.")
        user = _user_of(request)
        if user is None:
            return self.get_response(request)
        fingerprint = _fingerprint(request)
        stored = None
        with transaction.atomic():
            if not _try_claim(user.pk, key):
                return _error(409, "idempotency_key_in_use", "A request with this Idempotency-Key is still running.")
            record = IdempotencyRecord.objects.filter(user=user, key=key).first()
            if record is not None and record.created_at < timezone.now() - TTL:
                record.delete()  # expired: the key is free again
                record = None
            if record is not None:
                if record.fingerprint != fingerprint:
                    return _error(
                        422, "idempotency_key_reused", "This Idempotency-Key was used for a different request."
                    )
                replay = HttpResponse(record.body, status=record.status_code, content_type=record.content_type or None)
                replay["Idempotent-Replayed"] = "true"
                return replay
            response = self.get_response(request)
            if response.status_code < 400 and not response.streaming:
                stored = IdempotencyRecord.objects.create(
                    user=user,
                    key=key,
                    fingerprint=fingerprint,
                    status_code=response.status_code,
                    content_type=response.get("Content-Type", ""),
                    body=_stored_body(response),
                )
        # Committed, and the view's on-commit work has run. If it completed the answer, keep
        # the completed one for replays (a crash just before this leaves the answer as it was
        # at commit: still a success, only without what after-commit work adds to it).
        if stored is not None and (body := _stored_body(response)) != stored.body:
            IdempotencyRecord.objects.filter(pk=stored.pk).update(body=body)
        return response


def prune_expired() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(created_at__lt=timezone.now() - TTL).delete()
    return deleted
