"""The lecture job, run in-process against the loopback media server and real storage."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import av
import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.utils import timezone

from lectures.jobs import lecture_process
from lectures.models import Lecture
from tests.lectures.factories import LectureFactory
from tests.lectures.media import audio_codec_name, audio_packet_payloads, first_audio_pts_seconds
from tests.lectures.media_server import always, drop_first, fail_first, serve

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]

Status = Lecture.Status


def stored_audio(lecture: Lecture) -> Path:
    return Path(default_storage.path(lecture.audio_storage_key))


def duration(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return float(stream.duration * stream.time_base)


def scratch_leftovers(settings) -> list[Path]:
    return list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir())


def run(lecture: Lecture) -> Lecture:
    outcome = lecture_process(lecture_id=lecture.id)
    lecture.refresh_from_db()
    lecture.outcome = outcome
    return lecture


def test_an_aac_recording_is_copied_to_m4a_without_re_encoding(media, media_server, settings):
    lecture = run(LectureFactory(stream_url=media_server.file_url("lecture.mp4")))

    assert (lecture.outcome, lecture.status, lecture.progress) == ("completed", "completed", 100)
    assert lecture.audio_storage_key == f"audio/{lecture.id}.m4a"
    audio = stored_audio(lecture)
    assert audio_codec_name(audio) == "aac"
    assert audio_packet_payloads(audio) == audio_packet_payloads(media.h264_aac)
    assert lecture.duration_seconds == pytest.approx(duration(media.h264_aac), abs=0.5)
    assert lecture.audio_size_bytes == audio.stat().st_size
    assert lecture.completed_at is not None
    assert lecture.error_message == ""
    assert lecture.claim_token is None
    assert scratch_leftovers(settings) == []


@pytest.mark.parametrize("name", ["lecture-mp3.mp4", "lecture-opus.mp4"])
def test_other_codecs_are_transcoded_to_aac(media, media_server, name):
    lecture = run(LectureFactory(stream_url=media_server.file_url(name)))

    assert lecture.status == "completed"
    assert audio_codec_name(stored_audio(lecture)) == "aac"
    assert lecture.duration_seconds == pytest.approx(duration(media.root / name), abs=0.5)


def test_an_audio_only_m4a_source_completes(media, media_server):
    lecture = run(LectureFactory(stream_url=media_server.file_url("audio-only.m4a")))

    assert lecture.status == "completed"
    assert audio_packet_payloads(stored_audio(lecture)) == audio_packet_payloads(media.m4a)


@pytest.mark.parametrize(
    "playlist",
    [
        "hls/ts/index.m3u8",
        "hls/ts/master.m3u8?token=abc",
        "hls/panobf/index.m3u8",
        "hls/aes/index.m3u8",
    ],
    ids=["ts", "master-with-query", "panobf2", "aes-128"],
)
def test_hls_sources_complete_with_audio_starting_at_zero(media_server, playlist):
    lecture = run(LectureFactory(stream_url=media_server.file_url(playlist)))

    assert lecture.status == "completed", lecture.error_message
    audio = stored_audio(lecture)
    assert audio_codec_name(audio) == "aac"
    assert first_audio_pts_seconds(audio) == pytest.approx(0, abs=0.1)
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)


def test_a_recording_without_audio_fails_with_a_clear_message(media_server, settings):
    lecture = run(LectureFactory(stream_url=media_server.file_url("no-audio.mp4")))

    assert (lecture.outcome, lecture.status) == ("failed", "failed")
    assert lecture.error_message == "recording has no audio"
    assert lecture.audio_storage_key == ""
    assert not default_storage.exists(f"audio/{lecture.id}.m4a")
    assert scratch_leftovers(settings) == []


def test_an_html_page_fails_as_not_a_video(media_server):
    url, _ = media_server.route(always(200, b"<html>Sign in</html>", "text/html"))

    lecture = run(LectureFactory(stream_url=url))

    assert lecture.status == "failed"
    assert lecture.error_message == "source is not a video"


def test_a_404_fails_at_once_without_leaking_the_url(media_server):
    url, route = media_server.route(always(404))

    lecture = run(LectureFactory(stream_url=url + "?signature=s3cr3t"))

    assert lecture.status == "failed"
    assert route.requests == 1
    assert "404" in lecture.error_message
    assert "s3cr3t" not in lecture.error_message


def test_a_transient_500_is_retried_and_the_lecture_completes(media, media_server):
    url, route = media_server.route(fail_first(media.h264_aac, 500))

    lecture = run(LectureFactory(stream_url=url))

    assert lecture.status == "completed"
    assert route.requests == 2


def test_a_dropped_connection_is_resumed_to_identical_audio(media, media_server):
    url, route = media_server.route(drop_first(media.h264_aac))

    lecture = run(LectureFactory(stream_url=url))

    assert lecture.status == "completed"
    assert any(header and header.startswith("bytes=") for header in route.range_headers)
    assert audio_packet_payloads(stored_audio(lecture)) == audio_packet_payloads(media.h264_aac)


def test_a_source_over_the_size_limit_fails(media_server, settings):
    settings.LECTURE_MAX_BYTES = 1000

    lecture = run(LectureFactory(stream_url=media_server.file_url("lecture.mp4")))

    assert lecture.status == "failed"
    assert "larger" in lecture.error_message or "limit" in lecture.error_message
    assert scratch_leftovers(settings) == []


def test_a_host_no_longer_allowed_fails_before_any_request(media_server, settings):
    url, route = media_server.route(serve(Path("/dev/null")))
    settings.PANOPTO_ALLOWED_HOSTS = ["panopto.com"]

    lecture = run(LectureFactory(stream_url=url))

    assert lecture.status == "failed"
    assert "not an allowed Panopto host" in lecture.error_message
    assert route.requests == 0


def test_a_private_address_fails_when_private_networks_are_not_allowed(media_server, settings):
    url, route = media_server.route(serve(Path("/dev/null")))
    settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = False

    lecture = run(LectureFactory(stream_url=url))

    assert lecture.status == "failed"
    assert "private" in lecture.error_message
    assert route.requests == 0


# --- Idempotence and claims ------------------------------------------------------------


def test_a_second_delivery_of_the_same_job_does_nothing(media_server):
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    first = lecture_process(lecture_id=lecture.id)
    completed_at = Lecture.objects.get(pk=lecture.pk).completed_at
    second = lecture_process(lecture_id=lecture.id)

    assert (first, second) == ("completed", "skipped")
    assert Lecture.objects.get(pk=lecture.pk).completed_at == completed_at


def test_a_failed_lecture_is_left_alone_by_a_late_delivery(media_server):
    lecture = LectureFactory(
        status=Status.FAILED,
        error_message="earlier failure",
        stream_url=media_server.file_url("lecture.mp4"),
    )

    assert lecture_process(lecture_id=lecture.id) == "skipped"
    lecture.refresh_from_db()
    assert (lecture.status, lecture.error_message) == ("failed", "earlier failure")


def test_a_lecture_being_worked_on_is_not_taken_by_a_second_worker(media_server):
    lecture = LectureFactory(
        status=Status.DOWNLOADING,
        heartbeat_at=timezone.now(),
        attempt_count=1,
        stream_url=media_server.file_url("lecture.mp4"),
    )

    assert lecture_process(lecture_id=lecture.id) == "skipped"
    lecture.refresh_from_db()
    assert (lecture.status, lecture.attempt_count) == ("downloading", 1)


def test_a_lecture_whose_worker_died_is_taken_over_and_its_scratch_removed(media_server, settings):
    lecture = LectureFactory(
        status=Status.DOWNLOADING,
        attempt_count=1,
        progress=40,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.LECTURE_STALE_SECONDS + 1),
        stream_url=media_server.file_url("lecture.mp4"),
    )
    leftover = Path(settings.DOWNLOAD_TEMP_DIR) / f"studybuddy-lecture-{lecture.id}-dead"
    leftover.mkdir()
    (leftover / "source").write_bytes(b"half a download")

    lecture = run(lecture)

    assert (lecture.status, lecture.attempt_count) == ("completed", 2)
    assert scratch_leftovers(settings) == []


def test_a_recording_that_keeps_killing_its_worker_ends_failed(media_server, settings):
    lecture = LectureFactory(
        status=Status.EXTRACTING,
        attempt_count=settings.LECTURE_MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.LECTURE_STALE_SECONDS + 1),
        stream_url=media_server.file_url("lecture.mp4"),
    )

    lecture = run(lecture)

    assert (lecture.outcome, lecture.status) == ("failed", "failed")
    assert "stopped 3 times" in lecture.error_message


def test_a_deleted_lecture_is_skipped():
    lecture = LectureFactory()
    lecture_id = lecture.id
    lecture.delete()

    assert lecture_process(lecture_id=lecture_id) == "skipped"


# --- Storage failures ------------------------------------------------------------------


def test_a_storage_failure_fails_the_lecture_and_leaves_no_files(media_server, settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.lectures.storages.FullDiskStorage",
            "OPTIONS": {"location": str(tmp_path / "full")},
        },
    }

    lecture = run(LectureFactory(stream_url=media_server.file_url("lecture.mp4")))

    assert lecture.status == "failed"
    assert lecture.error_message == "could not store the audio; try again later"
    assert list((tmp_path / "full").rglob("*.m4a")) == []
    assert scratch_leftovers(settings) == []


def test_a_job_whose_lecture_was_taken_over_stops_and_stores_nothing(
    transactional_db, media, media_server
):
    lecture = LectureFactory()
    other_worker = uuid.uuid4()

    def taken_over_while_downloading(handler, route):
        # Another worker takes the lecture over while this one is still downloading.
        Lecture.objects.filter(pk=lecture.pk).update(claim_token=other_worker)
        connection.close()
        handler.send_file(media.h264_aac)

    url, _ = media_server.route(taken_over_while_downloading)
    Lecture.objects.filter(pk=lecture.pk).update(stream_url=url)

    outcome = lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert outcome == "abandoned"
    assert (lecture.status, lecture.claim_token) == ("downloading", other_worker)
    assert not default_storage.exists(f"audio/{lecture.id}.m4a")


def test_a_job_whose_lecture_was_deleted_meanwhile_stores_nothing(
    transactional_db, media, media_server
):
    lecture = LectureFactory()

    def deleted_while_downloading(handler, route):
        Lecture.objects.filter(pk=lecture.pk).delete()
        connection.close()
        handler.send_file(media.h264_aac)

    url, _ = media_server.route(deleted_while_downloading)
    Lecture.objects.filter(pk=lecture.pk).update(stream_url=url)

    assert lecture_process(lecture_id=lecture.id) == "abandoned"
    assert not default_storage.exists(f"audio/{lecture.id}.m4a")
