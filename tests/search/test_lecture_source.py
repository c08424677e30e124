"""Lecture hits: transcript segments of lectures linked to the caller.

The source reads ``lectures.TranscriptSegment`` (lecture, index, start, end, text and a
``search_vector`` written from the text, by ``TranscriptSegment.insert``).
"""

from __future__ import annotations

import pytest

from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.factories import EnrollmentFactory, UserFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from transcripts.models import TranscriptSegment

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments():
    """``segments(lecture, index, start, end, text)`` stores a transcript segment as the
    transcript job and the captions import do."""

    def add(lecture, index: int, start: float, end: float, text: str):
        segment = TranscriptSegment.of(
            lecture_id=lecture.pk, index=index, start=start, end=end, text=text
        )
        TranscriptSegment.insert([segment])
        return segment

    return add


def search(client, q: str, **params) -> dict:
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_linked_lectures_segment_is_found_with_its_seconds(alice, bob, alice_client, segments):
    course = EnrollmentFactory(user=alice).course
    mine = LectureFactory(course=course, title="Week 3")
    LectureLinkFactory(user=alice, lecture=mine)
    theirs = LectureFactory(course=course, title="Bob's")
    LectureLinkFactory(user=bob, lecture=theirs)
    segments(mine, 0, 12.5, 17.0, "Eigenvalues of a <b>matrix</b>")
    segments(theirs, 0, 1.0, 2.0, "Eigenvalues of a matrix")

    body = search(alice_client, "eigenvalue", type="lecture")

    assert body["count"] == 1
    assert body["results"][0] == {
        "type": "lecture",
        "id": str(mine.id),
        "course_id": str(course.id),
        "title": "Week 3",
        "start": 12.5,
        "end": 17.0,
        "page": None,
        "snippet": "<mark>Eigenvalues</mark> of a &lt;b&gt;matrix&lt;/b&gt;",
        "rank": body["results"][0]["rank"],
    }
    assert search(alice_client, "eigenvalue", type="document")["count"] == 0


def test_lecture_and_document_hits_share_one_ranked_list(alice, alice_client, segments):
    course = EnrollmentFactory(user=alice).course
    lecture = LectureFactory(course=course, title="")
    LectureLinkFactory(user=alice, lecture=lecture)
    segments(lecture, 0, 0.0, 4.0, "gradient gradient gradient descent")
    extracted(alice, pdfs.text_pdf("a gradient"), course=course, filename="notes.pdf")

    body = search(alice_client, "gradient")

    assert [hit["type"] for hit in body["results"]] == ["lecture", "document"]
    assert body["results"][0]["title"] == ""
    assert search(alice_client, "gradient", course_id=str(course.id))["count"] == 2
    assert search(alice_client, "gradient", limit=1, offset=1)["results"][0]["type"] == ("document")


def test_an_unlinked_users_search_never_sees_the_lecture(bob, bob_client, alice, segments):
    course = EnrollmentFactory(user=bob).course
    lecture = LectureFactory(course=course)
    LectureLinkFactory(user=alice, lecture=lecture)
    segments(lecture, 0, 0.0, 1.0, "private words")

    for params in ({}, {"type": "lecture"}, {"course_id": str(course.id)}):
        assert search(bob_client, "private", **params)["count"] == 0


def captions(*lines: str) -> bytes:
    cues = "".join(
        f"00:00:{i:02d}.000 --> 00:00:{i + 1:02d}.000\n{line}\n\n" for i, line in enumerate(lines)
    )
    return f"WEBVTT\n\n{cues}".encode()


def test_a_replaced_transcript_is_found_by_its_new_words_and_not_its_old_ones(client_for):
    admin = UserFactory(is_staff=True)  # an API admin may replace a completed transcript
    lecture = LectureFactory(course=EnrollmentFactory(user=admin).course, status="completed")
    LectureLinkFactory(user=admin, lecture=lecture)
    client = client_for(admin)
    transcript = f"/api/lectures/{lecture.id}/transcript"
    first = client.put(transcript, captions("Gaussian elimination"), content_type="text/vtt")
    assert first.status_code == 200
    assert search(client, "gaussian")["count"] == 1

    second = client.put(transcript, captions("Fourier transforms"), content_type="text/vtt")

    assert second.status_code == 200
    assert search(client, "gaussian")["count"] == 0
    assert [hit["snippet"] for hit in search(client, "fourier")["results"]] == [
        "<mark>Fourier</mark> transforms"
    ]
