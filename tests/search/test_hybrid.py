"""``GET /api/search?mode=hybrid``: the passages that match the words and those nearest in
meaning, fused by reciprocal rank fusion (``1 / (60 + place)`` summed over the two lists),
equal scores to the newer source; one list paged through; escaped snippets."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from documents.models import Document
from tests.documents import pdfs
from tests.documents.text_helpers import extracted
from tests.factories import EnrollmentFactory
from tests.search.material import captioned_lecture, embed_passages, search

pytestmark = pytest.mark.django_db


@pytest.fixture
def course(alice):
    return EnrollmentFactory(user=alice).course


def document(owner, text: str, *, course, filename: str) -> Document:
    """A one-page document: one passage."""
    return extracted(owner, pdfs.text_pdf(text), course=course, filename=filename)


def found(body: dict) -> list[str]:
    return [hit["title"] for hit in body["results"]]


def test_a_passage_in_both_lists_beats_the_top_of_one(alice, alice_client, embeddings_on, course):
    # "energy" and "atp" are related words of the stub's model (tests/search/lexicon).
    document(alice, "energy and ATP", course=course, filename="both.pdf")  # words 2, meaning 1
    document(alice, "ATP", course=course, filename="meaning.pdf")  # meaning 2 only
    embed_passages()
    # Not embedded yet: the top of the word list only.
    document(alice, "energy, energy, energy, energy", course=course, filename="words.pdf")

    body = search(alice_client, "energy", mode="hybrid")

    assert found(body) == ["both.pdf", "words.pdf", "meaning.pdf"]
    assert [hit["rank"] for hit in body["results"]] == [
        pytest.approx(1 / 62 + 1 / 61),
        pytest.approx(1 / 61),
        pytest.approx(1 / 62),
    ]
    assert found(search(alice_client, "energy", mode="text")) == ["words.pdf", "both.pdf"]


@pytest.mark.parametrize("newer", ["words.pdf", "meaning.pdf"])
def test_equal_scores_go_to_the_newer_source(alice, alice_client, embeddings_on, course, newer):
    meaning = document(alice, "ATP", course=course, filename="meaning.pdf")
    embed_passages()
    words = document(alice, "energy", course=course, filename="words.pdf")  # not embedded
    now = timezone.now()
    for doc in (words, meaning):
        age = datetime.timedelta(days=0 if doc.original_filename == newer else 1)
        Document.objects.filter(pk=doc.pk).update(created_at=now - age)

    body = search(alice_client, "energy", mode="hybrid")

    assert body["results"][0]["rank"] == body["results"][1]["rank"] == pytest.approx(1 / 61)
    assert found(body)[0] == newer


def test_pages_of_the_fused_list_cover_every_passage_once(alice, alice_client, embeddings_on):
    extracted(alice, pdfs.text_pdf(*[f"lemma number {n}" for n in range(1, 26)]))
    embed_passages()

    first = search(alice_client, "lemma", mode="hybrid", limit=10)
    second = search(alice_client, "lemma", mode="hybrid", limit=10, offset=10)
    last = search(alice_client, "lemma", mode="hybrid", limit=10, offset=20)

    assert [body["count"] for body in (first, second, last)] == [25, 25, 25]
    assert [len(body["results"]) for body in (first, second, last)] == [10, 10, 5]
    assert first["previous"] is None and "offset=10" in first["next"]
    assert "mode=hybrid" in first["next"]
    assert last["next"] is None
    pages = [hit["page"] for body in (first, second, last) for hit in body["results"]]
    assert sorted(pages) == list(range(1, 26))
    ranks = [hit["rank"] for body in (first, second, last) for hit in body["results"]]
    assert ranks == sorted(ranks, reverse=True)
    past_the_end = search(alice_client, "lemma", mode="hybrid", offset=100)
    assert (past_the_end["count"], past_the_end["results"]) == (25, [])


@pytest.mark.parametrize("mode", ["semantic", "hybrid"])
def test_markup_in_captions_comes_back_escaped(alice, alice_client, embeddings_on, course, mode):
    # Entities in captions are text: "&lt;script&gt;" is the transcript's "<script>".
    captioned_lecture(
        alice_client,
        alice,
        "&lt;script&gt;alert(1)&lt;/script&gt; mitochondria &amp; &quot;ATP&quot;",
        course=course,
    )
    embed_passages()

    [hit] = search(alice_client, "mitochondria", mode=mode)["results"]

    assert hit["snippet"] == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>mitochondria</mark> &amp; &quot;ATP&quot;"
    )


def test_the_course_and_type_filters_apply_to_both_lists(
    alice, alice_client, embeddings_on, course
):
    other = EnrollmentFactory(user=alice).course
    captioned_lecture(alice_client, alice, "energy of ATP", course=course, title="Lecture")
    document(alice, "energy of ATP", course=course, filename="here.pdf")
    document(alice, "energy of ATP", course=other, filename="there.pdf")
    embed_passages()

    in_course = search(alice_client, "energy", mode="hybrid", course_id=str(course.id))
    documents = search(alice_client, "energy", mode="hybrid", type="document")

    assert sorted(found(in_course)) == ["Lecture", "here.pdf"]
    assert sorted(found(documents)) == ["here.pdf", "there.pdf"]
