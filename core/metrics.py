"""Prometheus metrics: what the service records, and ``GET /metrics``, which shows them.

Every web process (gunicorn's workers) and every worker process of the cluster records in
its own memory, or, when its launcher (``deploy/web.py``, ``deploy/worker.py``) set
``PROMETHEUS_MULTIPROC_DIR``, in files of its own under ``METRICS_DIR/<web|worker>/``
(prometheus-client's multiprocess mode). A scrape sums the files of every process under
``METRICS_DIR``, living or dead, so the counts of a worker that ended stay counted and one
answer covers the web process and the worker cluster on this machine. What the database
knows (queued jobs, the oldest's age) is read from it at the scrape instead: it is right
whichever machine runs the workers.

No label value comes from a request or a row: routes are URL patterns ("<unmatched>"
when none matched), methods one of a fixed list, kinds, outcomes and providers names of
our own, statuses HTTP codes or a fixed word.
"""

from __future__ import annotations

import glob
import hmac
import os
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count, Min
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from core.logging import route_template
from core.views import api_not_found

UNMATCHED = "<unmatched>"
# Methods outside this list (any token is a valid HTTP method) share one label value.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# From a 304 or a status poll (milliseconds) to a streamed answer or an upload (a minute).
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# From a document's text (a second) to a lecture's transcript (tens of minutes).
JOB_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200)
PROVIDER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)

# ``*_created`` series (when a series first appeared) double what a scrape carries for
# nothing a dashboard reads, and multiprocess mode has none.
disable_created_metrics()

http_requests = Counter(
    "studybuddy_http_requests",
    "HTTP requests answered, by route template, method and status code.",
    ["route", "method", "status"],
)
http_request_duration = Histogram(
    "studybuddy_http_request_duration_seconds",
    "Time to the answer's head (a streamed body's transfer is not included).",
    ["route", "method"],
    buckets=REQUEST_BUCKETS,
)
jobs = Counter(
    "studybuddy_jobs",
    "Background jobs run, by kind and outcome.",
    ["kind", "outcome"],
)
job_duration = Histogram(
    "studybuddy_job_duration_seconds",
    "A background job's run, from its claim to its outcome.",
    ["kind", "outcome"],
    buckets=JOB_BUCKETS,
)
provider_requests = Counter(
    "studybuddy_provider_requests",
    "HTTP requests to a provider (each retry counts), by provider and status code "
    '("timeout" or "connection" when there was none).',
    ["provider", "status"],
)
provider_request_duration = Histogram(
    "studybuddy_provider_request_duration_seconds",
    "A provider request's time: to the whole answer, or to the head of a streamed one.",
    ["provider"],
    buckets=PROVIDER_BUCKETS,
)
provider_tokens = Counter(
    "studybuddy_provider_tokens",
    "Tokens sent to a provider (the prompt's, as the provider counts them, else estimated).",
    ["provider"],
)
provider_audio_seconds = Counter(
    "studybuddy_provider_audio_seconds",
    "Seconds of audio a provider transcribed.",
    ["provider"],
)
lecture_source_bytes = Counter(
    "studybuddy_lecture_source_bytes",
    "Bytes downloaded from lecture sources (stream URLs, HLS playlists and segments).",
)


def route_label(request: HttpRequest) -> str:
    """A request's route template as a label; ``"<unmatched>"`` when no pattern matched
    (the API's catch-all 404 included: its pattern says nothing about the request)."""
    match = getattr(request, "resolver_match", None)
    if match is None or match.func is api_not_found:
        return UNMATCHED
    return route_template(request) or UNMATCHED


def request_answered(request: HttpRequest, *, status: int, seconds: float) -> None:
    """One request answered (``core.middleware``)."""
    route = route_label(request)
    method = request.method if request.method in METHODS else "other"
    http_requests.labels(route, method, str(status)).inc()
    http_request_duration.labels(route, method).observe(seconds)


def job_finished(kind: str, outcome: str, seconds: float) -> None:
    """One run of a job of ``kind`` ended with ``outcome`` after ``seconds``."""
    jobs.labels(kind, outcome).inc()
    job_duration.labels(kind, outcome).observe(seconds)


def provider_answered(provider: str, status: int | str, seconds: float) -> None:
    """One HTTP request to ``provider`` got ``status`` (a code, or a word: no answer)."""
    provider_requests.labels(provider, str(status)).inc()
    provider_request_duration.labels(provider).observe(seconds)


# --- The scrape ---------------------------------------------------------------------------


class QueueCollector:
    """Queued jobs per kind and the age of the oldest, from the job rows at each scrape:
    one aggregate query per kind of job (every ``core.models.JobRow`` model)."""

    def collect(self) -> Iterator[Metric]:
        from core.models import JobRow

        queued = GaugeMetricFamily(
            "studybuddy_jobs_queued", "Jobs waiting for a worker, by kind.", labels=["kind"]
        )
        oldest = GaugeMetricFamily(
            "studybuddy_jobs_oldest_queued_age_seconds",
            "Seconds since the oldest waiting job's row last changed (0: none waiting).",
            labels=["kind"],
        )
        now = timezone.now()
        try:
            for model in apps.get_models():
                if not issubclass(model, JobRow):
                    continue
                states = model.states
                row = model.objects.filter(status__in=states.waiting).aggregate(
                    count=Count("pk"), since=Min("updated_at")
                )
                queued.add_metric([states.kind], row["count"])
                age = (now - row["since"]).total_seconds() if row["since"] else 0.0
                oldest.add_metric([states.kind], max(0.0, age))
        except DatabaseError:
            # The database is down: the scrape still answers the counters, which show the
            # outage (the requests' 503s); the queues are missing until it is back.
            return
        yield queued
        yield oldest


class _Recorded:
    """What this process recorded (no ``PROMETHEUS_MULTIPROC_DIR``: ``manage.py runserver``,
    the tests' own process): the service's metrics only, as in multiprocess mode, without
    the process and Python metrics prometheus-client adds to its default registry."""

    def collect(self) -> Iterator[Metric]:
        return (metric for metric in REGISTRY.collect() if metric.name.startswith("studybuddy_"))


class _AllProcesses:
    """What every process under ``METRICS_DIR`` recorded, the web's and the workers'."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def collect(self) -> Iterator[Metric]:
        files = glob.glob(os.path.join(glob.escape(str(self.root)), "*", "*.db"))
        return iter(MultiProcessCollector.merge(files, accumulate=True))


def exposition() -> bytes:
    """The Prometheus text of everything recorded and of the queues."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry.register(_AllProcesses(Path(settings.METRICS_DIR)))
    else:
        registry.register(_Recorded())
    registry.register(QueueCollector())
    return generate_latest(registry)


def _authorized(request: HttpRequest) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), settings.METRICS_TOKEN.encode()
    )


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """``GET /metrics``: 404 without ``METRICS_TOKEN``; 401 without it as bearer token.
    A plain Django view: none of the API's authentication or rate limits apply."""
    if not settings.METRICS_TOKEN:
        raise Http404
    if not _authorized(request):
        response = HttpResponse("unauthorized\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    # The classic text format's type, which every Prometheus version reads.
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_PLAIN_0_0_4)
