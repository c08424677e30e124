"""Reading ``GET /metrics`` as Prometheus does: its samples by name and labels."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests-0123456789"
BEARER = f"Bearer {TOKEN}"


class Samples(dict):
    """``{(name, ((label, value), …)): value}`` of one scrape."""

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 when the scrape has none (nothing recorded yet)."""
        return self.get((name, tuple(sorted(labels.items()))), 0.0)


def parse(text: str) -> Samples:
    samples = Samples()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def scrape(client) -> Samples:
    """The metrics, through ``client`` (Django's test client), with the token."""
    response = client.get("/metrics", HTTP_AUTHORIZATION=BEARER)
    assert response.status_code == 200, response.content
    return parse(response.content.decode())
