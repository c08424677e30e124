"""Listing, metadata, the file itself and deletion: only ever the caller's documents."""

from __future__ import annotations

import hashlib
import uuid
from urllib.parse import unquote

import pytest
from django.db import transaction

from documents.models import Document, DocumentText, TextStatus
from tests.documents.helpers import make_pdf, stored_keys, upload
from tests.documents.test_upload import document_body
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


@pytest.fixture
def uploaded(alice_client, course):
    """Alice's document: ``(document, bytes)``."""
    content = make_pdf("the uploaded one", padding=5000)
    response = upload(alice_client, course=course, content=content, name="Week 1.pdf")
    assert response.status_code == 201
    return Document.objects.get(pk=response.json()["id"]), content


def body_of(response) -> bytes:
    return b"".join(response.streaming_content)


# --- List ----------------------------------------------------------------------------------


def test_the_list_shows_my_documents_newest_first(alice_client, bob_client, bob, course):
    EnrollmentFactory(user=bob, course=course)
    first = upload(alice_client, course=course).json()
    second = upload(alice_client, course=course).json()
    upload(bob_client, course=course)

    response = alice_client.get("/api/documents")

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [second, first],
    }


def test_the_list_filters_by_course(alice_client, alice, course):
    other = EnrollmentFactory(user=alice).course
    mine = upload(alice_client, course=course).json()
    upload(alice_client, course=other)

    response = alice_client.get(f"/api/documents?course_id={course.id}")

    assert response.json()["results"] == [mine]


def test_a_malformed_course_filter_is_400_on_course_id(alice_client):
    response = alice_client.get("/api/documents?course_id=nope")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "Invalid input.",
        "code": "invalid",
        "errors": {"course_id": ["Must be a valid UUID."]},
        "course_id": ["Must be a valid UUID."],
    }


def test_the_list_is_paginated(alice_client, course):
    for _ in range(3):
        upload(alice_client, course=course)

    body = alice_client.get("/api/documents?limit=2").json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["next"].endswith("/api/documents?limit=2&offset=2")


def test_the_list_takes_the_same_queries_for_one_or_many_documents(
    alice_client, alice, course, django_assert_num_queries
):
    upload(alice_client, course=course)
    with django_assert_num_queries(3):  # the user, the count, the page
        alice_client.get("/api/documents")
    for _ in range(4):
        upload(alice_client, course=course)

    with django_assert_num_queries(3):
        response = alice_client.get("/api/documents")
    assert response.json()["count"] == 5


def test_documents_stay_listed_after_leaving_the_course(alice_client, course):
    mine = upload(alice_client, course=course).json()
    alice_client.delete(f"/api/courses/{course.id}/enrollment")

    assert alice_client.get("/api/documents").json()["results"] == [mine]


# --- Metadata --------------------------------------------------------------------------------


def test_the_metadata_of_my_document(alice_client, uploaded):
    document, _ = uploaded

    response = alice_client.get(f"/api/documents/{document.id}")

    assert response.status_code == 200
    assert response.json() == document_body(document)


def test_the_metadata_with_its_etag_answers_304_with_an_empty_body(alice_client, uploaded):
    url = f"/api/documents/{uploaded[0].id}"
    first = alice_client.get(url)

    again = alice_client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])

    assert first["ETag"].startswith('"') and len(first["ETag"]) > 2  # a strong tag
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == first["ETag"]


def test_after_the_text_job_the_old_etag_gets_200_with_the_new_body(alice_client, uploaded):
    document, _ = uploaded
    url = f"/api/documents/{document.id}"
    old = alice_client.get(url)
    DocumentText.objects.filter(document=document).update(status=TextStatus.COMPLETED, page_count=1)

    response = alice_client.get(url, HTTP_IF_NONE_MATCH=old["ETag"])

    assert response.status_code == 200
    assert (response.json()["text_status"], response.json()["page_count"]) == ("completed", 1)
    assert response["ETag"] != old["ETag"]


@pytest.mark.parametrize("tag", ["*", '"anything"', "alice's"])
def test_if_none_match_on_someone_elses_document_is_404_whatever_the_tag(
    alice_client, bob_client, uploaded, tag
):
    url = f"/api/documents/{uploaded[0].id}"
    if tag == "alice's":
        tag = alice_client.get(url)["ETag"]

    response = bob_client.get(url, HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.parametrize("tag", ['W/"other"', "garbage", '"unterminated'])
def test_a_weak_tag_of_another_body_or_garbage_gets_the_metadata(alice_client, uploaded, tag):
    document, _ = uploaded

    response = alice_client.get(f"/api/documents/{document.id}", HTTP_IF_NONE_MATCH=tag)

    assert response.status_code == 200
    assert response.json() == document_body(document)


@pytest.mark.parametrize("suffix", ["", "/file"])
def test_someone_elses_document_is_404(bob_client, uploaded, suffix):
    document, _ = uploaded

    response = bob_client.get(f"/api/documents/{document.id}{suffix}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# An id no row has. Fixed, not random: every pytest-xdist worker must collect the same test ids.
NO_SUCH_ID = "7d3f0a52-5c1e-4b8a-9e2d-41c6b7a8f903"


@pytest.mark.parametrize("document_id", ["not-a-uuid", "123", NO_SUCH_ID])
@pytest.mark.parametrize("suffix", ["", "/file"])
def test_a_malformed_or_unknown_id_is_404(alice_client, document_id, suffix):
    response = alice_client.get(f"/api/documents/{document_id}{suffix}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_every_route_needs_a_token(api_client, uploaded):
    document, _ = uploaded

    for method, path in [
        ("get", "/api/documents"),
        ("get", f"/api/documents/{document.id}"),
        ("get", f"/api/documents/{document.id}/file"),
        ("delete", f"/api/documents/{document.id}"),
    ]:
        response = getattr(api_client, method)(path)
        assert response.status_code == 401, path
        assert response["WWW-Authenticate"].startswith("Bearer")
    assert Document.objects.count() == 1


# --- File ------------------------------------------------------------------------------------


def test_the_file_is_the_exact_bytes_uploaded(alice_client, uploaded):
    document, content = uploaded

    response = alice_client.get(f"/api/documents/{document.id}/file")

    assert response.status_code == 200
    assert hashlib.sha256(body_of(response)).hexdigest() == hashlib.sha256(content).hexdigest()
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(content))
    assert response["ETag"] == f'"{document.sha256}"'
    assert response["Accept-Ranges"] == "bytes"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Week 1.pdf\"; filename*=UTF-8''Week%201.pdf"
    )


def test_the_file_answers_whatever_the_accept_header(alice_client, uploaded):
    document, _ = uploaded

    response = alice_client.get(f"/api/documents/{document.id}/file", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200


def test_a_non_ascii_name_round_trips_in_content_disposition(alice_client, course):
    name = 'Übung 3 \u2013 Lösungen 東京 "final".pdf'
    created = upload(alice_client, course=course, name=name).json()

    response = alice_client.get(f"/api/documents/{created['id']}/file")

    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="Ubung 3  Losungen  final.pdf"; ')
    encoded = disposition.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == name
    assert encoded.isascii()


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 99),
        ("bytes=100-", 100, None),
        ("bytes=-50", -50, None),
        ("bytes=10-10", 10, 10),
        ("bytes=0-999999999", 0, None),
    ],
)
def test_a_range_answers_206_with_those_bytes(alice_client, uploaded, header, start, end):
    document, content = uploaded
    size = len(content)
    expected = content[start : None if end is None else end + 1]
    first = start if start >= 0 else size + start

    response = alice_client.get(f"/api/documents/{document.id}/file", HTTP_RANGE=header)

    assert response.status_code == 206
    assert body_of(response) == expected
    assert response["Content-Range"] == f"bytes {first}-{first + len(expected) - 1}/{size}"
    assert response["Content-Length"] == str(len(expected))
    assert response["ETag"] == f'"{document.sha256}"'


@pytest.mark.parametrize(
    "header",
    [
        "bytes=999999-",
        "bytes=9-2",
        "bytes=abc",
        "bytes=-0",
        "bytes=-",
    ],
)
def test_a_bad_or_unsatisfiable_range_is_416(alice_client, uploaded, header):
    document, content = uploaded

    response = alice_client.get(f"/api/documents/{document.id}/file", HTTP_RANGE=header)

    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(content)}"
    assert response.json() == {"detail": "Range not satisfiable.", "code": "range_not_satisfiable"}


def test_if_range_with_another_etag_answers_the_whole_file(alice_client, uploaded):
    document, content = uploaded

    response = alice_client.get(
        f"/api/documents/{document.id}/file", HTTP_RANGE="bytes=0-9", HTTP_IF_RANGE='"older"'
    )

    assert response.status_code == 200
    assert body_of(response) == content


def test_if_none_match_with_the_etag_answers_304(alice_client, uploaded):
    document, _ = uploaded

    response = alice_client.get(
        f"/api/documents/{document.id}/file", HTTP_IF_NONE_MATCH=f'"{document.sha256}"'
    )

    assert response.status_code == 304
    assert response.content == b""
    assert response["ETag"] == f'"{document.sha256}"'


def test_head_answers_the_headers_only(alice_client, uploaded):
    document, content = uploaded

    response = alice_client.head(f"/api/documents/{document.id}/file")

    assert response.status_code == 200
    assert response["Content-Length"] == str(len(content))
    assert response.content == b""


# --- Delete ----------------------------------------------------------------------------------


def test_the_owner_deletes_the_row_and_the_file(
    alice_client, uploaded, django_capture_on_commit_callbacks
):
    document, _ = uploaded

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.delete(f"/api/documents/{document.id}")

    assert response.status_code == 204
    assert Document.objects.count() == 0
    assert stored_keys() == []
    assert alice_client.get(f"/api/documents/{document.id}").status_code == 404


def test_someone_else_cannot_delete_it_and_learns_nothing(
    bob_client, uploaded, django_capture_on_commit_callbacks
):
    document, _ = uploaded

    with django_capture_on_commit_callbacks(execute=True):
        response = bob_client.delete(f"/api/documents/{document.id}")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
    assert stored_keys() == [document.storage_key]


def test_an_api_admin_deletes_anyones_document(
    client_for, bob, uploaded, settings, django_capture_on_commit_callbacks
):
    settings.ADMIN_USER_IDS = [bob.clerk_id]
    document, _ = uploaded

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(bob).delete(f"/api/documents/{document.id}")

    assert response.status_code == 204
    assert Document.objects.count() == 0
    assert stored_keys() == []


def test_deleting_a_course_deletes_its_documents_and_their_files(
    alice_client, alice, course, django_capture_on_commit_callbacks
):
    other = EnrollmentFactory(user=alice, course=CourseFactory()).course
    upload(alice_client, course=course)
    upload(alice_client, course=course)
    kept = upload(alice_client, course=other).json()

    with django_capture_on_commit_callbacks(execute=True):
        course.delete()

    assert list(Document.objects.values_list("id", flat=True)) == [uuid.UUID(kept["id"])]
    assert stored_keys() == [f"documents/{kept['id']}.pdf"]


def test_a_queryset_delete_removes_the_files_too(
    alice_client, course, django_capture_on_commit_callbacks
):
    upload(alice_client, course=course)
    upload(alice_client, course=course)

    with django_capture_on_commit_callbacks(execute=True):
        Document.objects.all().delete()

    assert stored_keys() == []


def test_a_deletion_that_rolls_back_keeps_the_file(uploaded, django_capture_on_commit_callbacks):
    document, _ = uploaded

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        document.delete()
        raise RuntimeError("rolled back")

    assert Document.objects.count() == 1
    assert stored_keys() == [document.storage_key]
