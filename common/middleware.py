from __future__ import annotations

import re
import time
import uuid

import structlog

from common import request_context
from common.metrics import DjangoMetrics, observe_request
from common.throttling import request_ip

logger = structlog.get_logger("stint.request")

# A client-supplied id is echoed into our logs and headers: keep it short and printable.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def request_id_for(incoming: str) -> str:
    """The client's ``X-Request-ID`` when it is a sane one, else a new id."""
    return incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex


def log_request(*, method: str, path: str, status: int, seconds: float, **context) -> None:
    """The one ``request`` log line, for Django's stack (below) and the lean heartbeat intake
    (``context``: what the log's context variables do not already carry there)."""
    logger.info("request", method=method, path=path, status=status, duration_ms=round(seconds * 1000, 2), **context)


class RequestIdMiddleware:
    """Honour or generate ``X-Request-ID``, bind it to every log line, echo it back, and log
    one structured line per request (method, path, status, duration, user id)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_for(request.headers.get("X-Request-ID", ""))
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        bound = request_context.bind(request_context.RequestContext(request_id=request_id, ip=request_ip(request)))
        started = time.perf_counter()
        try:
            response = self.get_response(request)
        finally:
            request_context.reset(bound)
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            structlog.contextvars.bind_contextvars(user_id=str(user.pk))
        log_request(
            method=request.method,
            path=request.path,
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        structlog.contextvars.clear_contextvars()
        return response


# django-prometheus' own label for a method outside HTTP's (kept: dashboards may match on it).
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "OPTIONS", "CONNECT", "PATCH"})


class RouteMetricsMiddleware:
    """Last in the stack: each response the view layer produced is counted and its time
    observed by route (the URL pattern's name) and method, in the two series the dashboard
    reads (``common.metrics.observe_request``, as the lean heartbeat intake counts its own).
    It replaces django-prometheus' two middleware, whose ~20 other counter and histogram
    updates a request cost ~140 µs of CPU (docs/benchmarks.md, "The request floor")."""

    def __init__(self, get_response):
        self.get_response = get_response
        DjangoMetrics.get_instance()  # the series exist (and are declared) before any request

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)  # Django turns a view's exception into a response
        match = getattr(request, "resolver_match", None)
        observe_request(
            view=(match.view_name if match is not None else None) or "<unnamed view>",
            method=request.method if request.method in _METHODS else "<invalid method>",
            status=response.status_code,
            seconds=time.perf_counter() - started,
        )
        return response
