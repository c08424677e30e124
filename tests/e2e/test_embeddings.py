"""Embeddings end to end: material added through the HTTP API, a real qcluster worker
process, the embeddings stub on 127.0.0.1."""

from __future__ import annotations

import pytest

from courses.models import Enrollment
from documents.models import Document
from lectures.models import Lecture
from search.models import Embedding, Passage
from tests.documents import pdfs
from tests.documents.helpers import upload
from tests.factories import CourseFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.search.embedding_helpers import SPACE, captions, put_captions
from tests.search.embedding_stub import API_KEY, DIMENSIONS, EmbeddingStub, lexicon_vector
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("embeddings_on")]


def stub_env(stub: EmbeddingStub) -> dict[str, str]:
    return {
        "EMBEDDINGS_BACKEND": "openai",
        "EMBEDDINGS_BASE_URL": stub.base_url,
        "EMBEDDINGS_API_KEY": API_KEY,
        "EMBEDDINGS_MODEL": "lexicon-test",
        "EMBEDDINGS_DIMENSIONS": str(DIMENSIONS),
    }


def embedded(source: dict) -> Embedding | None:
    row = Embedding.objects.filter(**source).first()
    return row if row and row.status in ("completed", "failed") else None


def test_captions_and_a_pdf_added_through_the_api_are_embedded_by_the_worker(
    start_worker, alice_client, alice, embedding_stub
):
    start_worker(**stub_env(embedding_stub))
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    lecture = LectureFactory(course=course, status=Lecture.Status.COMPLETED)
    LectureLinkFactory(user=alice, lecture=lecture)

    assert put_captions(alice_client, lecture, captions(300)).status_code == 200
    response = upload(alice_client, course=course, content=pdfs.text_pdf("Mitochondria make ATP."))
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])

    rows = [
        wait_until(lambda s=source: embedded(s), timeout=120, message=f"{name}'s embeddings")
        for name, source in (
            ("the lecture", {"lecture": lecture}),
            ("the PDF", {"document": document}),
        )
    ]

    assert [(row.status, row.error_message) for row in rows] == [("completed", "")] * 2
    passages = list(Passage.objects.filter(owner=alice) | Passage.objects.filter(lecture=lecture))
    assert len(passages) == rows[0].passage_count + 1
    for passage in passages:
        assert passage.embedding_model == SPACE
        assert list(passage.embedding) == pytest.approx(lexicon_vector(passage.text, DIMENSIONS))
    assert alice_client.get("/api/me").json()["usage"]["embedded_passages"] == len(passages)
