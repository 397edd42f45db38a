"""What a Prometheus scrape of /metrics sees."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families


def scrape(api, **extra) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from one scrape over the API client."""
    response = api.get("/metrics", **extra)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def value(metrics: dict, name: str, **labels) -> float:
    return metrics.get((name, tuple(sorted(labels.items()))), 0.0)
