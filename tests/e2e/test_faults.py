"""Faults and races, end to end: dropped connections, killed workers, full disks, a
database that drops every connection, and a crowd of identical requests."""

from __future__ import annotations

import io
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_q.models import Task

from courses.models import Enrollment
from lectures.jobs import lecture_process
from lectures.models import Lecture, LectureLink
from tests.concurrency import run_concurrently
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureFactory
from tests.lectures.media import audio_packet_payloads
from tests.lectures.media_server import always, drop_first, throttled

pytestmark = pytest.mark.e2e

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=5d2b7f7e-0c1e-4f55-9a0b-3c3f1d2e4a5b"
)


@pytest.fixture(autouse=True)
def _storage_is_consistent_afterwards(transactional_db):
    """After each scenario, `purge_orphans --dry-run` finds nothing to purge or report."""
    yield
    out = io.StringIO()
    call_command("purge_orphans", "--dry-run", "--min-age", "0", stdout=out)
    assert out.getvalue().splitlines()[-1] == (
        "0 orphan file(s) (would delete 0), 0 too new to judge, 0 row(s) with a missing file"
    ), out.getvalue()


def request_download(client, user, stream_url: str, course=None) -> str:
    course = course or CourseFactory()
    Enrollment.objects.get_or_create(user=user, course=course)
    response = client.post(
        "/api/lectures/download",
        {"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": stream_url},
        format="json",
    )
    assert response.status_code == 202, response.content
    return response.json()["id"]


def finished(lecture_id: str) -> Lecture | None:
    lecture = Lecture.objects.get(pk=lecture_id)
    return lecture if lecture.status in ("completed", "failed") else None


def test_a_connection_dropped_mid_body_is_resumed_by_the_worker(
    start_worker, alice_client, alice, media, media_server
):
    url, route = media_server.route(drop_first(media.h264_aac))
    start_worker()

    lecture_id = request_download(alice_client, alice, url)
    lecture = wait_for(lambda: finished(lecture_id), timeout=120, what="the lecture")

    assert lecture.status == "completed", lecture.error_message
    assert route.requests >= 2
    assert any(h and h.startswith("bytes=") for h in route.range_headers)
    audio = Path(lecture_audio_path(lecture))
    assert audio_packet_payloads(audio) == audio_packet_payloads(media.h264_aac)


def lecture_audio_path(lecture: Lecture) -> str:
    return default_storage.path(lecture.audio_storage_key)


def test_a_killed_worker_is_reaped_to_failed_and_completes_with_retry(
    start_worker, alice_client, alice, media, media_server, settings
):
    url, _route = media_server.route(throttled(media.h264_aac, seconds=8))
    worker = start_worker()
    lecture_id = request_download(alice_client, alice, url)
    wait_for(
        lambda: Lecture.objects.get(pk=lecture_id).status == "downloading",
        timeout=60,
        what="the download to start",
    )

    worker.kill()
    # Ten minutes pass without a heartbeat.
    Lecture.objects.filter(pk=lecture_id).update(
        heartbeat_at=timezone.now() - timedelta(minutes=10)
    )
    out = io.StringIO()
    call_command("reap_stale_downloads", "--older-than", "5", stdout=out)
    assert Lecture.objects.get(pk=lecture_id).status == "failed"

    url_now_fast = media_server.file_url("lecture.mp4")
    Lecture.objects.filter(pk=lecture_id).update(stream_url=url_now_fast)
    call_command("retry_failed_downloads", "--lecture", lecture_id, "--wait", stdout=io.StringIO())

    lecture = Lecture.objects.get(pk=lecture_id)
    assert lecture.status == "completed", lecture.error_message
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


def test_dropped_database_connections_mid_job_do_not_leave_a_lecture_stuck(
    start_worker, alice_client, alice, media, media_server
):
    url, _route = media_server.route(throttled(media.h264_aac, seconds=6))
    start_worker()
    lecture_id = request_download(alice_client, alice, url)
    wait_for(
        lambda: Lecture.objects.get(pk=lecture_id).progress > 0,
        timeout=60,
        what="download progress",
    )

    # What a database restart does to clients: every other connection is cut.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1

    lecture = wait_for(lambda: finished(lecture_id), timeout=120, what="the lecture")
    assert lecture.status == "completed", lecture.error_message
    assert lecture.claim_token is None


def test_thirty_two_concurrent_requests_give_one_lecture_one_job_one_download(
    start_worker, client_for, media, media_server
):
    url, route = media_server.route(throttled(media.h264_aac, seconds=1))
    course = CourseFactory()
    users = [UserFactory() for _ in range(4)]
    for user in users:
        Enrollment.objects.create(user=user, course=course)
    clients = [client_for(users[i % 4]) for i in range(32)]
    body = {"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": url}
    start_worker()

    responses = run_concurrently(
        32, lambda i: clients[i].post("/api/lectures/download", body, format="json")
    )

    assert sorted(r.status_code for r in responses) == [200] * 31 + [202]
    lecture = wait_for(lambda: finished(Lecture.objects.get().id), timeout=120, what="the lecture")
    assert lecture.status == "completed"
    assert LectureLink.objects.filter(lecture=lecture).count() == 4
    wait_for(lambda: Task.objects.count() >= 1, timeout=30, what="the task result")
    assert Task.objects.filter(func="lectures.tasks.process_lecture").count() == 1
    assert route.requests == 1


@pytest.fixture
def tiny_scratch_disk(lecture_settings, tmp_path, media):
    """DOWNLOAD_TEMP_DIR on a tmpfs without room for the recording's audio (about 64 kB; the
    recording itself is read while it downloads and never lands there)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    size_kib = 16
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")
    lecture_settings.DOWNLOAD_TEMP_DIR = str(mount_point)
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=True)


def test_a_full_disk_while_downloading_whole_fails_the_lecture_and_leaves_no_files(
    lecture_settings, tiny_scratch_disk, media, media_server
):
    # A server without ranges: the recording is downloaded whole into the scratch disk.
    url, _ = media_server.route(always(200, media.h264_aac.read_bytes(), "video/mp4"))
    lecture = LectureFactory(stream_url=url)

    outcome = lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert (outcome, lecture.status) == ("failed", "failed")
    assert lecture.error_message == "not enough disk space for the recording; retry later"
    assert lecture.audio_storage_key == ""
    assert list(tiny_scratch_disk.iterdir()) == []


def test_a_full_disk_while_extracting_fails_the_lecture_and_leaves_no_files(
    lecture_settings, tiny_scratch_disk, media_server
):
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    outcome = lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert (outcome, lecture.status) == ("failed", "failed")
    assert lecture.error_message == "not enough disk space to extract the audio"
    assert lecture.audio_storage_key == ""
    assert list(tiny_scratch_disk.iterdir()) == []
