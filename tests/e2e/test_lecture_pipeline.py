"""End to end: the HTTP API queues a download, a real qcluster worker process runs it."""

from __future__ import annotations

import io
from pathlib import Path

import av
import pytest

from courses.models import Enrollment
from lectures.models import Lecture
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.lectures.media import audio_packet_payloads
from tests.lectures.media_server import throttled

pytestmark = pytest.mark.e2e

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
)


def request_download(client, user, stream_url: str) -> dict:
    course = CourseFactory()
    Enrollment.objects.create(user=user, course=course)
    response = client.post(
        "/api/lectures/download",
        {"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": stream_url},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def status_of(client, lecture_id: str) -> dict:
    response = client.get(f"/api/lectures/{lecture_id}/status")
    assert response.status_code == 200
    return response.json()


def audio_duration(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


def test_a_requested_lecture_is_downloaded_by_the_worker_and_its_audio_served(
    start_worker, alice_client, alice, media, media_server, tmp_path
):
    start_worker()
    lecture = request_download(alice_client, alice, media_server.file_url("lecture.mp4"))

    final = wait_for(
        lambda: (
            (s := status_of(alice_client, lecture["id"]))["status"] in ("completed", "failed") and s
        ),
        timeout=120,
        what="the lecture to finish",
    )

    assert final["status"] == "completed", final["error_message"]
    assert final["progress"] == 100
    response = alice_client.get(f"/api/lectures/{lecture['id']}/audio")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mp4"
    audio = b"".join(response.streaming_content)
    (tmp_path / "served.m4a").write_bytes(audio)
    with av.open(str(media.h264_aac)) as source:
        stream = source.streams.audio[0]
        source_duration = float(stream.duration * stream.time_base)
    assert audio_duration(audio) == pytest.approx(source_duration, abs=0.5)
    # AAC in, AAC out: the very same packets, no re-encode.
    assert audio_packet_payloads(tmp_path / "served.m4a") == audio_packet_payloads(media.h264_aac)


def test_a_worker_killed_mid_download_is_recovered_without_manual_action(
    start_worker, alice_client, alice, media, media_server, settings
):
    url, route = media_server.route(throttled(media.h264_aac, seconds=8))
    # The broker re-delivers an unacknowledged job after Q_RETRY_SECONDS; the heartbeat
    # goes stale after LECTURE_STALE_SECONDS, so the re-delivered job may take over.
    timing = {
        "Q_TIMEOUT_SECONDS": "20",
        "Q_RETRY_SECONDS": "25",
        "LECTURE_DOWNLOAD_TIMEOUT_SECONDS": "15",
        "LECTURE_STALE_SECONDS": "4",
    }
    first = start_worker(**timing)
    lecture = request_download(alice_client, alice, url)
    wait_for(
        lambda: (
            route.requests >= 1 and Lecture.objects.get(pk=lecture["id"]).status == "downloading"
        ),
        timeout=60,
        what="the download to start",
    )

    first.kill()
    scratch = Path(settings.DOWNLOAD_TEMP_DIR)
    assert list(scratch.iterdir()), "the killed worker left its scratch directory behind"
    start_worker(**timing)

    done = wait_for(
        lambda: (
            (row := Lecture.objects.get(pk=lecture["id"])).status in ("completed", "failed") and row
        ),
        timeout=150,
        what="the re-delivered job to finish",
    )
    assert done.status == "completed", done.error_message
    assert done.attempt_count == 2
    assert route.requests >= 2
    # The job removes its scratch directory right after it marks the lecture completed.
    wait_for(lambda: not list(scratch.iterdir()), timeout=10, what="the scratch to be removed")
