"""Errors to Sentry when SENTRY_DSN is set (SPEC: Operations), from web processes and Celery
workers alike, tagged with the request id and user id our logs carry, and scrubbed of
credentials before anything leaves the process.

``send_default_pii=False`` keeps sentry-sdk from attaching cookies, the user's IP and
identity; its own scrubber drops a fixed list of exact key names. That is not enough here:
our bodies say ``new_password``, ``current_password``, ``refresh``, ``access``, and a JWT can
sit in any string (a query, an exception message). ``before_send`` below walks the whole event
and removes them all. Local variables are not sent at all: a token can sit in a variable of
any name, where no key-based scrubber can recognise it."""

from __future__ import annotations

import re
import warnings
from typing import Any
from urllib.parse import parse_qsl, urlencode

import sentry_sdk
import structlog
from sentry_sdk.integrations.celery import CeleryIntegration
from sentry_sdk.integrations.django import DjangoIntegration
from sentry_sdk.types import Breadcrumb, BreadcrumbHint, Event, Hint

FILTERED = "[Filtered]"
# A key containing any of these names a credential, wherever it appears in an event.
SECRET_KEY_PARTS = (
    "password",
    "passwd",
    "secret",
    "token",
    "authorization",
    "cookie",
    "refresh",
    "access",
    "csrf",
    "api_key",
    "apikey",
    "signature",
    "ticket",
    "sessionid",
    "dsn",
)
# JWTs (our access tokens: header.payload.signature) and "Bearer <anything>" in free text.
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")
_BEARER = re.compile(r"(?i)\b(bearer)\s+[^\s,;\"']+")


def _secret_key(key) -> bool:
    lowered = str(key).lower().replace("-", "_")
    return any(part in lowered for part in SECRET_KEY_PARTS)


def _scrub_text(text: str) -> str:
    return _BEARER.sub(r"\1 " + FILTERED, _JWT.sub(FILTERED, text))


def scrub(value: Any) -> Any:
    """The value with every credential-named key's value and every token-looking string replaced."""
    if isinstance(value, dict):
        return {k: FILTERED if _secret_key(k) else scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        # headers may arrive as [name, value] pairs
        if len(value) == 2 and isinstance(value[0], str) and _secret_key(value[0]):
            return [value[0], FILTERED]
        return [scrub(v) for v in value]
    if isinstance(value, str):
        return _scrub_text(value)
    return value


def _scrub_query(query: str) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, FILTERED if _secret_key(k) else _scrub_text(v)) for k, v in pairs], safe="[]")


def before_send(event: Event, hint: Hint) -> Event:
    # Tags from the ids the request middleware and the authentication bound for our logs:
    # the event is captured in the failing request's own context.
    bound = structlog.contextvars.get_contextvars()
    tags = event.setdefault("tags", {})
    for name in ("request_id", "user_id"):
        if bound.get(name) and name not in tags:
            tags[name] = str(bound[name])
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        query = request.get("query_string")
        if isinstance(query, str):
            request["query_string"] = _scrub_query(query)
    return scrub(event)


def before_breadcrumb(crumb: Breadcrumb, hint: BreadcrumbHint) -> Breadcrumb:
    return scrub(crumb)


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    with warnings.catch_warnings():
        # sentry-sdk 2.7x deprecates send_default_pii for data_collection, but passing
        # data_collection switches off the SDK's own EventScrubber, which we keep beside ours.
        warnings.filterwarnings("ignore", "The send_default_pii option is deprecated", DeprecationWarning)
        _init(dsn=dsn, environment=environment, release=release, traces_sample_rate=traces_sample_rate)


def _init(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        include_local_variables=False,
        max_request_body_size="medium",
        traces_sample_rate=traces_sample_rate,
        before_send=before_send,
        before_breadcrumb=before_breadcrumb,
    )
