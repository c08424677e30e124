"""Log lines: the context they carry (a request's id, a job's kind and object, in the job's
threads too), the two formats, and no credential in any of them."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest

from core.logging import carry_context, log_context
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.live_server import ROOT, current_database_url
from tests.transcripts.helpers import lecture_with_audio, queued_transcript
from tests.transcripts.provider_stub import API_KEY, Fault
from transcripts.jobs import transcript_process

logger = logging.getLogger("studybuddy.tests")

FIELDS = [
    "time",
    "level",
    "logger",
    "message",
    "request_id",
    "job",
    "route",
    "status",
    "duration_ms",
]


# --- JSON --------------------------------------------------------------------------------


def test_a_json_line_is_one_object_with_the_context(logs):
    with log_context(request_id="req-1", job="document:42", route="/api/documents/{pk}"):
        logger.warning("stored %d pages of %s", 3, "notes.pdf")

    [raw] = logs.raw_json().splitlines()
    line = json.loads(raw)
    assert list(line) == FIELDS
    assert {k: v for k, v in line.items() if k != "time"} == {
        "level": "WARNING",
        "logger": "studybuddy.tests",
        "message": "stored 3 pages of notes.pdf",
        "request_id": "req-1",
        "job": "document:42",
        "route": "/api/documents/{pk}",
        "status": None,
        "duration_ms": None,
    }
    assert line["time"].endswith("Z")
    assert datetime.fromisoformat(line["time"]).utcoffset().total_seconds() == 0


def test_outside_a_request_and_a_job_the_context_fields_are_null(logs):
    logger.info("idle")

    [line] = logs.lines()
    assert [line[k] for k in ("request_id", "job", "route", "status", "duration_ms")] == [None] * 5


def test_a_traceback_is_one_field_of_one_line(logs):
    try:
        raise ValueError("first line\nsecond line")
    except ValueError:
        logger.exception("the job crashed")

    [raw] = logs.raw_json().splitlines()
    line = json.loads(raw)
    assert line["message"] == "the job crashed"
    assert line["exception"].startswith("Traceback (most recent call last):\n")
    assert line["exception"].endswith("ValueError: first line\nsecond line")


def test_a_message_with_line_breaks_and_non_ascii_stays_one_json_line(logs):
    logger.info("Größe\nzweite Zeile\u2028dritte")

    [raw] = logs.raw_json().splitlines()
    assert raw.isascii()
    assert json.loads(raw)["message"] == "Größe\nzweite Zeile\u2028dritte"


# --- Text --------------------------------------------------------------------------------

TEXT_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<rest>.*)")


def text_lines(logs) -> list[str]:
    return [TEXT_LINE.fullmatch(line)["rest"] for line in logs.text().splitlines()]


def test_a_text_line_shows_the_request_id_and_the_job_only_when_set(logs):
    logger.info("no context")
    with log_context(request_id="req-7"):
        logger.info("in a request")
    with log_context(job="transcript:abc"):
        logger.warning("in a job")
    with log_context(request_id="req-8", job="document:9"):
        logger.info("both")

    assert text_lines(logs) == [
        "INFO studybuddy.tests no context",
        "INFO studybuddy.tests request_id=req-7 in a request",
        "WARNING studybuddy.tests job=transcript:abc in a job",
        "INFO studybuddy.tests request_id=req-8 job=document:9 both",
    ]


def test_a_client_id_that_could_pass_for_fields_is_quoted_in_a_text_line(logs):
    with log_context(request_id='x job=lecture:1 "'):
        logger.info("hello")

    assert text_lines(logs) == [r'INFO studybuddy.tests request_id="x job=lecture:1 \"" hello']


def test_a_text_line_keeps_the_traceback_below_it(logs):
    try:
        raise KeyError("missing")
    except KeyError:
        logger.exception("lookup failed")

    first, *rest = logs.text().splitlines()
    assert first.endswith("ERROR studybuddy.tests lookup failed")
    assert rest[0] == "Traceback (most recent call last):"
    assert rest[-1] == "KeyError: 'missing'"


# --- Redaction ---------------------------------------------------------------------------

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImNsZXJrIn0"
    ".eyJzdWIiOiJ1c2VyX2FsaWNlIiwiZXhwIjoxNzAwMDAwMDAwfQ"
    ".c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
)
WEBHOOK_SECRET = "whsec_c3R1ZHlidWRkeS10ZXN0LXdlYmhvb2sta2V5LTAwMDE="
SIGNATURE = "3f9d0c6e2b1a8f7e6d5c4b3a29180716f5e4d3c2b1a09f8e7d6c5b4a39281706"
SIGNED_URL = (
    "https://bucket.s3.amazonaws.com/audio/x.m4a?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAEXAMPLE%2F20260101%2Fus-east-1%2Fs3%2Faws4_request"
    f"&X-Amz-Date=20260101T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host"
    f"&X-Amz-Signature={SIGNATURE}"
)
CLOUDFRONT_SIGNATURE = "Qx~abcDEF123-ghiJKL456_mnoPQR789"


@pytest.mark.parametrize(
    ("message", "secret", "kept"),
    [
        (f"headers: {{'Authorization': 'Bearer {JWT}'}}", JWT, "{'Authorization': 'Bearer"),
        (f"cookie __session={JWT}; theme=dark", JWT, "theme=dark"),
        (f"a session token {JWT} alone", JWT, "a session token"),
        (f"provider answered: Incorrect API key provided: {API_KEY}", API_KEY, "provider answered"),
        ("key gsk_0123456789abcdefghijklmnop refused", "0123456789abcdef", "refused"),
        (f"secret is {WEBHOOK_SECRET}", WEBHOOK_SECRET.removeprefix("whsec_")[:20], "secret is"),
        (f"GET {SIGNED_URL} failed", SIGNATURE, "https://bucket.s3.amazonaws.com/audio/x.m4a?"),
        (
            f"https://d1.cloudfront.net/a.mp4?Expires=1&Signature={CLOUDFRONT_SIGNATURE}&K=1",
            CLOUDFRONT_SIGNATURE,
            "Expires=1&Signature=[redacted]&K=1",
        ),
        ("GET /api/courses?token=opaque-value", "opaque-value", "/api/courses?token=[redacted]"),
        (
            "AWS4-HMAC-SHA256 Credential=AKIA/x, SignedHeaders=host, Signature=abcdef0123456789",
            "abcdef0123456789",
            "SignedHeaders=host",
        ),
    ],
    ids=[
        "bearer header",
        "session cookie",
        "bare jwt",
        "provider key",
        "groq key",
        "webhook secret",
        "s3 signed url",
        "cloudfront signed url",
        "token query parameter",
        "sigv4 header",
    ],
)
def test_credentials_are_redacted_from_messages_and_tracebacks_in_both_formats(
    message, secret, kept, logs
):
    logger.warning("%s", message)
    try:
        raise RuntimeError(message)
    except RuntimeError:
        logger.exception("crashed")

    written = logs.raw_json() + logs.text()
    assert secret not in written
    assert "[redacted]" in logs.lines()[0]["message"]
    assert kept in logs.lines()[0]["message"]
    assert "[redacted]" in logs.lines()[1]["exception"]


def test_ordinary_text_is_left_alone(logs):
    message = (
        "lecture=7e1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b from=downloading to=failed seconds=0.05 "
        'error="HTTP 404 from host media.example.com" storage key=audio/x.m4a'
    )

    logger.info(message)

    assert logs.lines()[0]["message"] == message


# --- Jobs and their threads --------------------------------------------------------------


@pytest.mark.django_db
def test_every_line_of_a_document_text_job_carries_the_job(alice, logs):
    document = extracted(alice, pdfs.text_pdf("Eigenvalues", "of a matrix"))

    assert document.text.status == "completed"
    job_lines = [line for line in logs.lines() if line["logger"] == "studybuddy.documents"]
    assert [line["message"].split(" from=")[1].split()[:2] for line in job_lines] == [
        ["pending", "to=extracting"],
        ["extracting", "to=completed"],
    ]
    assert {line["job"] for line in logs.lines()} == {f"document:{document.id}"}
    assert f"job=document:{document.id} document={document.id} text from=pending" in logs.text()


@pytest.mark.django_db
@pytest.mark.usefixtures("transcription_settings")
def test_a_transcript_jobs_sending_threads_log_with_the_job(speech, provider_stub, settings, logs):
    settings.TRANSCRIPTION_CHUNK_SECONDS = 60
    provider_stub.faults = [Fault(500)]
    lecture = lecture_with_audio(speech)
    queued_transcript(lecture)

    assert transcript_process(lecture_id=lecture.id) == "completed"

    [retry] = [r for r in logs.records if "retry 1" in r.getMessage()]
    assert retry.threadName.startswith(f"transcript-{lecture.id}")
    assert retry.job == f"transcript:{lecture.id}"
    assert {r.job for r in logs.records} == {f"transcript:{lecture.id}"}
    assert API_KEY not in logs.raw_json()


def test_a_pool_thread_has_the_context_only_when_its_task_carries_it(logs):
    def log(what: str) -> str:
        logger.info(what)
        return threading.current_thread().name

    with log_context(job="lecture:1"), ThreadPoolExecutor(max_workers=1) as pool:
        bare = pool.submit(log, "bare").result()
        carried = pool.submit(carry_context(log), "carried").result()

    assert bare == carried != threading.current_thread().name
    assert [(line["message"], line["job"]) for line in logs.lines()] == [
        ("bare", None),
        ("carried", "lecture:1"),
    ]


# --- The settings ------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("log_format", ["json", "text", None])
def test_log_format_chooses_the_handlers_format(log_format):
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
        "DATABASE_URL": current_database_url(),
    }
    if log_format:
        env["LOG_FORMAT"] = log_format

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "import logging; logging.getLogger('studybuddy').warning('from the shell')",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    [line] = result.stderr.splitlines()
    if log_format == "json":
        assert json.loads(line)["message"] == "from the shell"
    else:
        assert line.endswith(" WARNING studybuddy from the shell")
