"""``GET /api/documents/{id}/text`` and the text fields of document bodies, on the local disk
and on S3 (the job copies the stored PDF through the storage API on both)."""

from __future__ import annotations

import pytest

from documents.models import DocumentText, TextStatus
from tests.documents import pdfs
from tests.documents.text_helpers import extracted, stored_document

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("storage_backend")]


def text_url(document) -> str:
    return f"/api/documents/{document.id}/text"


def test_the_text_of_each_page_in_order(alice_client, alice, course):
    document = extracted(alice, pdfs.text_pdf("Première page: élève", None, "third"), course=course)

    response = alice_client.get(text_url(document))

    assert response.status_code == 200
    assert response.json() == {
        "document_id": str(document.id),
        "status": "completed",
        "page_count": 3,
        "pages": [
            {"page": 1, "text": "Première page: élève"},
            {"page": 2, "text": ""},
            {"page": 3, "text": "third"},
        ],
    }


def test_the_text_as_plain_text_with_a_form_feed_between_pages(alice_client, alice, course):
    document = extracted(alice, pdfs.text_pdf("one\nline two", "Größe"), course=course)

    response = alice_client.get(text_url(document), {"format": "txt"})

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode() == "one\nline two\fGröße"


def test_the_document_body_tells_the_text_status(alice_client, alice, course):
    document = extracted(alice, pdfs.text_pdf("a", "b"), course=course)

    body = alice_client.get(f"/api/documents/{document.id}").json()

    assert (body["text_status"], body["page_count"], body["text_error"]) == ("completed", 2, "")
    assert alice_client.get("/api/documents").json()["results"][0]["text_status"] == "completed"


@pytest.mark.parametrize("status", [TextStatus.PENDING, TextStatus.EXTRACTING])
def test_text_not_extracted_yet_is_409_text_not_ready(alice_client, alice, course, status):
    document = stored_document(alice, pdfs.text_pdf("later"), course=course)
    DocumentText.objects.filter(pk=document.pk).update(status=status)

    response = alice_client.get(text_url(document))

    assert response.status_code == 409
    assert response.json() == {
        "detail": "The document's text is not extracted yet.",
        "code": "text_not_ready",
    }
    assert alice_client.get(f"/api/documents/{document.id}").json()["text_status"] == "pending"


def test_a_failed_text_is_409_with_the_reason(alice_client, alice, course):
    document = extracted(alice, pdfs.encrypted(), course=course)

    response = alice_client.get(text_url(document), {"format": "txt"})

    assert response.status_code == 409
    assert response.json()["code"] == "text_not_ready"
    assert "the PDF is encrypted" in response.json()["detail"]
    body = alice_client.get(f"/api/documents/{document.id}").json()
    assert (body["text_status"], body["text_error"]) == ("failed", "the PDF is encrypted")


def test_an_unknown_format_is_400(alice_client, alice, course):
    document = extracted(alice, pdfs.text_pdf("x"), course=course)

    response = alice_client.get(text_url(document), {"format": "html"})

    assert response.status_code == 400
    assert "format" in response.json()["errors"]


def test_another_users_text_is_404(bob_client, alice, course):
    document = extracted(alice, pdfs.text_pdf("private"), course=course)

    assert bob_client.get(text_url(document)).status_code == 404
    assert bob_client.get("/api/documents/not-a-uuid/text").status_code == 404
