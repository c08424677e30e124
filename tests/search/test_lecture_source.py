"""Lecture hits: transcript segments of lectures linked to the caller.

The source reads ``lectures.TranscriptSegment`` (lecture, index, start, end, text and a
``search_vector`` written with the text). Until that model exists, ``type=lecture`` finds
nothing; these tests run the source against a stand-in model of the same shape, created in
the test's own transaction, so the query is proven before the model lands.
"""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchVectorField
from django.db import connection, models
from django.test.utils import isolate_apps

from core.fulltext import vector_of
from lectures.models import Lecture
from search import sources
from tests.documents import pdfs
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.text.helpers import extracted

pytestmark = pytest.mark.django_db


@pytest.fixture
def segments(monkeypatch):
    """A stand-in for ``lectures.TranscriptSegment``, table and all, that the search uses."""
    with isolate_apps("search"):

        class SegmentStandIn(models.Model):
            lecture = models.ForeignKey(Lecture, on_delete=models.CASCADE, related_name="+")
            index = models.PositiveIntegerField()
            start = models.FloatField()
            end = models.FloatField()
            text = models.TextField()
            search_vector = SearchVectorField(null=True)

            class Meta:
                app_label = "search"
                db_table = "search_test_segment_stand_in"

            def __str__(self) -> str:
                return self.text

    with connection.schema_editor() as editor:
        editor.create_model(SegmentStandIn)
    monkeypatch.setattr(sources, "transcript_segment_model", lambda: SegmentStandIn)

    def add(lecture, index: int, start: float, end: float, text: str):
        return SegmentStandIn.objects.create(
            lecture=lecture,
            index=index,
            start=start,
            end=end,
            text=text,
            search_vector=vector_of(text),
        )

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
    assert body["results"][0]["title"] == f"Panopto session {lecture.panopto_session_id}"
    assert search(alice_client, "gradient", course_id=str(course.id))["count"] == 2
    assert search(alice_client, "gradient", limit=1, offset=1)["results"][0]["type"] == ("document")


def test_an_unlinked_users_search_never_sees_the_lecture(bob, bob_client, alice, segments):
    course = EnrollmentFactory(user=bob).course
    lecture = LectureFactory(course=course)
    LectureLinkFactory(user=alice, lecture=lecture)
    segments(lecture, 0, 0.0, 1.0, "private words")

    for params in ({}, {"type": "lecture"}, {"course_id": str(course.id)}):
        assert search(bob_client, "private", **params)["count"] == 0
