"""End to end with ``LOG_FORMAT=json``: the Procfile's web process (``deploy/web.py``) and a
real qcluster worker take a lecture from a signed S3 URL to its transcript, with Clerk
session tokens, a webhook and a transcription provider key in play. Both logs are JSON
lines that say which request or job each belongs to, and none holds a credential."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from botocore.config import Config

from courses.models import Enrollment
from tests.accounts.clerk_events import OTHER_SECRET, SECRET, event, svix_headers, user_data
from tests.auth import ISSUER, session_claims, sign
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.transcripts.provider_stub import API_KEY, Fault
from tests.web_process import web_process

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transcription_settings")]

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=5d6e7f80-91a2-4b3c-8d4e-5f60718293a4"
)
FIELDS = {"time", "level", "logger", "message", "request_id", "job", "route", "status"}
# What writes to the web process' output besides the service: the launcher's notice when
# nginx is missing, and nginx's own error lines, in nginx's format.
NOT_THE_SERVICE = re.compile(r"web: nginx not found; .*|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[\w+\] .*")


def signed_url(s3_server, audio: Path) -> str:
    """A presigned S3 GET URL (moto's server) of a copy of ``audio``."""
    s3 = s3_server.client(config=Config(signature_version="s3v4"))
    bucket = f"lectures-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="recording.m4a", Body=audio.read_bytes())
    return s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "recording.m4a"}, ExpiresIn=3600
    )


def signed(body: bytes, secret: str) -> dict[str, str]:
    """The headers of a webhook delivery of ``body`` signed with ``secret``."""
    meta = svix_headers(body, secret=secret)
    return {
        "Content-Type": "application/json",
        **{name.removeprefix("HTTP_").replace("_", "-"): value for name, value in meta.items()},
    }


def json_lines(log: Path) -> list[dict]:
    """The service's lines of a log, each checked to be one JSON object with the fields."""
    lines = []
    for raw in log.read_text().splitlines():
        if NOT_THE_SERVICE.fullmatch(raw):
            continue
        line = json.loads(raw)
        assert line.keys() >= FIELDS, raw
        lines.append(line)
    return lines


def test_both_logs_are_json_lines_with_request_ids_and_jobs_and_no_credential(
    start_worker, alice, clerk_key, other_key, provider_stub, speech, s3_server, settings, tmp_path
):
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    stream_url = signed_url(s3_server, speech)
    token = sign(session_claims("user_alice"), clerk_key)
    refused_token = sign(session_claims("user_alice"), other_key)
    secrets = {
        "session token": token,
        "refused session token": refused_token,
        "webhook secret": SECRET,
        "webhook signing key": SECRET.removeprefix("whsec_"),
        "another webhook secret": OTHER_SECRET,
        "provider key": API_KEY,
        "signed url": stream_url,
        "url signature": parse_qs(urlsplit(stream_url).query)["X-Amz-Signature"][0],
    }
    env = {
        "LOG_FORMAT": "json",
        "CLERK_JWT_KEY": clerk_key.public_pem,
        "CLERK_ISSUER": ISSUER,
        "CLERK_WEBHOOK_SECRET": SECRET,
        "PANOPTO_ALLOWED_HOSTS": "127.0.0.1",
        "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true",
        "TRANSCRIPTION_BACKEND": "openai",
        "TRANSCRIPTION_BASE_URL": provider_stub.base_url,
        "TRANSCRIPTION_API_KEY": API_KEY,
        "TRANSCRIPTION_CHUNK_SECONDS": "60",
    }
    # The first chunk's answer is a 500 quoting the key: a retry, and a line about it.
    provider_stub.faults = [
        Fault(500, body=f'{{"error": {{"message": "failed for key {API_KEY}"}}}}'.encode())
    ]
    worker = start_worker(**env)
    web_log = tmp_path / "web.log"
    web = web_process(
        web_log,
        # Where nginx is not installed, gunicorn serves alone.
        WEB_BEHIND_BUFFERING_PROXY="true",
        WEB_CONCURRENCY="1",
        MEDIA_ROOT=str(settings.MEDIA_ROOT),
        **env,
    )
    with web as url, httpx.Client(base_url=url, timeout=30) as client:
        bearer = {"Authorization": f"Bearer {token}"}
        courses = client.get("/api/courses", headers={**bearer, "X-Request-ID": "e2e-courses"})
        download = client.post(
            "/api/lectures/download",
            json={"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": stream_url},
            headers={**bearer, "X-Request-ID": "e2e-download"},
        )
        in_query = client.get(
            "/api/courses", params={"token": token, "X-Amz-Signature": secrets["url signature"]}
        )
        refused = client.get("/api/me", headers={"Authorization": f"Bearer {refused_token}"})
        by_cookie = client.get("/api/me", headers={"Cookie": f"__session={token}"})
        body = json.dumps(event("user.updated", user_data("user_alice"))).encode()
        webhook = client.post("/api/webhooks/clerk", content=body, headers=signed(body, SECRET))
        forged = client.post(
            "/api/webhooks/clerk", content=body, headers=signed(body, OTHER_SECRET)
        )
        lecture_id = download.json()["id"]
        final = wait_for(
            lambda: (
                (s := client.get(f"/api/lectures/{lecture_id}/status", headers=bearer).json())[
                    "transcript_status"
                ]
                in ("completed", "failed")
                and s
            ),
            timeout=180,
            what="the lecture's transcript",
        )
    worker.stop()

    assert [r.status_code for r in (courses, download, in_query, refused, by_cookie)] == [
        200,
        202,
        401,
        401,
        200,
    ]
    assert webhook.status_code < 300 and forged.status_code >= 400
    assert (final["status"], final["transcript_status"]) == ("completed", "completed")
    assert provider_stub.received[0].authorization == f"Bearer {API_KEY}"

    web_lines = json_lines(web_log)
    worker_lines = json_lines(tmp_path / "worker.log")
    access = {
        line["request_id"]: (line["route"], line["status"])
        for line in web_lines
        if line["logger"] == "studybuddy.requests"
    }
    assert access["e2e-courses"] == ("/api/courses", 200)
    assert access["e2e-download"] == ("/api/lectures/download", 202)
    assert courses.headers["X-Request-ID"] == "e2e-courses"
    assert access[in_query.headers["X-Request-ID"]] == ("/api/courses", 401)
    assert {line["job"] for line in worker_lines} >= {
        f"lecture:{lecture_id}",
        f"transcript:{lecture_id}",
    }
    [retry] = [line for line in worker_lines if "retry 1" in line["message"]]
    assert (retry["level"], retry["job"]) == ("WARNING", f"transcript:{lecture_id}")
    assert any(line["logger"] == "gunicorn.error" for line in web_lines)

    logged = web_log.read_text() + (tmp_path / "worker.log").read_text()
    assert [name for name, secret in secrets.items() if secret in logged] == []
