"""``GET /api/search`` on PostgreSQL: web-search syntax, stemming, ranking, the caller's
material only, escaped snippets, pagination in a constant number of queries."""

from __future__ import annotations

import uuid

import pytest

from documents.models import Document, DocumentPage, DocumentText, TextStatus
from tests.documents import pdfs
from tests.documents.text_helpers import extracted, stored_document
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db

URL = "/api/search"


def search(client, q: str, **params):
    response = client.get(URL, {"q": q, **params})
    assert response.status_code == 200, response.content
    return response.json()


def pages_found(body: dict) -> list[tuple[str, int]]:
    return [(hit["title"], hit["page"]) for hit in body["results"]]


@pytest.fixture
def algebra(alice):
    """Alice's course with her lecture notes, four pages of known words."""
    course = EnrollmentFactory(user=alice, course=CourseFactory(code="MTH 165")).course
    extracted(
        alice,
        pdfs.text_pdf(
            "An array of numbers is a vector.",
            "A binary search tree keeps keys in order.",
            "The determinant of a matrix; the eigenvalue of a matrix.",
            "Tree search of binary data, converging slowly.",
        ),
        course=course,
        filename="algebra.pdf",
    )
    return course


# --- Query syntax -------------------------------------------------------------------------


def test_a_word_finds_its_other_forms(alice_client, algebra):
    assert pages_found(search(alice_client, "arrays")) == [("algebra.pdf", 1)]
    assert pages_found(search(alice_client, "converge")) == [("algebra.pdf", 4)]
    assert pages_found(search(alice_client, "Converging")) == [("algebra.pdf", 4)]


def test_a_quoted_phrase_finds_the_words_in_that_order_only(alice_client, algebra):
    assert pages_found(search(alice_client, '"binary search tree"')) == [("algebra.pdf", 2)]
    assert sorted(pages_found(search(alice_client, "binary search tree"))) == [
        ("algebra.pdf", 2),
        ("algebra.pdf", 4),
    ]


def test_a_minus_excludes_a_word(alice_client, algebra):
    assert pages_found(search(alice_client, "binary -keys")) == [("algebra.pdf", 4)]


def test_or_finds_either_word(alice_client, algebra):
    found = search(alice_client, "vector or eigenvalue")

    assert sorted(pages_found(found)) == [("algebra.pdf", 1), ("algebra.pdf", 3)]


def test_the_more_relevant_page_ranks_first(alice_client, alice, algebra):
    extracted(
        alice,
        pdfs.text_pdf("matrix", "matrix matrix matrix: a matrix of matrices"),
        course=algebra,
        filename="matrices.pdf",
    )

    hits = search(alice_client, "matrix")["results"]

    assert (hits[0]["title"], hits[0]["page"]) == ("matrices.pdf", 2)
    ranks = [hit["rank"] for hit in hits]
    assert ranks == sorted(ranks, reverse=True)


def test_a_query_of_stop_words_or_punctuation_finds_nothing(alice_client, algebra):
    assert search(alice_client, "the of")["count"] == 0
    assert search(alice_client, '&|!():*"')["count"] == 0


def test_a_hit_names_the_document_its_course_and_page(alice_client, alice, algebra):
    document = Document.objects.get(owner=alice)

    hit = search(alice_client, "determinant")["results"][0]

    assert hit == {
        "type": "document",
        "id": str(document.id),
        "course_id": str(algebra.id),
        "title": "algebra.pdf",
        "start": None,
        "end": None,
        "page": 3,
        "snippet": "The <mark>determinant</mark> of a matrix; the eigenvalue of a matrix.",
        "rank": hit["rank"],
    }
    assert hit["rank"] > 0


def test_accented_words_are_found_as_written(alice_client, alice):
    extracted(alice, pdfs.text_pdf("Élève à l'école", "Größe der Übung"))

    assert pages_found(search(alice_client, "élève"))[0][1] == 1
    assert pages_found(search(alice_client, "Übung"))[0][1] == 2


# --- Snippets -----------------------------------------------------------------------------


def test_markup_in_a_pdf_comes_back_inert(alice_client, alice):
    extracted(alice, pdfs.text_pdf('<script>alert(1)</script> matrix & "quotes" <b>bold</b>'))

    snippet = search(alice_client, "matrix")["results"][0]["snippet"]

    assert snippet == (
        "&lt;script&gt;alert(1)&lt;/script&gt; <mark>matrix</mark> &amp; "
        "&quot;quotes&quot; &lt;b&gt;bold&lt;/b&gt;"
    )


def test_words_inside_angle_brackets_are_searchable_and_shown(alice_client, alice):
    extracted(alice, pdfs.text_pdf("std::vector<int> holds integers; a<b and c>d"))

    snippet = search(alice_client, "int")["results"][0]["snippet"]

    assert snippet == "std::vector&lt;<mark>int</mark>&gt; holds integers; a&lt;b and c&gt;d"


def test_a_long_page_gives_a_short_snippet_around_the_match(alice_client, alice):
    filler = " ".join(f"word{n}" for n in range(2000))
    extracted(alice, pdfs.text_pdf(f"{filler} needle {filler}"))

    snippet = search(alice_client, "needle")["results"][0]["snippet"]

    assert "<mark>needle</mark>" in snippet
    assert len(snippet) < 400


# --- Whose material -----------------------------------------------------------------------


@pytest.fixture
def bobs_twin(bob, algebra):
    """Bob owns a document with the very same words, in his own course and in Alice's."""
    pdf = pdfs.text_pdf("An array of numbers is a vector.", "secret bob words")
    extracted(bob, pdf, filename="bob.pdf")
    EnrollmentFactory(user=bob, course=algebra)
    extracted(bob, pdf + b"\n%same words, other bytes\n", course=algebra, filename="bob2.pdf")


@pytest.mark.parametrize(
    "params",
    [{}, {"type": "document"}, {"type": "lecture"}, {"course_id": "algebra"}, {"limit": 100}],
    ids=["no filter", "documents", "lectures", "shared course", "big page"],
)
def test_another_users_identical_words_are_never_returned(alice_client, algebra, bobs_twin, params):
    if params.get("course_id") == "algebra":
        params = {"course_id": str(algebra.id)}

    found = search(alice_client, "array vector", **params)

    assert all(hit["title"] == "algebra.pdf" for hit in found["results"])
    assert found["count"] == (0 if params.get("type") == "lecture" else 1)
    assert search(alice_client, "secret bob", **params)["count"] == 0


def test_filtering_on_another_users_course_shows_nothing_of_theirs(alice_client, bob, bobs_twin):
    bobs_own_course = Document.objects.get(owner=bob, original_filename="bob.pdf").course

    assert search(alice_client, "secret", course_id=str(bobs_own_course.id))["count"] == 0
    assert search(alice_client, "vector", course_id=str(bobs_own_course.id))["count"] == 0


def test_the_course_filter_keeps_one_course(alice_client, alice, algebra):
    other = EnrollmentFactory(user=alice, course=CourseFactory()).course
    extracted(alice, pdfs.text_pdf("vector spaces"), course=other, filename="other.pdf")

    found = search(alice_client, "vector", course_id=str(other.id))

    assert [hit["title"] for hit in found["results"]] == ["other.pdf"]
    assert search(alice_client, "vector")["count"] == 2


def test_a_document_whose_text_is_not_completed_is_not_searched(alice_client, alice):
    document = stored_document(alice, pdfs.text_pdf("pending words"))
    DocumentPage.objects.create(document=document, owner=alice, number=1, text="pending words")

    assert search(alice_client, "pending")["count"] == 0
    DocumentText.objects.filter(pk=document.pk).update(status=TextStatus.FAILED)
    assert search(alice_client, "pending")["count"] == 0


def test_lecture_hits_need_transcripts_and_are_none_yet(alice_client, algebra):
    assert search(alice_client, "vector", type="lecture") == {
        "mode": "text",
        "count": 0,
        "next": None,
        "previous": None,
        "results": [],
    }


# --- Pagination and queries ---------------------------------------------------------------


def test_pages_of_hits_cover_every_hit_once(alice_client, alice):
    extracted(alice, pdfs.text_pdf(*[f"lemma number {n}" for n in range(1, 26)]))

    first = search(alice_client, "lemma", limit=10)
    second = search(alice_client, "lemma", limit=10, offset=10)
    last = search(alice_client, "lemma", limit=10, offset=20)

    assert (first["count"], len(first["results"]), len(last["results"])) == (25, 10, 5)
    assert first["previous"] is None and "offset=10" in first["next"]
    assert last["next"] is None
    pages = [hit["page"] for body in (first, second, last) for hit in body["results"]]
    assert sorted(pages) == list(range(1, 26))
    assert search(alice_client, "lemma", offset=100)["results"] == []


def test_the_number_of_queries_does_not_grow_with_the_hits(
    alice_client, alice, django_assert_num_queries
):
    extracted(alice, pdfs.text_pdf("solitary theorem"), filename="one.pdf")
    extracted(alice, pdfs.text_pdf(*["plentiful theorem"] * 60), filename="many.pdf")

    # The caller's row, then one query: the page with its snippets and the total.
    for q, params in [("solitary", {}), ("plentiful", {"limit": 50}), ("absent", {})]:
        with django_assert_num_queries(2):
            search(alice_client, q, **params)
    # Past the end, the page is empty and the total takes one more.
    with django_assert_num_queries(3):
        past_the_end = search(alice_client, "plentiful", offset=100)
    assert (past_the_end["count"], past_the_end["results"]) == (60, [])


# --- Refusals -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "q"),
        ({"q": ""}, "q"),
        ({"q": "    "}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"q": "bad\x00byte"}, "q"),
        ({"q": "line\nbreak"}, "q"),
        ({"q": "matrix", "type": "video"}, "type"),
        ({"q": "matrix", "course_id": "not-a-uuid"}, "course_id"),
        ({"q": "matrix", "mode": "fuzzy"}, "mode"),
    ],
    ids=[
        "missing",
        "empty",
        "blank",
        "201 chars",
        "NUL",
        "newline",
        "bad type",
        "bad course",
        "bad mode",
    ],
)
def test_a_bad_query_is_400_on_its_field(alice_client, algebra, params, field):
    pages_before = DocumentPage.objects.count()

    response = alice_client.get(URL, params)

    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert DocumentPage.objects.count() == pages_before


def test_200_characters_after_trimming_are_accepted(alice_client, algebra):
    assert alice_client.get(URL, {"q": "  " + "v" * 200 + "  "}).status_code == 200


def test_an_unknown_course_finds_nothing(alice_client, algebra):
    assert search(alice_client, "vector", course_id=str(uuid.uuid4()))["count"] == 0


def test_search_needs_a_token(api_client):
    response = api_client.get(URL, {"q": "matrix"})

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
