"""Material searched by meaning in the tests: lectures whose captions are PUT through the
API and documents whose text the real job extracts (their passages built as in
production), and the passages' vectors written here with the stub provider's model, as the
embedding job writes them."""

from __future__ import annotations

from search.models import Passage
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from tests.search.embedding_stub import DIMENSIONS, lexicon_vector
from tests.search.test_lecture_source import captions

# ``embeddings_on``'s model and size, as ``Passage.embedding_model`` names them.
SPACE = f"lexicon-test/{DIMENSIONS}"


def search(client, q: str, **params) -> dict:
    response = client.get("/api/search", {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def put_captions(client, lecture, *lines: str) -> None:
    """Captions of one second per line, through ``PUT /api/lectures/{id}/transcript``."""
    response = client.put(
        f"/api/lectures/{lecture.id}/transcript", captions(*lines), content_type="text/vtt"
    )
    assert response.status_code == 200, response.content


def captioned_lecture(client, user, *lines: str, course, title: str = ""):
    """A completed lecture of ``course`` linked to ``user`` (whose client ``client`` is),
    with ``lines`` as its captions."""
    lecture = LectureFactory(course=course, status="completed", title=title)
    LectureLinkFactory(user=user, lecture=lecture)
    put_captions(client, lecture, *lines)
    return lecture


def embed_passages() -> int:
    """Give every passage without a vector the stub model's vector of its text; how many."""
    passages = list(Passage.objects.filter(embedding_model=""))
    for passage in passages:
        passage.embedding = lexicon_vector(passage.text)
        passage.embedding_model = SPACE
    Passage.objects.bulk_update(passages, ["embedding", "embedding_model"])
    return len(passages)
