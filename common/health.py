"""Liveness and readiness (SPEC: Operations). Ready checks every dependency a request may
need and names the ones that are down, so an orchestrator and a human both know why."""

from __future__ import annotations

import structlog
from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu import Connection

from common.redis import get_client

logger = structlog.get_logger(__name__)


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_redis() -> None:
    get_client().ping()


def _check_broker() -> None:
    with Connection(
        settings.CELERY_BROKER_URL, connect_timeout=2, transport_options={"socket_timeout": 2, "max_retries": 0}
    ) as conn:
        conn.ensure_connection(max_retries=0, timeout=2)


CHECKS = {"database": _check_database, "redis": _check_redis, "broker": _check_broker}


@never_cache
@require_GET
def live(request):
    return JsonResponse({"status": "ok"})


@never_cache
@require_GET
def ready(request):
    results, down = {}, []
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # any failure means "not ready"; say which and why
            results[name] = "down"
            down.append(name)
            logger.warning("dependency_down", dependency=name, error=str(exc)[:200])
    if not down:
        return JsonResponse({"status": "ok", "checks": results})
    body = {
        "type": "server_error",
        "errors": [{"code": "service_unavailable", "detail": f"{name} is unavailable.", "attr": name} for name in down],
        "status": "unavailable",
        "checks": results,
    }
    return JsonResponse(body, status=503)
