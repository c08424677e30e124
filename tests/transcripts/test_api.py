"""``/api/lectures/{id}/transcript`` through HTTP, and the transcript fields of lectures."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.lectures.test_api import completed_lecture
from tests.transcripts.helpers import completed_transcript
from transcripts.models import Transcript, TranscriptSegment

pytestmark = pytest.mark.django_db

SEGMENTS = [(0.0, 2.5, "Hello & welcome."), (2.5, 3723.456, "Today: <automata>.")]


@pytest.fixture
def lecture(alice):
    return completed_lecture(alice)


def url(lecture, query: str = "") -> str:
    return f"/api/lectures/{lecture.id}/transcript{query}"


def nothing_stored(lecture) -> bool:
    return (
        not Transcript.objects.filter(lecture=lecture).exists()
        and not TranscriptSegment.objects.filter(lecture=lecture).exists()
    )


# --- GET -------------------------------------------------------------------------------


def test_a_completed_transcript_is_json_with_its_segments(alice_client, lecture):
    transcript = completed_transcript(lecture, SEGMENTS)

    response = alice_client.get(url(lecture))

    assert response.status_code == 200
    assert response.json() == {
        "lecture_id": str(lecture.id),
        "status": "completed",
        "source": "provider",
        "language": "english",
        "model": "whisper-1",
        "text": "Hello & welcome. Today: <automata>.",
        "segments": [
            {"index": 0, "start": 0.0, "end": 2.5, "text": "Hello & welcome."},
            {"index": 1, "start": 2.5, "end": 3723.456, "text": "Today: <automata>."},
        ],
        "updated_at": response.json()["updated_at"],
    }
    assert response.json()["updated_at"].startswith(str(transcript.updated_at.date()))


def test_the_transcript_as_webvtt(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    response = alice_client.get(url(lecture, "?format=vtt"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/vtt; charset=utf-8"
    assert response.content.decode() == (
        "WEBVTT\n"
        "\n00:00:00.000 --> 00:00:02.500\nHello &amp; welcome.\n"
        "\n00:00:02.500 --> 01:02:03.456\nToday: &lt;automata&gt;.\n"
    )


def test_the_transcript_as_srt(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    response = alice_client.get(url(lecture, "?format=srt"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-subrip; charset=utf-8"
    assert response.content.decode() == (
        "1\n00:00:00,000 --> 00:00:02,500\nHello & welcome.\n\n"
        "2\n00:00:02,500 --> 01:02:03,456\nToday: <automata>.\n\n"
    )


def test_the_transcript_as_plain_text(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    response = alice_client.get(url(lecture, "?format=txt"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "Hello & welcome.\nToday: <automata>.\n"


def test_an_unknown_format_is_400(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    response = alice_client.get(url(lecture, "?format=docx"))

    assert response.status_code == 400
    assert "format" in response.json()["errors"]


@pytest.mark.parametrize("status", [None, "queued", "transcribing", "failed"])
@pytest.mark.parametrize("query", ["", "?format=vtt"])
def test_a_transcript_not_completed_is_409_not_ready(alice_client, lecture, status, query):
    if status:
        Transcript.objects.create(lecture=lecture, status=status)

    response = alice_client.get(url(lecture, query))

    assert response.status_code == 409
    assert response.json()["code"] == "transcript_not_ready"


def test_another_users_transcript_is_404(bob_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    assert bob_client.get(url(lecture)).status_code == 404
    assert bob_client.get(url(lecture, "?format=srt")).status_code == 404


@pytest.mark.parametrize("query", ["", "?format=vtt", "?format=txt"])
def test_a_transcript_the_client_holds_is_304(alice_client, lecture, query):
    completed_transcript(lecture, SEGMENTS)
    first = alice_client.get(url(lecture, query))

    again = alice_client.get(url(lecture, query), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_replaced_captions_give_the_transcript_a_new_etag(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)
    first = alice_client.get(url(lecture))
    Transcript.objects.filter(lecture=lecture).update(status="failed")
    put(alice_client, lecture, SRT, "application/x-subrip")

    again = alice_client.get(url(lecture), HTTP_IF_NONE_MATCH=first["ETag"])

    assert again.status_code == 200
    assert again["ETag"] != first["ETag"]
    assert [s["text"] for s in again.json()["segments"]] == ["Welcome to lecture 3", "Second cue"]


def test_the_formats_of_one_transcript_have_their_own_etags(alice_client, lecture):
    completed_transcript(lecture, SEGMENTS)

    tags = {alice_client.get(url(lecture, q))["ETag"] for q in ("", "?format=vtt", "?format=srt")}

    assert len(tags) == 3


def test_another_users_transcript_is_404_whatever_the_etag(alice_client, bob_client, lecture):
    completed_transcript(lecture, SEGMENTS)
    etag = alice_client.get(url(lecture))["ETag"]

    for tag in (etag, "*"):
        assert bob_client.get(url(lecture), HTTP_IF_NONE_MATCH=tag).status_code == 404


# --- POST ------------------------------------------------------------------------------


@pytest.fixture
def backend_on(settings):
    settings.TRANSCRIPTION_BACKEND = "openai"
    settings.TRANSCRIPTION_BASE_URL = "http://127.0.0.1:9/v1"
    return settings


def test_post_queues_the_transcription_after_commit(
    alice_client, lecture, backend_on, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = alice_client.post(url(lecture))

    assert response.status_code == 202
    assert response.json() == {
        "lecture_id": str(lecture.id),
        "transcript_status": "queued",
        "transcript_progress": 0,
        "transcript_error": "",
    }
    assert Transcript.objects.get(lecture=lecture).status == "queued"
    assert len(callbacks) == 1


def test_post_retries_a_failed_transcript(alice_client, lecture, backend_on):
    Transcript.objects.create(lecture=lecture, status="failed", error_message="HTTP 500")

    response = alice_client.post(url(lecture))

    assert response.status_code == 202
    assert Transcript.objects.get(lecture=lecture).error_message == ""


@pytest.mark.parametrize("status", ["queued", "transcribing", "completed"])
def test_post_is_409_while_queued_running_or_done(alice_client, lecture, backend_on, status):
    Transcript.objects.create(lecture=lecture, status=status)

    response = alice_client.post(url(lecture))

    assert response.status_code == 409
    assert Transcript.objects.get(lecture=lecture).status == status


def test_post_is_409_while_the_audio_is_not_completed(alice_client, alice, backend_on):
    lecture = LectureLinkFactory(user=alice, lecture=LectureFactory(status="downloading")).lecture

    response = alice_client.post(url(lecture))

    assert response.status_code == 409
    assert nothing_stored(lecture)


def test_an_api_admin_may_redo_a_completed_transcript(client_for, lecture, backend_on):
    admin = UserFactory(is_staff=True)
    LectureLinkFactory(user=admin, lecture=lecture)
    completed_transcript(lecture, SEGMENTS)

    response = client_for(admin).post(url(lecture))

    assert response.status_code == 202
    assert Transcript.objects.get(lecture=lecture).status == "queued"


def test_post_is_409_transcription_disabled_without_a_backend(alice_client, lecture, settings):
    settings.TRANSCRIPTION_BACKEND = "none"

    response = alice_client.post(url(lecture))

    assert response.status_code == 409
    assert response.json()["code"] == "transcription_disabled"
    assert nothing_stored(lecture)


# --- PUT (captions) ------------------------------------------------------------------------

VTT = b"""WEBVTT - lecture 3

NOTE produced by Panopto

1
00:00:01.000 --> 00:00:04.500 align:start
<v Prof. Smith>Welcome to <b>lecture</b> 3 &amp; all.</v>

00:01:02.345 --> 00:01:04.000
Second cue,
on two lines <00:01:03.000><c.yellow>timed</c>
"""

SRT = b"""1
00:00:01,000 --> 00:00:04,500
<i>Welcome</i> to lecture 3 {\\an8}

2
00:01:02,345 --> 00:01:04,000
Second cue
"""


def put(client, lecture, body: bytes, content_type: str):
    return client.put(url(lecture), data=body, content_type=content_type)


def test_webvtt_captions_become_the_transcript(alice_client, lecture, settings):
    settings.TRANSCRIPTION_BACKEND = "none"

    response = put(alice_client, lecture, VTT, "text/vtt")

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["source"]) == ("completed", "captions")
    assert body["segments"] == [
        {"index": 0, "start": 1.0, "end": 4.5, "text": "Welcome to lecture 3 & all."},
        {"index": 1, "start": 62.345, "end": 64.0, "text": "Second cue, on two lines timed"},
    ]
    transcript = Transcript.objects.get(lecture=lecture)
    assert (transcript.status, transcript.source, transcript.segment_count) == (
        "completed",
        "captions",
        2,
    )
    assert alice_client.get(f"/api/lectures/{lecture.id}").json()["transcript_status"] == (
        "completed"
    )


def test_srt_captions_become_the_transcript(alice_client, lecture):
    response = put(alice_client, lecture, SRT, "application/x-subrip")

    assert response.status_code == 200
    assert [s["text"] for s in response.json()["segments"]] == [
        "Welcome to lecture 3",
        "Second cue",
    ]


@pytest.mark.parametrize(
    ("body", "content_type", "line"),
    [
        (b"WEBVT\n\n00:00:01.000 --> 00:00:02.000\nx\n", "text/vtt", 1),
        (b"WEBVTT\n\n00:00:01,000 --> 00:00:02,000\nx\n", "text/vtt", 3),
        (b"WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\nx\n\n00:00:03.000 -> 4\ny\n", "text/vtt", 7),
        (b"WEBVTT\n\n00:00:05.000 --> 00:00:02.000\nbackwards\n", "text/vtt", 3),
        (
            b"WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nx\n00:00:03.000 --> 00:00:04.000\n",
            "text/vtt",
            5,
        ),
        (b"1\n00:00:01.000 --> nope\nx\n", "application/x-subrip", 2),
        (b"one\n00:00:01,000 --> 00:00:02,000\nx\n", "application/x-subrip", 1),
        (b"1\n00:00:01,000 --> 00:00:02,000\nx\n\n2\n", "application/x-subrip", 6),
        (b"1\n00:00:01,000 --> 00:00:02,000\n\xff\xfe\n", "application/x-subrip", 3),
        (b"WEBVTT\n\nNOTE nothing else\n", "text/vtt", 1),
    ],
    ids=[
        "no header",
        "srt timing in vtt",
        "bad second timing",
        "ends before start",
        "missing blank line",
        "srt bad timing",
        "srt no number",
        "srt no timing",
        "not utf-8",
        "no cues",
    ],
)
def test_malformed_captions_are_400_naming_the_line_and_nothing_is_stored(
    alice_client, lecture, body, content_type, line
):
    response = put(alice_client, lecture, body, content_type)

    assert response.status_code == 400
    assert f"line {line}:" in response.json()["detail"]
    assert nothing_stored(lecture)


def test_empty_captions_are_400(alice_client, lecture):
    response = put(alice_client, lecture, b"", "text/vtt")

    assert response.status_code == 400
    assert nothing_stored(lecture)


def test_captions_over_5_mib_are_413_and_nothing_is_stored(alice_client, lecture):
    cue = b"00:00:01.000 --> 00:00:02.000\n" + b"x" * 1000 + b"\n\n"
    body = b"WEBVTT\n\n" + cue * (5 * 1024 + 10)

    response = put(alice_client, lecture, body, "text/vtt")

    assert response.status_code == 413
    assert nothing_stored(lecture)


def test_captions_of_another_type_are_415(alice_client, lecture):
    response = alice_client.put(url(lecture), {"captions": "x"}, format="json")

    assert response.status_code == 415
    assert nothing_stored(lecture)


def test_captions_replace_a_failed_transcript(alice_client, lecture):
    Transcript.objects.create(lecture=lecture, status="failed", error_message="HTTP 401")

    response = put(alice_client, lecture, SRT, "application/x-subrip")

    assert response.status_code == 200
    assert Transcript.objects.get(lecture=lecture).error_message == ""


@pytest.mark.parametrize("status", ["queued", "transcribing", "completed"])
def test_captions_are_409_over_a_transcript_queued_running_or_done(alice_client, lecture, status):
    Transcript.objects.create(lecture=lecture, status=status)

    response = put(alice_client, lecture, SRT, "application/x-subrip")

    assert response.status_code == 409
    assert Transcript.objects.get(lecture=lecture).status == status
    assert not TranscriptSegment.objects.filter(lecture=lecture).exists()


def test_an_api_admin_may_replace_any_transcript_with_captions(client_for, lecture):
    admin = UserFactory(is_staff=True)
    LectureLinkFactory(user=admin, lecture=lecture)
    Transcript.objects.create(lecture=lecture, status="transcribing", claim_token=None)

    response = put(client_for(admin), lecture, SRT, "application/x-subrip")

    assert response.status_code == 200
    assert Transcript.objects.get(lecture=lecture).source == "captions"


def test_captions_for_another_users_lecture_are_404(bob_client, lecture):
    response = put(bob_client, lecture, SRT, "application/x-subrip")

    assert response.status_code == 404
    assert nothing_stored(lecture)


# --- Lecture bodies ----------------------------------------------------------------------


def test_lecture_bodies_carry_the_transcript_state(alice_client, lecture):
    Transcript.objects.create(
        lecture=lecture, status="failed", progress=42, error_message="HTTP 401"
    )
    expected = {
        "transcript_status": "failed",
        "transcript_progress": 42,
        "transcript_error": "HTTP 401",
    }

    full = alice_client.get(f"/api/lectures/{lecture.id}").json()
    compact = alice_client.get(f"/api/lectures/{lecture.id}/status").json()
    listed = alice_client.get("/api/lectures").json()["results"][0]

    for body in (full, compact, listed):
        assert {key: body[key] for key in expected} == expected


def test_a_lecture_without_a_transcript_says_none(alice_client, lecture):
    compact = alice_client.get(f"/api/lectures/{lecture.id}/status").json()

    assert (compact["transcript_status"], compact["transcript_progress"]) == ("none", 0)
    assert compact["transcript_error"] == ""


def test_listing_lectures_costs_the_same_queries_with_transcripts(
    alice_client, alice, django_assert_max_num_queries
):
    for _ in range(5):
        completed_transcript(completed_lecture(alice), SEGMENTS)

    with django_assert_max_num_queries(4):
        response = alice_client.get("/api/lectures")

    assert response.json()["count"] == 5
