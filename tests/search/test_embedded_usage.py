"""``usage.embedded_passages`` of ``GET /api/me``: the caller's own passages that can be
found by meaning."""

from __future__ import annotations

import pytest

from tests.factories import EnrollmentFactory
from tests.lectures.factories import LectureLinkFactory
from tests.search.embedding_helpers import (
    captioned_lecture,
    embed,
    extracted_document,
    passages_of,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("embeddings_on")]


def embedded_passages(client) -> int:
    response = client.get("/api/me")
    assert response.status_code == 200
    return response.json()["usage"]["embedded_passages"]


def test_my_linked_lectures_and_my_documents_count_and_nobody_elses(
    alice, bob, alice_client, bob_client
):
    lecture = captioned_lecture(alice_client, alice)
    document = extracted_document(alice, "Mitochondria produce ATP.", "Ribosomes build proteins.")
    bobs = extracted_document(bob, "Bob's own notes.")
    for source in (lecture, document, bobs):
        embed(source)

    assert embedded_passages(alice_client) == len(passages_of(lecture)) + 2
    assert embedded_passages(bob_client) == 1


def test_a_lecture_shared_by_two_students_counts_for_each(alice, bob, alice_client, bob_client):
    lecture = captioned_lecture(alice_client, alice)
    EnrollmentFactory(user=bob, course=lecture.course)
    LectureLinkFactory(user=bob, lecture=lecture)
    embed(lecture)

    assert (
        embedded_passages(alice_client)
        == embedded_passages(bob_client)
        == len(passages_of(lecture))
    )


def test_passages_not_embedded_yet_do_not_count(alice, alice_client):
    captioned_lecture(alice_client, alice)  # queued, not embedded

    assert embedded_passages(alice_client) == 0


def test_it_is_zero_when_embeddings_are_off(alice, alice_client, settings):
    embed(captioned_lecture(alice_client, alice))
    settings.EMBEDDINGS_BACKEND = "none"

    assert embedded_passages(alice_client) == 0


def test_me_takes_the_same_queries_however_many_passages(
    alice, alice_client, django_assert_num_queries
):
    embed(extracted_document(alice, "One page."))
    with django_assert_num_queries(2):  # the user, the usage
        alice_client.get("/api/me")
    for _ in range(3):
        embed(captioned_lecture(alice_client, alice))

    with django_assert_num_queries(2):
        count = embedded_passages(alice_client)

    assert count > 3


def test_the_openapi_document_describes_the_count(api_client):
    schema = api_client.get("/api/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    usage = schema["components"]["schemas"]["Usage"]
    assert "embedded_passages" in usage["required"]
    assert usage["properties"]["embedded_passages"]["type"] == "integer"
