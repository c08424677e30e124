"""Request latency as a client sees it: GET requests in turn over one keep-alive connection
to the web server, timed from the request's first byte sent to the answer's last byte read."""

from __future__ import annotations

import http.client
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` of 1) of ``values``."""
    ordered = sorted(values)
    return ordered[max(0, round(share * len(ordered)) - 1)]


@dataclass
class Latencies:
    """Milliseconds of every timed request, and per path."""

    all: list[float] = field(default_factory=list)
    by_path: dict[str, list[float]] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return statistics.median(self.all)

    @property
    def p95(self) -> float:
        return percentile(self.all, 0.95)

    def summary(self, label: Callable[[str], str] = str) -> dict[str, object]:
        return {
            "p50": self.p50,
            "p95": self.p95,
            "max": max(self.all),
            "requests": len(self.all),
            "median_by_query": {
                label(path): statistics.median(values) for path, values in self.by_path.items()
            },
        }


def timed_gets(
    base: str, token: str, paths: Sequence[str], *, warmup: int, requests: int
) -> Latencies:
    """``warmup`` then ``requests`` GETs of ``paths`` in turn, as the bearer of ``token``;
    every answer must be a 200."""
    address = urlsplit(base)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
    headers = {"Authorization": f"Bearer {token}"}
    latencies = Latencies(by_path={path: [] for path in paths})
    try:
        for number in range(warmup + requests):
            path = paths[number % len(paths)]
            started = time.perf_counter()
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            response.read()
            elapsed = (time.perf_counter() - started) * 1000
            if response.status != 200:
                raise SystemExit(f"GET {path} answered {response.status}")
            if number >= warmup:
                latencies.all.append(elapsed)
                latencies.by_path[path].append(elapsed)
    finally:
        connection.close()
    return latencies
