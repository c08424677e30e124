"""Sources with passages, built the way a student's material gets them (captions through
the API, a PDF through the text job), and the embedding job run here."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from django.db import connection

from documents.models import Document
from lectures.models import Lecture
from search.jobs import embedding_process
from search.models import Embedding, Passage
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureFactory, LectureLinkFactory

SPACE = "lexicon-test/256"
T = TypeVar("T")


def captions(seconds: int, *, topic: str = "topic", every: int = 5) -> bytes:
    """WebVTT with one sentence every ``every`` seconds, each naming its number."""
    cues = "".join(
        f"{_time(start)} --> {_time(start + every)}\nSentence {start // every} about "
        f"{topic} {start // every}.\n\n"
        for start in range(0, seconds, every)
    )
    return f"WEBVTT\n\n{cues}".encode()


def _time(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}.000"


def captioned_lecture(client, user, *, seconds: int = 300, topic: str = "topic") -> Lecture:
    """A lecture linked to ``user`` whose transcript is captions PUT through the API."""
    lecture = LectureFactory(course=EnrollmentFactory(user=user).course, status="completed")
    LectureLinkFactory(user=user, lecture=lecture)
    response = put_captions(client, lecture, captions(seconds, topic=topic))
    assert response.status_code == 200, response.content
    return lecture


def put_captions(client, lecture: Lecture, body: bytes):
    return client.put(f"/api/lectures/{lecture.id}/transcript", body, content_type="text/vtt")


def extracted_document(user, *pages: str) -> Document:
    """A document of ``user`` whose text the text job extracted here."""
    return extracted(user, pdfs.text_pdf(*pages))


def source_of(obj: Lecture | Document) -> dict:
    return {"lecture": obj} if isinstance(obj, Lecture) else {"document": obj}


def embedding_row(obj: Lecture | Document) -> Embedding | None:
    return Embedding.objects.filter(**source_of(obj)).first()


def passages_of(obj: Lecture | Document) -> list[Passage]:
    return list(Passage.objects.filter(**source_of(obj)).order_by("index"))


def embed(obj: Lecture | Document) -> Embedding:
    """Run the source's embedding job here; its row as the job left it, with ``outcome``."""
    row = embedding_row(obj)
    assert row is not None, "no embedding row: nothing queued"
    outcome = embedding_process(embedding_id=row.pk)
    row = embedding_row(obj) or row
    row.outcome = outcome
    return row


def in_thread(call: Callable[[], T]) -> Future[T]:
    """``call()`` in a thread of its own (with its own database connection, closed after)."""

    def target() -> T:
        try:
            return call()
        finally:
            connection.close()

    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(target)
    pool.shutdown(wait=False)
    return future
