"""Captions a hostile client sends: the work a body costs is bounded before it starts, and
every time field has a bounded length (``PUT /api/lectures/{id}/transcript``)."""

from __future__ import annotations

import pytest

from tests.lectures.test_api import completed_lecture
from transcripts.models import Transcript, TranscriptSegment

pytestmark = pytest.mark.django_db

CUE = b"00:00:01.000 --> 00:00:02.000\n"


@pytest.fixture
def lecture(alice):
    return completed_lecture(alice)


def put(client, lecture, body: bytes, content_type: str = "text/vtt"):
    return client.put(
        f"/api/lectures/{lecture.id}/transcript", data=body, content_type=content_type
    )


def nothing_stored(lecture) -> bool:
    return (
        not Transcript.objects.filter(lecture=lecture).exists()
        and not TranscriptSegment.objects.filter(lecture=lecture).exists()
    )


def tiny_cues(count: int) -> bytes:
    return b"WEBVTT\n\n" + b"".join(
        b"%02d:%02d.%03d --> %02d:%02d.%03d\nw\n\n"
        % (i // 60000 % 60, i // 1000 % 60, i % 1000, i // 60000 % 60, i // 1000 % 60, i % 1000)
        for i in range(count)
    )


def test_a_cue_of_100_000_angle_brackets_is_kept_as_its_text(alice_client, lecture):
    response = put(alice_client, lecture, b"WEBVTT\n\n" + CUE + b"<" * 100_000 + b"\n")

    assert response.status_code == 200
    assert TranscriptSegment.objects.get(lecture=lecture).text == "<" * 100_000


def test_tags_inside_runs_of_brackets_and_braces_are_still_removed(alice_client, lecture):
    body = b"WEBVTT\n\n" + CUE + b"<<b>bold</b> {\\{\\an8}x {\\ y\n"

    response = put(alice_client, lecture, body)

    assert response.status_code == 200
    assert response.json()["segments"][0]["text"] == "<bold {\\x {\\ y"


def test_captions_over_the_cue_limit_are_400_naming_it_and_nothing_is_stored(
    alice_client, lecture, settings
):
    settings.CAPTIONS_MAX_CUES = 50

    response = put(alice_client, lecture, tiny_cues(51))

    assert response.status_code == 400
    assert "more than 50 cues" in response.json()["detail"]
    assert nothing_stored(lecture)


def test_captions_at_the_cue_limit_are_all_stored(alice_client, lecture, settings):
    settings.CAPTIONS_MAX_CUES = 20_000

    response = put(alice_client, lecture, tiny_cues(20_000))

    assert response.status_code == 200
    assert TranscriptSegment.objects.filter(lecture=lecture).count() == 20_000
    assert Transcript.objects.get(lecture=lecture).segment_count == 20_000


def test_five_mib_of_tiny_cues_is_400_by_the_default_limit(alice_client, lecture):
    body = tiny_cues(200_000)[: 5 * 1024 * 1024]

    response = put(alice_client, lecture, body)

    assert response.status_code == 400
    assert "more than 20000 cues" in response.json()["detail"]
    assert nothing_stored(lecture)


def test_a_completed_transcript_is_409_before_the_body_is_parsed(alice_client, lecture):
    Transcript.objects.create(lecture=lecture, status="completed")

    # Malformed as well: the answer says what the state is, not what the body is.
    response = put(alice_client, lecture, b"WEBVTT\n\n" + b"{\\" * 30_000)

    assert response.status_code == 409
    assert not TranscriptSegment.objects.filter(lecture=lecture).exists()


@pytest.mark.parametrize(
    ("timing", "content_type"),
    [
        (b"1" * 300 + b":00:01.000 --> " + b"1" * 300 + b":00:02.000", "text/vtt"),
        (b"1" * 400 + b":00:01.000 --> " + b"1" * 400 + b":00:02.000", "text/vtt"),
        (b"00:00:01.000 --> " + b"9" * 5000 + b":00:02.000", "text/vtt"),
        (b"1234567:00:01.000 --> 1234567:00:02.000", "text/vtt"),
        (b"00:001:01.000 --> 00:00:02.000", "text/vtt"),
        (b"00:00:01.0000 --> 00:00:02.000", "text/vtt"),
        (b"1" * 400 + b":00:01,000 --> " + b"1" * 400 + b":00:02,000", "application/x-subrip"),
        (b"1234567:00:01,000 --> 1234567:00:02,000", "application/x-subrip"),
        (b"00:00:01,0000 --> 00:00:02,000", "application/x-subrip"),
    ],
    ids=[
        "vtt 300-digit hours",
        "vtt 400-digit hours",
        "vtt 5000-digit hours",
        "vtt 7-digit hours",
        "vtt 3-digit minutes",
        "vtt 4-digit fraction",
        "srt 400-digit hours",
        "srt 7-digit hours",
        "srt 4-digit fraction",
    ],
)
def test_a_time_field_too_long_is_400_naming_the_line(alice_client, lecture, timing, content_type):
    head = b"WEBVTT\n\n" if content_type == "text/vtt" else b"1\n"
    line = 3 if content_type == "text/vtt" else 2

    response = put(alice_client, lecture, head + timing + b"\nwords\n", content_type)

    assert response.status_code == 400
    assert f"line {line}:" in response.json()["detail"]
    assert nothing_stored(lecture)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"WEBVTT\n\n999999:59:59.999 --> 999999:59:59.999\nlate\n", "text/vtt"),
        (b"1\n999999:59:59,999 --> 999999:59:59,999\nlate\n", "application/x-subrip"),
    ],
    ids=["vtt", "srt"],
)
def test_six_digit_hours_are_taken(alice_client, lecture, body, content_type):
    response = put(alice_client, lecture, body, content_type)

    assert response.status_code == 200
    assert response.json()["segments"][0]["start"] == 999999 * 3600 + 59 * 60 + 59.999
