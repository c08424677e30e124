"""``POST /api/lectures/upload``: a recording the client already has, through HTTP, then the
audio job on it; the staged file is gone whatever the job's outcome."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django_q.models import OrmQ

from core.storage import storage_walk
from lectures.jobs import lecture_process
from lectures.models import Lecture, LectureLink
from tests.documents.helpers import BOUNDARY, multipart
from tests.factories import CourseFactory, EnrollmentFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.lectures.media import audio_codec_name, audio_packet_payloads

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings", "upload_tmp")]

URL = "/api/lectures/upload"
SESSION = "0b9f5c2e-6a47-4f1e-9d3c-5e8a7b6c4d21"
VIEWER = f"https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={SESSION}"


@pytest.fixture
def upload_tmp(settings, tmp_path: Path) -> Path:
    """Where Django's temporary upload files go, to see that none is left."""
    path = tmp_path / "upload-tmp"
    path.mkdir()
    settings.FILE_UPLOAD_TEMP_DIR = str(path)
    return path


@pytest.fixture
def course(alice):
    return EnrollmentFactory(user=alice, course=CourseFactory(code="CSC 173")).course


def post_upload(client, capture, *, content: bytes, name: str = "lecture.mp4", **fields):
    files = [("file", name, content, "application/octet-stream")]
    with capture(execute=True):
        return client.generic(
            "POST",
            URL,
            multipart({k: str(v) for k, v in fields.items()}, files),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )


@pytest.fixture
def upload(alice_client, course, django_capture_on_commit_callbacks):
    """``upload(path_or_bytes, **fields)``: Alice uploads into her course."""

    def send(content, client=None, **fields):
        data = content.read_bytes() if isinstance(content, Path) else content
        name = fields.pop("name", content.name if isinstance(content, Path) else "lecture.mp4")
        fields.setdefault("course_id", course.id)
        return post_upload(
            client or alice_client,
            django_capture_on_commit_callbacks,
            content=data,
            name=name,
            **fields,
        )

    return send


@pytest.fixture
def run_job(django_capture_on_commit_callbacks):
    def run(lecture_id) -> Lecture:
        with django_capture_on_commit_callbacks(execute=True):
            outcome = lecture_process(lecture_id=lecture_id)
        lecture = Lecture.objects.get(pk=lecture_id)
        lecture.outcome = outcome
        return lecture

    return run


def staged_keys(settings) -> list[str]:
    return sorted(storage_walk(settings.LECTURE_UPLOAD_STORAGE_PREFIX))


def queued_jobs() -> list[str]:
    return [job.task["args"][0] for job in OrmQ.objects.all()]


def assert_nothing_stored(settings, upload_tmp: Path) -> None:
    assert Lecture.objects.count() == 0
    assert LectureLink.objects.count() == 0
    assert sorted(storage_walk("")) == []
    assert list(upload_tmp.iterdir()) == []
    assert queued_jobs() == []


# --- the request -------------------------------------------------------------------------


def test_an_upload_is_staged_and_queued_with_202(upload, media, alice, course, settings):
    response = upload(media.h264_aac, title="Turing machines")

    assert response.status_code == 202
    lecture = Lecture.objects.get()
    assert response.json() == {
        "id": str(lecture.id),
        "course_id": str(course.id),
        "title": "Turing machines",
        "panopto_url": "",
        "panopto_session_id": "",
        "status": "queued",
        "progress": 0,
        "duration_seconds": None,
        "audio_size_bytes": None,
        "error_message": "",
        "created_at": lecture.created_at.isoformat().replace("+00:00", "Z"),
        "updated_at": lecture.updated_at.isoformat().replace("+00:00", "Z"),
        "completed_at": None,
        "transcript_status": "none",
        "transcript_progress": 0,
        "transcript_error": "",
    }
    assert (lecture.source, lecture.stream_url) == ("upload", "")
    assert staged_keys(settings) == [lecture.upload_storage_key]
    assert default_storage.open(lecture.upload_storage_key).read() == media.h264_aac.read_bytes()
    assert LectureLink.objects.filter(user=alice, lecture=lecture).exists()
    assert queued_jobs() == [str(lecture.id)]


def test_without_a_title_the_file_name_is_the_title(upload, media):
    response = upload(media.m4a, name="Week 3 \u2013 recursion.m4a")

    assert response.status_code == 202
    assert response.json()["title"] == "Week 3 \u2013 recursion"


def test_uploads_without_a_panopto_link_are_separate_lectures(upload, media):
    first = upload(media.m4a)
    second = upload(media.m4a)

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["id"] != second.json()["id"]
    assert Lecture.objects.count() == 2


def test_a_course_the_caller_is_not_enrolled_in_is_400_and_nothing_is_stored(
    upload, media, settings, upload_tmp
):
    other = CourseFactory()

    response = upload(media.h264_aac, course_id=other.id)

    assert response.status_code == 400
    assert response.json()["errors"] == {"course_id": ["You are not enrolled in this course."]}
    assert_nothing_stored(settings, upload_tmp)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"course_id": "not-a-uuid"}, "course_id"),
        ({"panopto_url": "https://example.com/not-panopto"}, "panopto_url"),
        (
            {"panopto_url": "ftp://x.panopto.com/Panopto/Pages/Viewer.aspx?id=" + SESSION},
            "panopto_url",
        ),
        ({"title": "bad\x00title"}, "title"),
        ({"title": "x" * 256}, "title"),
    ],
    ids=["course-not-uuid", "not-a-session-link", "not-http", "control-char", "long-title"],
)
def test_bad_fields_are_400_and_nothing_is_stored(
    upload, media, settings, upload_tmp, fields, field
):
    response = upload(media.m4a, **fields)

    assert response.status_code == 400
    if field:
        assert field in response.json()["errors"]
    assert_nothing_stored(settings, upload_tmp)


def test_an_empty_file_is_400_and_nothing_is_stored(upload, settings, upload_tmp):
    response = upload(b"", name="empty.m4a")

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert_nothing_stored(settings, upload_tmp)


def test_a_request_without_a_file_is_400(
    alice_client, course, django_capture_on_commit_callbacks, settings, upload_tmp
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.generic(
            "POST",
            URL,
            multipart({"course_id": str(course.id)}),
            content_type=f"multipart/form-data; boundary={BOUNDARY}",
        )

    assert response.status_code == 400
    assert "file" in response.json()["errors"]
    assert_nothing_stored(settings, upload_tmp)


def test_two_files_are_400_and_nothing_is_stored(alice_client, course, media, settings, upload_tmp):
    data = media.m4a.read_bytes()
    body = multipart(
        {"course_id": str(course.id)},
        [("file", "a.m4a", data, "audio/mp4"), ("file", "b.m4a", data, "audio/mp4")],
    )

    response = alice_client.generic(
        "POST", URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 400
    assert_nothing_stored(settings, upload_tmp)


def test_a_json_body_is_415(alice_client, course, settings, upload_tmp):
    response = alice_client.post(URL, {"course_id": str(course.id)}, format="json")

    assert response.status_code == 415
    assert_nothing_stored(settings, upload_tmp)


def test_a_file_over_the_limit_is_413_while_streaming(upload, media, settings, upload_tmp):
    limit = settings.LECTURE_UPLOAD_MAX_BYTES = media.h264_aac.stat().st_size - 1

    response = upload(media.h264_aac)

    assert response.status_code == 413
    assert response.json() == {
        "detail": f"The file is larger than the limit of {limit} bytes.",
        "code": "too_large",
    }
    assert_nothing_stored(settings, upload_tmp)


def test_a_body_declared_far_over_the_limit_is_413_before_reading_it(
    alice_client, course, settings, upload_tmp
):
    settings.LECTURE_UPLOAD_MAX_BYTES = 1000
    body = multipart({"course_id": str(course.id)}, [("file", "a.mp4", b"x" * 200_000, "v/m")])

    response = alice_client.generic(
        "POST", URL, body, content_type=f"multipart/form-data; boundary={BOUNDARY}"
    )

    assert response.status_code == 413
    assert_nothing_stored(settings, upload_tmp)


def test_without_a_token_it_is_401_and_nothing_is_stored(
    api_client, course, media, django_capture_on_commit_callbacks, settings, upload_tmp
):
    response = post_upload(
        api_client,
        django_capture_on_commit_callbacks,
        content=media.m4a.read_bytes(),
        course_id=course.id,
    )

    assert response.status_code == 401
    assert Lecture.objects.count() == 0
    assert sorted(storage_walk("")) == []


# --- de-duplication by Panopto session -----------------------------------------------------


def test_a_duplicate_session_links_the_caller_and_discards_the_upload(
    upload, media, bob, bob_client, course, settings, upload_tmp
):
    EnrollmentFactory(user=bob, course=course)
    first = upload(media.h264_aac, panopto_url=VIEWER)
    lecture = Lecture.objects.get()
    staged = staged_keys(settings)

    second = upload(
        media.m4a, client=bob_client, panopto_url=VIEWER.upper().replace("HTTPS", "https")
    )

    assert (first.status_code, second.status_code) == (202, 200)
    assert second.json()["id"] == str(lecture.id)
    assert lecture.panopto_session_id == SESSION
    assert LectureLink.objects.filter(user=bob, lecture=lecture).exists()
    assert staged_keys(settings) == staged == [lecture.upload_storage_key]
    assert list(upload_tmp.iterdir()) == []
    assert queued_jobs() == [str(lecture.id)]


def test_an_upload_for_a_session_already_downloaded_is_200_and_stores_nothing(
    upload, media, alice, course, settings
):
    existing = LectureFactory(course=course, panopto_session_id=SESSION, status="completed")

    response = upload(media.m4a, panopto_url=VIEWER)

    assert response.status_code == 200
    assert response.json()["id"] == str(existing.id)
    assert LectureLink.objects.filter(user=alice, lecture=existing).exists()
    assert staged_keys(settings) == []
    assert queued_jobs() == []


def test_an_upload_for_a_failed_session_queues_it_again_from_the_upload(
    upload, media, alice, course, settings, run_job
):
    failed = LectureFactory(
        course=course, panopto_session_id=SESSION, status="failed", error_message="HTTP 403"
    )
    LectureLinkFactory(user=alice, lecture=failed)

    response = upload(media.m4a, panopto_url=VIEWER)

    assert response.status_code == 202
    failed.refresh_from_db()
    assert (failed.status, failed.source, failed.stream_url) == ("queued", "upload", "")
    assert queued_jobs() == [str(failed.id)]
    lecture = run_job(failed.id)
    assert lecture.status == "completed", lecture.error_message
    assert staged_keys(settings) == []


def test_a_download_request_for_a_failed_upload_goes_back_to_the_url(
    alice_client, course, media, media_server, upload, run_job, django_capture_on_commit_callbacks
):
    upload(b"not media at all " * 100, name="oops.mp4", panopto_url=VIEWER)
    lecture = run_job(Lecture.objects.get().id)
    assert lecture.status == "failed"

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(
            "/api/lectures/download",
            {
                "course_id": str(course.id),
                "panopto_url": VIEWER,
                "stream_url": media_server.file_url("lecture.mp4"),
            },
            format="json",
        )

    assert response.status_code == 202
    lecture = run_job(lecture.id)
    assert (lecture.status, lecture.source) == ("completed", "url")


# --- the job on the uploaded file -----------------------------------------------------------


@pytest.mark.parametrize(
    ("recording", "copied"),
    [("m4a", True), ("mp3", False), ("webm_opus", False), ("h264_aac", True)],
    ids=["audio-only-m4a", "mp3", "webm-opus", "video-mp4"],
)
def test_an_uploaded_recording_becomes_aac_audio_and_its_staged_file_goes(
    upload, media, settings, run_job, recording, copied
):
    source = getattr(media, recording)
    lecture_id = upload(source).json()["id"]

    lecture = run_job(lecture_id)

    assert (lecture.outcome, lecture.status, lecture.progress) == ("completed", "completed", 100)
    audio = Path(default_storage.path(lecture.audio_storage_key))
    assert audio_codec_name(audio) == "aac"
    if copied:
        assert audio_packet_payloads(audio) == audio_packet_payloads(source)
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)
    assert lecture.upload_storage_key == ""
    assert staged_keys(settings) == []
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("garbage", "source is not a video"),
        (b"%PDF-1.7\n" + b"0" * 4000, "source is not a video"),
        ("no_audio", "recording has no audio"),
    ],
    ids=["html-page", "pdf", "video-without-audio"],
)
def test_an_upload_that_is_not_usable_media_fails_like_a_download_and_its_staged_file_goes(
    upload, media, settings, run_job, content, message
):
    data = getattr(media, content) if isinstance(content, str) else content
    lecture_id = upload(data).json()["id"]

    lecture = run_job(lecture_id)

    assert (lecture.outcome, lecture.status) == ("failed", "failed")
    assert lecture.error_message == message
    assert lecture.audio_storage_key == ""
    assert lecture.upload_storage_key == ""
    assert sorted(storage_walk("")) == []
    assert list(Path(settings.DOWNLOAD_TEMP_DIR).iterdir()) == []


def test_an_upload_whose_job_crashes_still_loses_its_staged_file(
    upload, media, settings, run_job, monkeypatch
):
    lecture_id = upload(media.m4a).json()["id"]

    def crash(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr("lectures.jobs.extract_audio", crash)

    with pytest.raises(RuntimeError):
        run_job(lecture_id)

    lecture = Lecture.objects.get(pk=lecture_id)
    assert lecture.status == "failed"
    assert staged_keys(settings) == []


def test_an_upload_whose_attempts_are_used_up_loses_its_staged_file(
    upload, media, settings, run_job
):
    lecture_id = upload(media.m4a).json()["id"]
    Lecture.objects.filter(pk=lecture_id).update(attempt_count=settings.LECTURE_MAX_ATTEMPTS)

    lecture = run_job(lecture_id)

    assert lecture.status == "failed"
    assert staged_keys(settings) == []


def test_a_staged_file_that_is_gone_fails_the_job_with_a_clear_message(upload, media, run_job):
    lecture_id = upload(media.m4a).json()["id"]
    default_storage.delete(Lecture.objects.get(pk=lecture_id).upload_storage_key)

    lecture = run_job(lecture_id)

    assert lecture.status == "failed"
    assert lecture.error_message == "the uploaded recording is no longer kept; upload it again"


def test_a_failed_upload_cannot_be_retried_without_its_file(
    alice_client, upload, run_job, django_capture_on_commit_callbacks
):
    lecture_id = upload(b"not media " * 100).json()["id"]
    run_job(lecture_id)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/lectures/{lecture_id}/retry")

    assert response.status_code == 409
    assert response.json()["detail"] == "The uploaded recording is no longer kept: upload it again."


def test_deleting_a_queued_upload_deletes_its_staged_file(
    alice_client, upload, media, settings, django_capture_on_commit_callbacks
):
    lecture_id = upload(media.m4a).json()["id"]

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(f"/api/lectures/{lecture_id}")

    assert response.status_code == 204
    assert staged_keys(settings) == []


def test_purge_orphans_keeps_a_waiting_upload_and_removes_one_left_by_a_reaped_lecture(
    upload, media, settings
):
    from datetime import timedelta

    from core.orphans import storage_audit

    waiting = Lecture.objects.get(pk=upload(media.m4a).json()["id"])
    reaped = Lecture.objects.get(pk=upload(media.mp3).json()["id"])
    Lecture.objects.filter(pk=reaped.pk).update(status="failed")

    audit = storage_audit(min_age=timedelta(0))

    assert audit.orphans == [reaped.upload_storage_key]
    assert waiting.upload_storage_key not in audit.orphans
    assert audit.missing == []


def test_an_upload_past_the_active_download_cap_is_429_and_nothing_is_stored(
    upload, media, alice, course, settings, upload_tmp
):
    settings.USER_ACTIVE_DOWNLOADS = 1
    running = LectureFactory(course=course, created_by=alice, status=Lecture.Status.DOWNLOADING)

    response = upload(media.h264_aac)

    assert response.status_code == 429
    assert response.json()["code"] == "too_many_active_downloads"
    assert list(Lecture.objects.values_list("pk", flat=True)) == [running.pk]
    assert staged_keys(settings) == []
    assert list(upload_tmp.iterdir()) == []
    assert queued_jobs() == []


def test_an_upload_joining_an_existing_lecture_is_allowed_at_the_cap(
    upload, media, alice, bob, course, settings
):
    settings.USER_ACTIVE_DOWNLOADS = 1
    LectureFactory(course=course, created_by=alice, status=Lecture.Status.DOWNLOADING)
    theirs = LectureFactory(course=course, created_by=bob, panopto_session_id=SESSION)

    response = upload(media.h264_aac, panopto_url=VIEWER)

    assert response.status_code == 200
    assert response.json()["id"] == str(theirs.id)
    assert staged_keys(settings) == []
