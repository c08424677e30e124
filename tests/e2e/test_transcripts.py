"""Transcripts end to end: the HTTP API and a real qcluster worker process, against the
provider stub on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from courses.models import Enrollment
from lectures.models import Lecture
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.lectures.media_server import ranged
from tests.transcripts.provider_stub import API_KEY, ProviderStub
from tests.transcripts.speech import seconds_in, write_speech
from transcripts.models import Transcript, TranscriptChunk

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("transcription_settings")]

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=7e1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b"
)


def provider_env(stub: ProviderStub, **overrides: str) -> dict[str, str]:
    return {
        "TRANSCRIPTION_BACKEND": "openai",
        "TRANSCRIPTION_BASE_URL": stub.base_url,
        "TRANSCRIPTION_API_KEY": API_KEY,
        "TRANSCRIPTION_TIMEOUT_SECONDS": "30",
        **overrides,
    }


def transcript_finished(client, lecture_id) -> dict | None:
    lecture = client.get(f"/api/lectures/{lecture_id}/status").json()
    if lecture["transcript_status"] in ("completed", "failed"):
        return lecture
    return None


def stored_lecture(user, audio: Path) -> Lecture:
    lecture = LectureFactory(status="completed", progress=100, completed_at=timezone.now())
    key = default_storage.save(f"audio/{lecture.id}.m4a", ContentFile(audio.read_bytes()))
    Lecture.objects.filter(pk=lecture.pk).update(
        audio_storage_key=key, audio_size_bytes=audio.stat().st_size
    )
    LectureLinkFactory(user=user, lecture=lecture)
    return lecture


def test_a_downloaded_lecture_is_transcribed_by_the_worker(
    start_worker, alice_client, alice, media_server, provider_stub, speech
):
    stream_url, _ = media_server.route(ranged(speech, content_type="audio/mp4"), suffix=".m4a")
    start_worker(**provider_env(provider_stub, TRANSCRIPTION_CHUNK_SECONDS="20"))
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    response = alice_client.post(
        "/api/lectures/download",
        {
            "course_id": str(course.id),
            "panopto_url": VIEWER,
            "stream_url": stream_url,
        },
        format="json",
    )
    assert response.status_code == 202
    lecture_id = response.json()["id"]

    final = wait_for(
        lambda: transcript_finished(alice_client, lecture_id),
        timeout=180,
        what="the transcript to finish",
    )

    assert final["status"] == "completed"
    assert final["transcript_status"] == "completed", final["transcript_error"]
    body = alice_client.get(f"/api/lectures/{lecture_id}/transcript").json()
    assert seconds_in([s["text"] for s in body["segments"]]) == list(range(130))
    vtt = alice_client.get(f"/api/lectures/{lecture_id}/transcript?format=vtt")
    assert vtt.content.decode().startswith("WEBVTT\n\n00:00:00.000 --> 00:00:03.000\ns0 s1 s2\n")


def test_a_60_minute_lecture_is_transcribed_with_every_cut_merged_exactly(
    start_worker, alice_client, alice, provider_stub, tmp_path
):
    # FLAC (quick to write); the job reads any audio FFmpeg reads. Default 600-second chunks.
    lecture = stored_lecture(alice, write_speech(tmp_path / "hour.flac", 3600, codec="flac"))
    start_worker(**provider_env(provider_stub))

    assert alice_client.post(f"/api/lectures/{lecture.id}/transcript").status_code == 202
    final = wait_for(
        lambda: transcript_finished(alice_client, lecture.id),
        timeout=300,
        what="the hour's transcript",
    )

    assert final["transcript_status"] == "completed", final["transcript_error"]
    assert provider_stub.requests == 6
    assert max(len(r.heard) for r in provider_stub.received) == 605
    segments = alice_client.get(f"/api/lectures/{lecture.id}/transcript").json()["segments"]
    assert seconds_in([s["text"] for s in segments]) == list(range(3600))
    assert [s["index"] for s in segments] == list(range(len(segments)))


def test_a_worker_killed_mid_transcription_resumes_from_the_chunks_already_done(
    start_worker, alice_client, alice, provider_stub, speech, settings
):
    lecture = stored_lecture(alice, speech)
    provider_stub.delay = 1.0
    timing = provider_env(
        provider_stub,
        TRANSCRIPTION_CHUNK_SECONDS="20",
        TRANSCRIPTION_CONCURRENCY="1",
        Q_TIMEOUT_SECONDS="20",
        Q_RETRY_SECONDS="25",
        LECTURE_DOWNLOAD_TIMEOUT_SECONDS="15",
        LECTURE_STALE_SECONDS="4",
    )
    first = start_worker(**timing)
    assert alice_client.post(f"/api/lectures/{lecture.id}/transcript").status_code == 202
    wait_for(
        lambda: TranscriptChunk.objects.filter(lecture=lecture).count() >= 2,
        timeout=60,
        what="two chunks to be answered",
    )

    first.kill()
    kept = TranscriptChunk.objects.filter(lecture=lecture).count()
    sent_before = provider_stub.requests
    start_worker(**timing)

    final = wait_for(
        lambda: transcript_finished(alice_client, lecture.id),
        timeout=150,
        what="the re-delivered transcript job to finish",
    )
    assert final["transcript_status"] == "completed", final["transcript_error"]
    assert Transcript.objects.get(lecture=lecture).attempt_count == 2
    assert provider_stub.requests - sent_before == 7 - kept
    segments = alice_client.get(f"/api/lectures/{lecture.id}/transcript").json()["segments"]
    assert seconds_in([s["text"] for s in segments]) == list(range(130))
    assert not list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir())
