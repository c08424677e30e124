"""``GET /metrics``: who may read it, what it counts and how it names what it counts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from lectures.models import Lecture
from search.provider import EmbeddingsClient, embeddings_settings
from studybuddy.startup import prepare_metrics_dir
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.live_server import ROOT
from tests.metrics import BEARER, TOKEN, parse, scrape
from tests.search.conftest import embedding_stub  # noqa: F401
from tests.transcripts.helpers import lecture_with_audio, queued_transcript
from tests.transcripts.provider_stub import API_KEY, Fault
from transcripts.jobs import transcript_process
from transcripts.models import Transcript

pytestmark = pytest.mark.django_db


@pytest.fixture
def metrics_on(settings):
    settings.METRICS_TOKEN = TOKEN
    return settings


def test_without_a_token_configured_the_route_does_not_exist(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", HTTP_AUTHORIZATION=BEARER).status_code == 404
    assert client.get("/metrics").status_code == 404


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-token", f"Bearer {TOKEN}x", f"Basic {TOKEN}", TOKEN, "Bearer "],
)
def test_without_the_token_it_is_401_and_shows_nothing(client, metrics_on, authorization):
    headers = {} if authorization is None else {"HTTP_AUTHORIZATION": authorization}

    response = client.get("/metrics", **headers)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"studybuddy_" not in response.content


def test_the_token_gets_the_prometheus_text_format(client, metrics_on):
    response = client.get("/metrics", HTTP_AUTHORIZATION=BEARER)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    assert b"# TYPE studybuddy_http_requests_total counter" in response.content
    assert b"# TYPE studybuddy_jobs_queued gauge" in response.content


def test_scrapes_are_never_rate_limited(client, alice_client, metrics_on, rates):
    rates(api="2/minute")
    assert [alice_client.get("/api/courses").status_code for _ in range(3)] == [200, 200, 429]

    statuses = [client.get("/metrics", HTTP_AUTHORIZATION=BEARER).status_code for _ in range(30)]

    assert set(statuses) == {200}


def test_requests_are_counted_by_route_template_method_and_status(
    alice, alice_client, client, metrics_on
):
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory()).lecture
    route = {"route": "/api/lectures/{pk}/status", "method": "GET"}
    before = scrape(client)

    assert alice_client.get(f"/api/lectures/{lecture.id}/status").status_code == 200
    assert alice_client.get(f"/api/lectures/{uuid.uuid4()}/status").status_code == 404

    after = scrape(client)
    for status in ("200", "404"):
        counted = "studybuddy_http_requests_total"
        assert (
            after.value(counted, **route, status=status)
            - before.value(counted, **route, status=status)
            == 1
        )
    timed = "studybuddy_http_request_duration_seconds_count"
    assert after.value(timed, **route) - before.value(timed, **route) == 2


def test_no_label_holds_an_id_a_path_or_what_a_user_typed(alice, alice_client, client, metrics_on):
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory()).lecture
    unknown = uuid.uuid4()
    typed = "typedbyalice"
    alice_client.get(f"/api/lectures/{lecture.id}/status", {"q": typed})
    alice_client.get(f"/api/lectures/{unknown}/status?next=https://example.org/{typed}")
    alice_client.get(f"/api/no-such-route/{unknown}", {"q": typed})
    alice_client.get("/api/search", {"q": typed})
    alice_client.generic(typed.upper(), "/api/courses")
    client.get(f"/no-such-page/{typed}/{unknown}")

    text = client.get("/metrics", HTTP_AUTHORIZATION=BEARER).content.decode()

    for leaked in (str(lecture.id), str(unknown), typed, typed.upper(), str(alice.pk)):
        assert leaked not in text
    for leaked in (alice.username, "example.org", "https:", "q="):
        assert leaked not in text
    labels = [dict(labels) for _name, labels in parse(text)]
    assert {"route": "<unmatched>", "method": "GET", "status": "404"} in labels
    assert {"route": "/api/courses", "method": "other", "status": "405"} in labels


def test_counts_of_several_processes_are_summed(client, metrics_on, monkeypatch, tmp_path):
    root = tmp_path / "metrics"
    metrics_on.METRICS_DIR = root
    record = (
        "import django; django.setup(); from core import metrics\n"
        "for _ in range({jobs}): metrics.job_finished('audio', 'completed', 2.0)\n"
        "metrics.lecture_source_bytes.inc({size})\n"
    )
    for role, jobs, size in (("web", 3, 1000), ("worker", 4, 234)):
        directory = root / role
        directory.mkdir(parents=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
            "PROMETHEUS_MULTIPROC_DIR": str(directory),
        }
        code = record.format(jobs=jobs, size=size)
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True)
    # This process reads them as a web process does (deploy/web.py sets the variable).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(root / "web"))

    samples = scrape(client)

    audio = {"kind": "audio", "outcome": "completed"}
    assert samples.value("studybuddy_jobs_total", **audio) == 7
    assert samples.value("studybuddy_job_duration_seconds_count", **audio) == 7
    assert samples.value("studybuddy_job_duration_seconds_sum", **audio) == 14.0
    assert samples.value("studybuddy_lecture_source_bytes_total") == 1234

    # A launcher starting again empties its own directory only.
    prepare_metrics_dir("worker")
    samples = scrape(client)
    assert samples.value("studybuddy_jobs_total", **audio) == 3
    assert samples.value("studybuddy_lecture_source_bytes_total") == 1000


def test_queued_jobs_and_the_oldest_age_come_from_the_rows(client, metrics_on):
    waiting = LectureFactory(status="queued")
    LectureFactory(status="queued")
    LectureFactory(status="completed")
    Lecture.objects.filter(pk=waiting.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    samples = scrape(client)

    assert samples.value("studybuddy_jobs_queued", kind="audio") == 2
    assert samples.value("studybuddy_jobs_queued", kind="transcript") == 0
    assert 3600 <= samples.value("studybuddy_jobs_oldest_queued_age_seconds", kind="audio") < 3700
    assert samples.value("studybuddy_jobs_oldest_queued_age_seconds", kind="transcript") == 0
    kinds = {dict(labels)["kind"] for name, labels in samples if name == "studybuddy_jobs_queued"}
    assert {"audio", "transcript", "text", "embeddings"} <= kinds


@pytest.mark.usefixtures("transcription_settings")
def test_a_transcript_counts_its_provider_requests_audio_seconds_and_job(
    client, metrics_on, provider_stub, speech
):
    provider_stub.faults = [Fault(500)]  # the first chunk's first try: retried
    lecture = lecture_with_audio(speech)
    queued_transcript(lecture)
    before = scrape(client)

    transcript_process(lecture_id=lecture.id)

    assert Transcript.objects.get(lecture=lecture).status == "completed"
    after = scrape(client)

    def added(name: str, **labels: str) -> float:
        return after.value(name, **labels) - before.value(name, **labels)

    chunks = len(provider_stub.received)  # the answered requests
    assert added("studybuddy_provider_requests_total", provider="transcription", status="500") == 1
    assert (
        added("studybuddy_provider_requests_total", provider="transcription", status="200")
        == chunks
    )
    timed = "studybuddy_provider_request_duration_seconds_count"
    assert added(timed, provider="transcription") == chunks + 1
    # Every second of the recording, and the chunks' overlaps once more.
    assert added("studybuddy_provider_audio_seconds_total", provider="transcription") >= 130
    assert added("studybuddy_jobs_total", kind="transcript", outcome="completed") == 1
    assert (
        added("studybuddy_job_duration_seconds_count", kind="transcript", outcome="completed") == 1
    )


def test_embeddings_count_their_requests_and_the_tokens_sent(
    client,
    metrics_on,
    embedding_stub,  # noqa: F811
):
    metrics_on.EMBEDDINGS_BACKEND = "openai"
    metrics_on.EMBEDDINGS_BASE_URL = embedding_stub.base_url
    metrics_on.EMBEDDINGS_MODEL = "lexicon-test"
    metrics_on.EMBEDDINGS_DIMENSIONS = 256
    metrics_on.EMBEDDINGS_API_KEY = API_KEY
    before = scrape(client)

    with EmbeddingsClient(embeddings_settings()) as embeddings:
        embeddings.embed(["finite automata accept", "languages"])

    after = scrape(client)
    requests = {"provider": "embeddings", "status": "200"}
    assert (
        after.value("studybuddy_provider_requests_total", **requests)
        - before.value("studybuddy_provider_requests_total", **requests)
        == 1
    )
    tokens = "studybuddy_provider_tokens_total"
    # The stub's usage: one token per word.
    assert (
        after.value(tokens, provider="embeddings") - before.value(tokens, provider="embeddings")
        == 4
    )


def metric_families(client) -> set[str]:
    """Every metric the scrape declares (its ``# TYPE`` lines), recorded yet or not."""
    text = client.get("/metrics", HTTP_AUTHORIZATION=BEARER).content.decode()
    return {line.split()[2] for line in text.splitlines() if line.startswith("# TYPE ")}


def test_every_metric_is_documented_with_its_labels(client, metrics_on):
    documented = (ROOT / "docs" / "operations.md").read_text()

    families = metric_families(client)

    assert {"studybuddy_jobs_total", "studybuddy_lecture_source_bytes_total"} <= families
    for family in families:
        assert f"| `{family}` |" in documented, family
    for label in ("route", "method", "status", "kind", "outcome", "provider"):
        assert f"| `{label}` |" in documented, label


def test_the_dashboard_and_the_scrape_example_name_only_metrics_that_exist(client, metrics_on):
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    queries = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    families = metric_families(client)

    named = {n for q in queries for n in re.findall(r"studybuddy_\w+", q)}

    assert named
    for name in named:
        family = re.sub(r"_(bucket|count|sum)$", "", name)
        assert family in families, name
    assert "authorization" in (ROOT / "deploy" / "prometheus.yml").read_text()
