"""The /api/lectures routes, through HTTP."""

from __future__ import annotations

import hashlib
import json
import uuid

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from django_q.models import OrmQ

from courses.models import Course
from lectures.models import Lecture, LectureLink
from tests.concurrency import run_concurrently
from tests.factories import CourseFactory, EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("lecture_settings")]

SESSION = "6f1c2a1e-3b4d-4c5e-8f90-a1b2c3d4e5f6"
VIEWER = f"https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx?id={SESSION}"
STREAM = "http://127.0.0.1:9/sessions/lecture.mp4?signature=secret"


@pytest.fixture
def course(alice):
    return EnrollmentFactory(user=alice, course=CourseFactory(code="CSC 173")).course


def request_body(course, **overrides) -> dict:
    return {
        "course_id": str(course.id),
        "panopto_url": VIEWER,
        "stream_url": STREAM,
        "title": "Turing machines",
        **overrides,
    }


def post_download(client, body, capture):
    with capture(execute=True):
        return client.post("/api/lectures/download", body, format="json")


def queued_jobs() -> list[str]:
    return [job.task["args"][0] for job in OrmQ.objects.all()]


def completed_lecture(user, *, audio: bytes = b"\x00\x00\x00\x18ftypM4A " + b"a" * 5000):
    lecture = LectureFactory(
        status="completed",
        progress=100,
        completed_at=timezone.now(),
        audio_size_bytes=len(audio),
        duration_seconds=4.0,
    )
    lecture.audio_storage_key = default_storage.save(f"audio/{lecture.id}.m4a", ContentFile(audio))
    lecture.save()
    LectureLinkFactory(user=user, lecture=lecture)
    return lecture


# --- POST /api/lectures/download -------------------------------------------------------


def test_a_new_download_is_queued_and_answers_202(
    alice_client, alice, course, django_capture_on_commit_callbacks
):
    response = post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    lecture = Lecture.objects.get()
    body = response.json()
    assert body == {
        "id": str(lecture.id),
        "course_id": str(course.id),
        "title": "Turing machines",
        "panopto_url": VIEWER,
        "panopto_session_id": SESSION,
        "status": "queued",
        "progress": 0,
        "duration_seconds": None,
        "audio_size_bytes": None,
        "error_message": "",
        "created_at": body["created_at"],
        "updated_at": body["updated_at"],
        "completed_at": None,
        "transcript_status": "none",
        "transcript_progress": 0,
        "transcript_error": "",
    }
    assert "stream_url" not in body and "secret" not in response.content.decode()
    assert lecture.stream_url == STREAM
    assert LectureLink.objects.filter(user=alice, lecture=lecture).exists()
    assert queued_jobs() == [str(lecture.id)]


def test_the_same_session_in_another_spelling_is_the_same_lecture(
    alice_client, bob_client, bob, course, django_capture_on_commit_callbacks
):
    EnrollmentFactory(user=bob, course=course)
    first = post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)
    upper = (
        f"https://rochester.hosted.panopto.com/Panopto/Pages/Embed.aspx"
        f"?id={SESSION.upper()}&autoplay=false"
    )

    second = post_download(
        bob_client, request_body(course, panopto_url=upper), django_capture_on_commit_callbacks
    )

    assert second.status_code == 200
    assert second.json()["id"] == first.json()["id"]
    assert Lecture.objects.count() == 1
    assert LectureLink.objects.count() == 2
    assert len(queued_jobs()) == 1


def test_the_same_session_in_another_course_is_another_lecture(
    alice_client, alice, course, django_capture_on_commit_callbacks
):
    other = EnrollmentFactory(user=alice, course=CourseFactory(code="MTH 101")).course

    post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)
    response = post_download(alice_client, request_body(other), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert Lecture.objects.count() == 2


def test_requesting_a_failed_lecture_queues_it_again_with_the_new_stream_url(
    alice_client, bob, course, django_capture_on_commit_callbacks
):
    lecture = LectureFactory(
        course=course,
        panopto_session_id=SESSION,
        status="failed",
        error_message="HTTP 404",
        attempt_count=2,
        progress=30,
    )
    LectureLinkFactory(user=bob, lecture=lecture)
    new_stream = "http://127.0.0.1:9/fresh.mp4"

    response = post_download(
        alice_client,
        request_body(course, stream_url=new_stream),
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 202
    lecture.refresh_from_db()
    assert (lecture.status, lecture.error_message, lecture.progress, lecture.attempt_count) == (
        "queued",
        "",
        0,
        0,
    )
    assert lecture.stream_url == new_stream
    assert queued_jobs() == [str(lecture.id)]


@pytest.mark.parametrize("status", ["queued", "downloading", "completed"])
def test_requesting_a_lecture_in_progress_or_done_queues_nothing(
    alice_client, course, status, django_capture_on_commit_callbacks
):
    LectureFactory(course=course, panopto_session_id=SESSION, status=status)

    response = post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)

    assert response.status_code == 200
    assert response.json()["status"] == status
    assert queued_jobs() == []


def test_thirty_two_concurrent_requests_from_four_users_make_one_lecture_and_one_job(
    transactional_db, client_for
):
    course = CourseFactory()
    users = [UserFactory() for _ in range(4)]
    for user in users:
        EnrollmentFactory(user=user, course=course)
    clients = [client_for(users[i % 4]) for i in range(32)]

    responses = run_concurrently(
        32, lambda i: clients[i].post("/api/lectures/download", request_body(course), format="json")
    )

    statuses = sorted(getattr(r, "status_code", r) for r in responses)
    assert statuses == [200] * 31 + [202]
    assert Lecture.objects.count() == 1
    assert LectureLink.objects.count() == 4
    assert queued_jobs() == [str(Lecture.objects.get().id)]


BAD_INPUTS = [
    ({"course_id": None}, "course_id", "required"),
    ({"course_id": "not-a-uuid"}, "course_id", None),
    ({"course_id": str(uuid.uuid4())}, "course_id", "enrolled"),
    ({"panopto_url": None}, "panopto_url", "required"),
    (
        {"panopto_url": "https://x.panopto.com/Panopto/Pages/Viewer.aspx?tid=" + SESSION},
        "panopto_url",
        None,
    ),
    (
        {
            "panopto_url": "https://x.panopto.com/Panopto/Pages/Sessions/List.aspx#folderID="
            + SESSION
        },
        "panopto_url",
        None,
    ),
    (
        {"panopto_url": "https://x.panopto.com/Panopto/Pages/Viewer.aspx?pid=" + SESSION},
        "panopto_url",
        None,
    ),
    ({"panopto_url": "https://d2y36twrtb17ty.cloudfront.net/abc/master.m3u8"}, "panopto_url", None),
    (
        {"panopto_url": f"ftp://x.panopto.com/Panopto/Pages/Viewer.aspx?id={SESSION}"},
        "panopto_url",
        None,
    ),
    (
        {"panopto_url": "https://x.panopto.com/Panopto/Pages/Viewer.aspx?id=not-a-guid"},
        "panopto_url",
        None,
    ),
    ({"stream_url": None}, "stream_url", "required"),
    ({"stream_url": "file:///etc/passwd"}, "stream_url", "http or https"),
    ({"stream_url": "ftp://127.0.0.1/lecture.mp4"}, "stream_url", "http or https"),
    ({"stream_url": "http://user:pw@127.0.0.1/lecture.mp4"}, "stream_url", "credentials"),
    ({"stream_url": "https://example.com/lecture.mp4"}, "stream_url", "not an allowed"),
    ({"stream_url": "not a url"}, "stream_url", None),
    ({"title": "bad\u202etitle"}, "title", "Control characters"),
    ({"title": "t" * 256}, "title", None),
]


@pytest.mark.parametrize(("overrides", "field", "words"), BAD_INPUTS)
def test_a_refused_download_request_is_400_and_creates_nothing(
    alice_client, course, overrides, field, words, django_capture_on_commit_callbacks
):
    body = {k: v for k, v in request_body(course, **overrides).items() if v is not None}

    response = post_download(alice_client, body, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    data = response.json()
    assert field in data["errors"]
    if words:
        assert words in " ".join(data["errors"][field])
    assert not Lecture.objects.exists()
    assert not LectureLink.objects.exists()
    assert queued_jobs() == []


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "[::1]",
        "2130706433",
        "0177.0.0.1",
        "[::ffff:127.0.0.1]",
        "0.0.0.0",
        "192.168.1.1",
        "172.16.0.1",
    ],
)
def test_a_stream_url_on_a_private_address_is_400(
    alice_client, course, settings, host, django_capture_on_commit_callbacks
):
    settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = False
    settings.PANOPTO_ALLOWED_HOSTS = [host.strip("[]"), "panopto.com"]

    response = post_download(
        alice_client,
        request_body(course, stream_url=f"http://{host}/lecture.mp4"),
        django_capture_on_commit_callbacks,
    )

    assert response.status_code == 400
    assert "stream_url" in response.json()["errors"]
    assert not Lecture.objects.exists()
    assert queued_jobs() == []


def test_a_course_the_caller_left_is_refused(
    alice_client, alice, course, django_capture_on_commit_callbacks
):
    alice_client.delete(f"/api/courses/{course.id}/enrollment")

    response = post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert response.json()["course_id"] == ["You are not enrolled in this course."]


# --- Reading ---------------------------------------------------------------------------


def test_the_list_shows_only_linked_lectures_with_filters(alice_client, alice, bob):
    mine = LectureLinkFactory(user=alice, lecture=LectureFactory(status="completed")).lecture
    failed = LectureLinkFactory(user=alice, lecture=LectureFactory(status="failed")).lecture
    LectureLinkFactory(user=bob, lecture=LectureFactory())

    everything = alice_client.get("/api/lectures").json()
    by_status = alice_client.get("/api/lectures?status=failed").json()
    by_course = alice_client.get(f"/api/lectures/?course_id={mine.course_id}").json()

    assert everything["count"] == 2
    assert {item["id"] for item in everything["results"]} == {str(mine.id), str(failed.id)}
    assert [item["id"] for item in by_status["results"]] == [str(failed.id)]
    assert [item["id"] for item in by_course["results"]] == [str(mine.id)]
    assert "stream_url" not in everything["results"][0]


@pytest.mark.parametrize("query", ["status=done", "course_id=nope"])
def test_a_bad_list_filter_is_400(alice_client, query):
    response = alice_client.get(f"/api/lectures?{query}")

    assert response.status_code == 400


def test_the_list_uses_a_constant_number_of_queries(
    alice_client, alice, django_assert_max_num_queries
):
    for _ in range(25):
        LectureLinkFactory(user=alice)

    with django_assert_max_num_queries(4):
        response = alice_client.get("/api/lectures?limit=25")

    assert len(response.json()["results"]) == 25


def test_retrieve_and_status_answer_a_linked_user(alice_client, alice):
    lecture = LectureLinkFactory(
        user=alice, lecture=LectureFactory(status="downloading", progress=42)
    ).lecture

    full = alice_client.get(f"/api/lectures/{lecture.id}")
    compact = alice_client.get(f"/api/lectures/{lecture.id}/status")

    assert full.status_code == 200
    assert full.json()["progress"] == 42
    assert compact.json() == {
        "id": str(lecture.id),
        "status": "downloading",
        "progress": 42,
        "error_message": "",
        "updated_at": full.json()["updated_at"],
        "transcript_status": "none",
        "transcript_progress": 0,
        "transcript_error": "",
    }


def test_the_status_route_renders_its_body_as_every_route_does(alice_client, alice):
    """Compact JSON in UTF-8, and ``indent`` when the client asks for it (DRF's renderer)."""
    lecture = LectureLinkFactory(
        user=alice, lecture=LectureFactory(status="failed", error_message="Datei ungültig")
    ).lecture
    url = f"/api/lectures/{lecture.id}/status"

    compact = alice_client.get(url)
    indented = alice_client.get(url, HTTP_ACCEPT="application/json; indent=4")

    assert compact["Content-Type"] == "application/json"
    expected = json.dumps(compact.json(), separators=(",", ":"), ensure_ascii=False)
    assert compact.content == expected.encode()
    assert "ungültig".encode() in compact.content
    assert indented.content.startswith(b'{\n    "id": ')
    assert indented.json() == compact.json()


def with_transcript(lecture: Lecture, **fields) -> None:
    """Gives ``lecture`` a transcript with ``fields``, or sets them on the one it has."""
    from transcripts.models import Transcript

    Transcript.objects.update_or_create(lecture=lecture, defaults=fields)


def test_the_status_carries_the_transcript_s_fields(alice_client, alice):
    lecture = LectureLinkFactory(
        user=alice, lecture=LectureFactory(status="completed", progress=100)
    ).lecture
    with_transcript(lecture, status="failed", progress=40, error_message="HTTP 500")

    response = alice_client.get(f"/api/lectures/{lecture.id}/status")

    assert response.status_code == 200
    assert response.json() == {
        "id": str(lecture.id),
        "status": "completed",
        "progress": 100,
        "error_message": "",
        "updated_at": response.json()["updated_at"],
        "transcript_status": "failed",
        "transcript_progress": 40,
        "transcript_error": "HTTP 500",
    }


# --- Conditional reads: ETag and If-None-Match ------------------------------------------

READS = pytest.mark.parametrize("suffix", ["/status", ""], ids=["status", "retrieve"])


def linked_lecture(user) -> Lecture:
    return LectureLinkFactory(
        user=user, lecture=LectureFactory(status="downloading", progress=42)
    ).lecture


@READS
def test_a_read_with_its_etag_answers_304_with_an_empty_body(alice_client, alice, suffix):
    url = f"/api/lectures/{linked_lecture(alice).id}{suffix}"
    first = alice_client.get(url)

    again = alice_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first.status_code == 200
    assert first["ETag"].startswith('"') and len(first["ETag"]) > 2  # a strong tag
    assert first["Cache-Control"] == "private, no-cache"  # kept, but revalidated on use
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


@READS
def test_the_etag_is_the_same_while_the_body_is(alice_client, alice, suffix):
    url = f"/api/lectures/{linked_lecture(alice).id}{suffix}"

    first, second = alice_client.get(url), alice_client.get(url)

    assert first.content == second.content
    assert first["ETag"] == second["ETag"]


def _progress(lecture: Lecture) -> None:
    lecture.status, lecture.progress = "extracting", 80
    lecture.save()


def _transcript_started(lecture: Lecture) -> None:
    with_transcript(lecture, status="transcribing", progress=10)


@READS
@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        (_progress, "progress", 80),
        (_transcript_started, "transcript_status", "transcribing"),
    ],
    ids=["lecture progress", "transcript status"],
)
def test_after_a_change_the_old_etag_gets_200_with_the_new_body_and_a_new_etag(
    alice_client, alice, suffix, change, field, value
):
    lecture = linked_lecture(alice)
    url = f"/api/lectures/{lecture.id}{suffix}"
    old = alice_client.get(url)

    change(lecture)
    response = alice_client.get(url, HTTP_IF_NONE_MATCH=old["ETag"])

    assert response.status_code == 200
    assert response.json()[field] == value
    assert response.json() == alice_client.get(url).json()
    assert response["ETag"] != old["ETag"]
    assert alice_client.get(url, HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


@READS
def test_a_change_of_the_transcript_s_progress_alone_changes_the_etag(alice_client, alice, suffix):
    lecture = linked_lecture(alice)
    with_transcript(lecture, status="transcribing", progress=10)
    url = f"/api/lectures/{lecture.id}{suffix}"
    old = alice_client.get(url)

    with_transcript(lecture, status="transcribing", progress=60)
    response = alice_client.get(url, HTTP_IF_NONE_MATCH=old["ETag"])

    assert response.status_code == 200
    assert response.json()["transcript_progress"] == 60
    assert response["ETag"] != old["ETag"]


@READS
@pytest.mark.parametrize("tag", ["*", '"anything"', "bob's"])
def test_if_none_match_on_another_user_s_lecture_is_404_whatever_the_tag(
    alice_client, bob_client, bob, suffix, tag
):
    url = f"/api/lectures/{linked_lecture(bob).id}{suffix}"
    if tag == "bob's":
        tag = bob_client.get(url)["ETag"]

    response = alice_client.get(url, HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert "ETag" not in response


@READS
@pytest.mark.parametrize("tag", ['W/"other"', "garbage", '"unterminated', '""', "W/", ","])
def test_a_weak_tag_of_another_body_or_garbage_gets_200(alice_client, alice, suffix, tag):
    url = f"/api/lectures/{linked_lecture(alice).id}{suffix}"

    response = alice_client.get(url, HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 200
    assert response.json()["progress"] == 42
    assert response["ETag"] == alice_client.get(url)["ETag"]


@READS
@pytest.mark.parametrize(
    "header",
    ['"other", {etag}', '{etag}, W/"other"', "*", "W/{etag}"],
    ids=["in a list", "first of a list", "star", "weak form of the current tag"],
)
def test_a_list_naming_the_tag_star_or_its_weak_form_answer_304(
    alice_client, alice, suffix, header
):
    """If-None-Match compares weakly (RFC 9110 §13.1.2): ``W/"x"`` names ``"x"``."""
    url = f"/api/lectures/{linked_lecture(alice).id}{suffix}"
    etag = alice_client.get(url)["ETag"]

    response = alice_client.get(url, HTTP_IF_NONE_MATCH=header.format(etag=etag))

    assert response.status_code == 304
    assert response.content == b""


def test_head_of_the_status_with_its_etag_is_304(alice_client, alice):
    url = f"/api/lectures/{linked_lecture(alice).id}/status"
    etag = alice_client.get(url)["ETag"]

    assert alice_client.head(url)["ETag"] == etag
    assert alice_client.head(url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_each_representation_of_the_status_has_its_own_etag(alice_client, alice):
    url = f"/api/lectures/{linked_lecture(alice).id}/status"
    compact = alice_client.get(url)

    indented = alice_client.get(
        url, HTTP_ACCEPT="application/json; indent=4", HTTP_IF_NONE_MATCH=compact["ETag"]
    )

    assert indented.status_code == 200
    assert indented["ETag"] != compact["ETag"]


def test_the_list_carries_no_etag(alice_client, alice):
    linked_lecture(alice)

    assert "ETag" not in alice_client.get("/api/lectures")


@pytest.mark.parametrize(
    ("method", "suffix"),
    [("get", ""), ("get", "/status"), ("get", "/audio"), ("post", "/retry"), ("delete", "")],
)
def test_another_users_lecture_is_404_on_every_route(alice_client, bob, method, suffix):
    lecture = completed_lecture(bob)
    lecture.status = "failed"
    lecture.save()

    response = getattr(alice_client, method)(f"/api/lectures/{lecture.id}{suffix}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    lecture.refresh_from_db()
    assert lecture.status == "failed"
    assert default_storage.exists(lecture.audio_storage_key)


# An id no row has. Fixed, not random: every pytest-xdist worker must collect the same test ids.
NO_SUCH_ID = "7d3f0a52-5c1e-4b8a-9e2d-41c6b7a8f903"


@pytest.mark.parametrize("lecture_id", ["nope", "123", NO_SUCH_ID])
def test_an_unknown_or_malformed_lecture_id_is_404(alice_client, lecture_id):
    assert alice_client.get(f"/api/lectures/{lecture_id}").status_code == 404
    assert alice_client.get(f"/api/lectures/{lecture_id}/status").status_code == 404


# --- Audio -----------------------------------------------------------------------------


def test_the_audio_of_a_completed_lecture_is_streamed(alice_client, alice):
    audio = bytes(range(256)) * 40
    lecture = completed_lecture(alice, audio=audio)

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio")

    assert response.status_code == 200
    assert response["Content-Type"] == "audio/mp4"
    assert response["Accept-Ranges"] == "bytes"
    body = b"".join(response.streaming_content)
    assert hashlib.sha256(body).digest() == hashlib.sha256(audio).digest()


def test_the_audio_honours_a_range_request(alice_client, alice):
    audio = bytes(range(256)) * 40
    lecture = completed_lecture(alice, audio=audio)

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio", HTTP_RANGE="bytes=100-199")

    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-199/{len(audio)}"
    assert b"".join(response.streaming_content) == audio[100:200]


def test_the_audio_answers_304_to_its_etag(alice_client, alice):
    # Found by the API fuzzer: the audio route answered a 304 its schema did not document.
    lecture = completed_lecture(alice)
    etag = alice_client.get(f"/api/lectures/{lecture.id}/audio")["ETag"]

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio", HTTP_IF_NONE_MATCH=etag)

    assert response.status_code == 304
    assert response["ETag"] == etag


def test_head_of_the_audio_ignores_range(alice_client, alice):
    """RFC 9110 §14.2: Range is for GET only; HEAD answers 200 with the full length."""
    lecture = completed_lecture(alice, audio=b"x" * 100)

    response = alice_client.head(f"/api/lectures/{lecture.id}/audio", HTTP_RANGE="bytes=0-9")

    assert response.status_code == 200
    assert response["Content-Length"] == "100"
    assert "Content-Range" not in response
    assert response.content == b""


def test_several_audio_ranges_answer_the_whole_audio(alice_client, alice):
    """RFC 9110 §14.2, §15.5.17: several ranges, one satisfiable, are not 416 (here 200)."""
    audio = bytes(range(100))
    lecture = completed_lecture(alice, audio=audio)

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio", HTTP_RANGE="bytes=0-9,500-")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == audio


def test_an_unsatisfiable_audio_range_is_416(alice_client, alice):
    lecture = completed_lecture(alice, audio=b"x" * 100)

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio", HTTP_RANGE="bytes=500-")

    assert response.status_code == 416
    assert response["Content-Range"] == "bytes */100"


@pytest.mark.parametrize("status", ["queued", "downloading", "extracting", "failed"])
def test_the_audio_is_409_until_the_lecture_is_completed(alice_client, alice, status):
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory(status=status)).lecture

    response = alice_client.get(f"/api/lectures/{lecture.id}/audio")

    assert response.status_code == 409
    assert response.json()["code"] == "conflict"


# --- Retry -----------------------------------------------------------------------------


def test_retry_queues_a_failed_lecture(alice_client, alice, django_capture_on_commit_callbacks):
    lecture = LectureLinkFactory(
        user=alice,
        lecture=LectureFactory(status="failed", error_message="timed out", attempt_count=3),
    ).lecture

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/lectures/{lecture.id}/retry")

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response.json()["error_message"] == ""
    assert queued_jobs() == [str(lecture.id)]


@pytest.mark.parametrize("status", ["queued", "downloading", "extracting", "completed"])
def test_retry_of_a_lecture_that_has_not_failed_is_409(
    alice_client, alice, status, django_capture_on_commit_callbacks
):
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory(status=status)).lecture

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(f"/api/lectures/{lecture.id}/retry")

    assert response.status_code == 409
    assert Lecture.objects.get(pk=lecture.pk).status == status
    assert queued_jobs() == []


# --- Delete ----------------------------------------------------------------------------


def test_unlinking_by_one_of_two_users_keeps_the_lecture(alice_client, alice, bob):
    lecture = completed_lecture(alice)
    LectureLinkFactory(user=bob, lecture=lecture)

    response = alice_client.delete(f"/api/lectures/{lecture.id}")

    assert response.status_code == 204
    assert Lecture.objects.filter(pk=lecture.pk).exists()
    assert list(LectureLink.objects.values_list("user", flat=True)) == [bob.id]
    assert default_storage.exists(lecture.audio_storage_key)


def test_the_last_unlink_deletes_the_lecture_and_its_audio(
    alice_client, alice, django_capture_on_commit_callbacks
):
    lecture = completed_lecture(alice)

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(f"/api/lectures/{lecture.id}")

    assert response.status_code == 204
    assert not Lecture.objects.filter(pk=lecture.pk).exists()
    assert not default_storage.exists(lecture.audio_storage_key)


@pytest.mark.parametrize("how", ["staff", "admin_user_ids"])
def test_an_admin_hard_deletes_a_lecture_whatever_its_links(
    client_for, alice, bob, settings, how, django_capture_on_commit_callbacks
):
    lecture = completed_lecture(alice)
    LectureLinkFactory(user=bob, lecture=lecture)
    admin = UserFactory(is_staff=how == "staff")
    if how == "admin_user_ids":
        settings.ADMIN_USER_IDS = [admin.clerk_id]

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(admin).delete(f"/api/lectures/{lecture.id}")

    assert response.status_code == 204
    assert not Lecture.objects.exists()
    assert not LectureLink.objects.exists()
    assert not default_storage.exists(lecture.audio_storage_key)


def test_deleting_a_course_deletes_its_lectures_and_their_audio(
    alice, django_capture_on_commit_callbacks
):
    lecture = completed_lecture(alice)

    with django_capture_on_commit_callbacks(execute=True):
        Course.objects.filter(pk=lecture.course_id).delete()

    assert not Lecture.objects.exists()
    assert not default_storage.exists(lecture.audio_storage_key)


# --- /api/dev/lectures -----------------------------------------------------------------


def test_dev_lectures_is_404_when_dev_routes_are_off(client_for, settings):
    settings.DEV_ROUTES_ENABLED = False

    response = client_for(UserFactory(is_staff=True)).get("/api/dev/lectures")

    assert response.status_code == 404


def test_dev_lectures_is_404_for_a_non_admin(alice_client, settings):
    settings.DEV_ROUTES_ENABLED = True

    assert alice_client.get("/api/dev/lectures").status_code == 404


def test_dev_lectures_lists_every_lecture_for_an_admin(client_for, alice, bob, settings):
    settings.DEV_ROUTES_ENABLED = True
    LectureLinkFactory(user=alice)
    LectureLinkFactory(user=bob)

    response = client_for(UserFactory(is_staff=True)).get("/api/dev/lectures")

    assert response.status_code == 200
    assert response.json()["count"] == 2


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/lectures/download"),
        ("get", "/api/lectures"),
        ("get", f"/api/lectures/{NO_SUCH_ID}"),
        ("get", f"/api/lectures/{NO_SUCH_ID}/status"),
        ("get", f"/api/lectures/{NO_SUCH_ID}/audio"),
        ("post", f"/api/lectures/{NO_SUCH_ID}/retry"),
        ("delete", f"/api/lectures/{NO_SUCH_ID}"),
        ("get", "/api/dev/lectures"),
    ],
)
def test_every_lecture_route_needs_a_token(api_client, method, path):
    response = getattr(api_client, method)(path)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"


def test_an_admin_reads_only_lectures_they_are_linked_to(client_for, alice):
    lecture = LectureLinkFactory(user=alice).lecture

    response = client_for(UserFactory(is_staff=True)).get(f"/api/lectures/{lecture.id}")

    assert response.status_code == 404


def test_a_broker_that_refuses_the_job_leaves_the_lecture_queued_not_a_500(
    alice_client, course, monkeypatch, django_capture_on_commit_callbacks
):
    from django_q.conf import Conf

    # The Redis broker, pointed at a port where nothing listens.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", "redis://127.0.0.1:1/0")

    response = post_download(alice_client, request_body(course), django_capture_on_commit_callbacks)

    assert response.status_code == 202
    assert Lecture.objects.get().status == "queued"
    assert queued_jobs() == []


def test_deleting_a_user_deletes_lectures_left_without_links(
    alice, bob, django_capture_on_commit_callbacks
):
    only_alice = completed_lecture(alice)
    shared = completed_lecture(alice)
    LectureLinkFactory(user=bob, lecture=shared)

    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()

    assert not Lecture.objects.filter(pk=only_alice.pk).exists()
    assert not default_storage.exists(only_alice.audio_storage_key)
    assert Lecture.objects.filter(pk=shared.pk).exists()
