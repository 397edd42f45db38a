"""deploy/grafana/stint.json charts only what Stint exports: every series its expressions name
is one a scrape of /metrics carries (or, for a labelled histogram nothing observed yet in this
process, one our registry declares), and every label they group by is on that series."""

from __future__ import annotations

import json
import re
from pathlib import Path

import prometheus_client
import pytest

from tests.support.metrics import scrape

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "stint.json"
SUFFIXES = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",), "gauge": ("",)}
WANTED = [  # issue 22: what an operator watches
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "stint_websocket_connections",
    "stint_celery_queue_length",
    "stint_heartbeat_ingest_lag_seconds",
    "stint_screenshot_processing_seconds_bucket",
    "stint_export_build_seconds_bucket",
    "stint_webhook_deliveries_total",  # issue 19
    "stint_webhook_delivery_lag_seconds_bucket",
]


def _expressions() -> list[str]:
    return [t["expr"] for panel in json.loads(DASHBOARD.read_text())["panels"] for t in panel["targets"]]


def _series_and_groupings(expr: str) -> tuple[set[str], set[str]]:
    """The series an expression reads and the labels it groups or filters by."""
    labels = {name for group in re.findall(r"\bby\s*\(([^)]*)\)", expr) for name in re.split(r"\s*,\s*", group)}
    labels |= set(re.findall(r"([a-zA-Z_]\w*)\s*=~?", " ".join(re.findall(r"\{([^}]*)\}", expr))))
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\bby\s*\([^)]*\)", " ", expr)
    series = {m for m in re.findall(r"\b([a-zA-Z_:][\w:]*)\b(?!\s*\()", bare) if not m.isdigit()}
    return series, {label for label in labels if label}


def _declared() -> dict[str, set[str]]:
    """Sample names our registry declares, with their label names (le for buckets)."""
    declared: dict[str, set[str]] = {}
    for collector in list(prometheus_client.REGISTRY._collector_to_names):  # the registry has no public walk
        names = getattr(collector, "_labelnames", None)
        for family in collector.describe() if hasattr(collector, "describe") else []:
            for suffix in SUFFIXES.get(family.type, ("",)):
                extra = {"le"} if suffix == "_bucket" else set()
                declared[family.name + suffix] = set(names or ()) | extra
    return declared


@pytest.fixture
def exported(api, db) -> dict[str, set[str]]:
    api.get("/health/live")  # a request, so the per-route series have samples
    series: dict[str, set[str]] = {}
    for name, pairs in scrape(api):
        series.setdefault(name, set()).update(label for label, _ in pairs)
    for name, label_names in _declared().items():
        series.setdefault(name, set()).update(label_names)
    return series


def test_every_expression_reads_series_stint_exports_grouped_by_their_labels(exported):
    for expr in _expressions():
        series, labels = _series_and_groupings(expr)
        assert series, expr
        for name in series:
            assert name in exported, f"{name} (in {expr!r}) is not in /metrics"
            assert labels <= exported[name], f"{expr!r} groups by {labels - exported[name]}, not labels of {name}"


def test_the_dashboard_charts_what_an_operator_watches():
    read = set().union(*(_series_and_groupings(expr)[0] for expr in _expressions()))
    assert set(WANTED) <= read
    # a typo'd series would chart nothing, silently: the parser above must see one
    assert _series_and_groupings("sum by (view) (rate(stint_nope_total{status=~'5..'}[5m]))") == (
        {"stint_nope_total"},
        {"view", "status"},
    )
