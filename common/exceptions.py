"""One error shape for every failure (SPEC: Conventions), DRF's and Django's alike.

DRF errors go through drf-standardized-errors. Errors Django raises before DRF runs (an
unknown URL, an uncaught exception, a too-large body) come through ``handler404`` /
``handler500`` / ``handler400`` below, in the same shape."""

from __future__ import annotations

import redis
import structlog
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import JsonResponse
from drf_standardized_errors.handler import exception_handler as standardized_handler
from kombu.exceptions import OperationalError as BrokerOperationalError
from rest_framework import exceptions

logger = structlog.get_logger(__name__)

# Errors that mean "a service we depend on is unreachable", not "this request is wrong".
INFRASTRUCTURE_ERRORS = (
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    DatabaseOperationalError,
    DatabaseInterfaceError,
    BrokerOperationalError,
)


class ServiceError(Exception):
    """Raised by services; mapped to HTTP here and nowhere else (ARCHITECTURE: 6)."""

    def __init__(self, message: str, *, code: str | None = None, attr: str | None = None, extra: dict | None = None):
        super().__init__(message)
        self.message, self.code, self.attr = message, code, attr
        # Machine-readable context added beside "type" and "errors" (e.g. conflicting ids).
        self.extra = extra or {}


class InvalidInput(ServiceError):
    """400, naming the offending field in ``attr``."""


class AuthenticationFailed(ServiceError):
    """401."""


class NotFoundError(ServiceError):
    """404: does not exist, or is not the caller's to see."""


class PermissionDeniedError(ServiceError):
    """403: visible to the caller, but not theirs to change."""


class ConflictError(ServiceError):
    """409."""


class GoneError(ServiceError):
    """410: existed, but is used up or expired for good."""


class TooLargeError(ServiceError):
    """413: more bytes than the limit (a file in a form that itself was within the ceiling)."""


class PlanLimitError(ServiceError):
    """402: over the company's plan limit; ``attr`` names the limit (SPEC: Conventions)."""


def _to_api_exception(exc: ServiceError) -> exceptions.APIException:
    if isinstance(exc, InvalidInput):
        detail = {exc.attr: [exceptions.ErrorDetail(exc.message, exc.code or "invalid")]} if exc.attr else exc.message
        return exceptions.ValidationError(detail, code=exc.code or "invalid")
    if isinstance(exc, AuthenticationFailed):
        return exceptions.AuthenticationFailed(exc.message, code=exc.code or "authentication_failed")
    if isinstance(exc, NotFoundError):
        return exceptions.NotFound(exc.message, code=exc.code or "not_found")
    if isinstance(exc, PermissionDeniedError):
        return exceptions.PermissionDenied(exc.message, code=exc.code or "permission_denied")
    if isinstance(exc, ConflictError):
        return Conflict(exc.message, code=exc.code or "conflict")
    if isinstance(exc, GoneError):
        return Gone(exc.message, code=exc.code or "gone")
    if isinstance(exc, TooLargeError):
        return PayloadTooLarge(exc.message, code=exc.code or "payload_too_large")
    if isinstance(exc, PlanLimitError):
        return PaymentRequired(exc.message, code=exc.code or "plan_limit")
    raise TypeError(f"unmapped service error {type(exc).__name__}")


class Gone(exceptions.APIException):
    status_code = 410
    default_detail = "This resource is gone for good."
    default_code = "gone"


class PayloadTooLarge(exceptions.APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


class PaymentRequired(exceptions.APIException):
    status_code = 402
    default_detail = "Over the company's plan limit."
    default_code = "plan_limit"


class ServiceUnavailable(exceptions.APIException):
    status_code = 503
    default_detail = "A service this request needs is unavailable."
    default_code = "service_unavailable"


class Conflict(exceptions.APIException):
    status_code = 409
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc, context):
    extra = exc.extra if isinstance(exc, ServiceError) else {}
    # A plan limit names the limit in ``attr`` (the package fills attr for validation only).
    limit = exc.attr if isinstance(exc, PlanLimitError) else None
    if isinstance(exc, INFRASTRUCTURE_ERRORS):
        # A dependency is down: 503 says "retry later" and names no internals.
        logger.error("dependency_unavailable", error_type=type(exc).__name__, error=str(exc)[:200])
        exc = ServiceUnavailable()
    elif isinstance(exc, ServiceError):
        exc = _to_api_exception(exc)
    elif isinstance(exc, RequestDataTooBig):  # DATA_UPLOAD_MAX_MEMORY_SIZE, read lazily by DRF
        exc = PayloadTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many fields, malformed multipart ...
        exc = exceptions.ParseError(str(exc) or "Malformed request.")
    response = standardized_handler(exc, context)
    if response is not None and extra:
        response.data.update(extra)
    if response is not None and limit:
        response.data["errors"][0]["attr"] = limit
    # 429s say when to come back (DRF sets Retry-After from Throttled.wait; our own
    # throttles raise Throttled too, so this keeps one code path).
    wait = throttled_wait(exc) if isinstance(exc, exceptions.Throttled) else None
    if response is not None and wait is not None:
        response["Retry-After"] = str(max(1, int(wait + 0.999)))
    return response


def throttled_wait(exc: exceptions.Throttled) -> float | None:
    """Seconds until the caller may try again (``Throttled.wait``, which its ``__init__`` sets
    and the DRF stubs leave out)."""
    wait: float | None = getattr(exc, "wait", None)
    return wait


def error_body(*, type_: str, code: str, detail: str, attr: str | None = None) -> dict:
    return {"type": type_, "errors": [{"code": code, "detail": detail, "attr": attr}]}


def handler400(request, exception=None):
    # Django turns a body over DATA_UPLOAD_MAX_MEMORY_SIZE read outside DRF (a middleware
    # reading request.body) into a 400; it is a 413 like DRF's.
    if isinstance(exception, RequestDataTooBig):
        detail = PayloadTooLarge.default_detail
        return JsonResponse(error_body(type_="client_error", code="payload_too_large", detail=detail), status=413)
    return JsonResponse(error_body(type_="client_error", code="bad_request", detail="Bad request."), status=400)


def handler403(request, exception=None):
    return JsonResponse(
        error_body(type_="client_error", code="permission_denied", detail="You do not have permission."),
        status=403,
    )


def handler404(request, exception=None):
    return JsonResponse(error_body(type_="client_error", code="not_found", detail="Not found."), status=404)


def handler500(request):
    return JsonResponse(error_body(type_="server_error", code="error", detail="A server error occurred."), status=500)
