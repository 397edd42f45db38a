"""Prometheus metrics (SPEC: Operations) and the protected ``/metrics`` endpoint.

Request rate and latency by route are django-prometheus' series, updated by our
``common.middleware.RouteMetricsMiddleware`` (``observe_request`` below:
``django_http_requests_latency_seconds_by_view_method`` and
``django_http_responses_total_by_status_view_method``, labelled by the URL pattern's name, so
the label set is bounded by urls.py whatever paths clients send). Ours are below: counters and
histograms observed where the work happens, and two gauges read from PostgreSQL and the broker
when Prometheus scrapes.

Several processes (``make run``: N daphne, a Celery worker) each count their own. When
``PROMETHEUS_MULTIPROC_DIR`` is set (runstack sets it for its children, wiped at start),
prometheus_client keeps every process's values in mmapped files there and a scrape of any web
process sums them all; without it a scrape sees the answering process only."""

from __future__ import annotations

import hmac
import ipaddress
import time
from contextlib import contextmanager

import prometheus_client
import structlog
from django.conf import settings
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_prometheus.middleware import Metrics as DjangoMetrics
from prometheus_client import Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from common.broker import queue_lengths
from common.exceptions import error_body, handler404
from common.throttling import request_ip

logger = structlog.get_logger(__name__)

# A socket lives in one web process; "livesum" adds up the processes that are alive, so a
# process that died (runstack marks it dead) stops counting its sockets.
WEBSOCKET_CONNECTIONS = Gauge(
    "stint_websocket_connections",
    "Authenticated WebSocket connections open now (/ws/realtime/).",
    multiprocess_mode="livesum",
)
SCREENSHOT_PROCESSING_SECONDS = Histogram(
    "stint_screenshot_processing_seconds",
    "Time a worker spent processing one screenshot (decode, blur, thumbnail, store).",
    ["outcome"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60),
)
EXPORT_BUILD_SECONDS = Histogram(
    "stint_export_build_seconds",
    "Time a worker spent building one report export (query, CSV/XLSX, store).",
    ["outcome"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
)
# Webhooks (docs/webhooks.md): each attempt the change-log feeder makes, by what became of it
# (``succeeded``; ``failed``: a retry is scheduled; ``given_up``: its last attempt failed), and
# how long after its commit (``Change.at``) an event reached its receiver with a 2xx.
WEBHOOK_DELIVERIES = Counter(
    "stint_webhook_deliveries",
    "Webhook delivery attempts of change-log events, by outcome (succeeded, failed, given_up).",
    ["outcome"],
)
WEBHOOK_LAG_SECONDS = Histogram(
    "stint_webhook_delivery_lag_seconds",
    "Time from a change's commit to its webhook's 2xx answer (retries included).",
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800, 3600, 6 * 3600, 24 * 3600),
)


@contextmanager
def timed(histogram: Histogram):
    """Observe the block's duration labelled ``outcome``: ``ready``, ``error`` (it raised; the
    task retries) or whatever the block set (``not_ready``: nothing was done)."""
    started = time.perf_counter()
    state = {"outcome": "ready"}
    try:
        yield state
    except BaseException:
        state["outcome"] = "error"
        raise
    finally:
        histogram.labels(outcome=state["outcome"]).observe(time.perf_counter() - started)


def observe_request(*, view: str, method: str, status: int, seconds: float) -> None:
    """Count a request served outside Django's middleware (the lean heartbeat intake) in the
    same series django-prometheus keeps for every other route."""
    m = DjangoMetrics.get_instance()
    m.responses_by_status_view_method.labels(status=str(status), view=view, method=method).inc()
    m.requests_latency_by_view_method.labels(view=view, method=method).observe(seconds)


# --------------------------------------------------------------------------- read at scrape time


def _queue_lengths() -> dict[str, int]:
    """Messages waiting in each Celery queue the app sends to (the broker's own count)."""
    from config.celery import app

    queues = {app.conf.task_default_queue, settings.CELERY_WEBHOOK_QUEUE}
    queues |= {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}  # one per queue group
    return queue_lengths(queues)


def _heartbeat_lag_seconds() -> float:
    """Age of the oldest accepted heartbeat not merged yet: how far merging lags intake.
    The inbox is small (rows live seconds) and its primary key orders it by arrival."""
    with connection.cursor() as cursor:
        # clock_timestamp(), not now(): now() is when the enclosing transaction began.
        cursor.execute(
            "SELECT EXTRACT(EPOCH FROM (clock_timestamp() - received_at)) FROM sync_heartbeatinbox ORDER BY id LIMIT 1"
        )
        row = cursor.fetchone()
    return max(float(row[0]), 0.0) if row else 0.0


class ScrapeTimeCollector(Collector):
    """Values that belong to no process: read once per scrape by the process that answers.
    A dependency that is down leaves its metric out (and /health/ready says why)."""

    def collect(self):
        try:
            lengths = _queue_lengths()
        except Exception as exc:
            logger.warning("metrics_queue_length_failed", error=str(exc)[:200])
        else:
            family = GaugeMetricFamily(
                "stint_celery_queue_length",
                "Celery messages waiting in a queue (not yet taken by a worker).",
                labels=["queue"],
            )
            for name, length in lengths.items():
                family.add_metric([name], length)
            yield family
        try:
            lag = _heartbeat_lag_seconds()
        except Exception as exc:
            logger.warning("metrics_heartbeat_lag_failed", error=str(exc)[:200])
        else:
            yield GaugeMetricFamily(
                "stint_heartbeat_ingest_lag_seconds",
                "Age of the oldest accepted heartbeat still waiting in the inbox to be merged (0 when empty).",
                value=lag,
            )


# --------------------------------------------------------------------------- the endpoint


def _allowed_network(ip: str | None) -> bool:
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_NETWORKS)


def _token_ok(request) -> bool:
    if not settings.METRICS_TOKEN:
        return True
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        presented.strip().encode(), settings.METRICS_TOKEN.encode()
    )


def _registry() -> prometheus_client.CollectorRegistry:
    registry = prometheus_client.CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        multiprocess.MultiProcessCollector(registry)
    registry.register(ScrapeTimeCollector())
    return registry


@never_cache
@require_GET
def export(request):
    """``/metrics``: only for clients in METRICS_ALLOWED_NETWORKS (404 to anyone else, as if it
    did not exist), and with ``Authorization: Bearer <METRICS_TOKEN>`` when that is set (403)."""
    if not _allowed_network(request_ip(request)):
        return handler404(request)
    if not _token_ok(request):
        return JsonResponse(
            error_body(type_="client_error", code="permission_denied", detail="A valid metrics token is required."),
            status=403,
        )
    body = prometheus_client.generate_latest(_registry())
    if not settings.PROMETHEUS_MULTIPROC_DIR:
        body = prometheus_client.generate_latest(prometheus_client.REGISTRY) + body
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
