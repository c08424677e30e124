"""The document admin: text status and page count in the list, the text on the page,
"Extract text again", the stored file from the page (staff only), and every kind of delete
takes the file with it."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django_q.models import OrmQ

from core.storage import storage_delete, storage_exists
from documents.models import Document, TextStatus
from documents.services import TEXT_TASK
from tests.admin_helpers import admin_url, messages_of, run_action, stored_document
from tests.documents import pdfs
from tests.documents.text_helpers import extracted

pytestmark = pytest.mark.django_db

DOCUMENTS = reverse("admin:documents_document_changelist")


def test_the_list_shows_text_status_and_page_count_and_filters_on_status(staff_client, alice):
    extracted(alice, pdfs.text_pdf("a", "b", "c"), filename="done.pdf")
    extracted(alice, pdfs.encrypted(), filename="locked.pdf")

    page = staff_client.get(DOCUMENTS).content.decode()
    failed_only = staff_client.get(DOCUMENTS, {"text__status__exact": "failed"}).content.decode()

    assert "done.pdf" in page and "locked.pdf" in page
    assert 'class="field-page_count">3<' in page
    assert 'class="field-text_status">Completed<' in page
    assert "locked.pdf" in failed_only and "done.pdf" not in failed_only


def test_the_document_page_shows_the_first_pages_escaped(staff_client, alice):
    texts = [f"page {n} <b>words</b>" for n in range(1, 8)]
    document = extracted(alice, pdfs.text_pdf(*texts))

    page = staff_client.get(
        reverse("admin:documents_document_change", args=[document.pk])
    ).content.decode()

    assert "page 5 &lt;b&gt;words&lt;/b&gt;" in page
    assert "page 6 &lt;b&gt;" not in page
    assert "… and 2 more pages" in page


def test_extract_text_again_queues_the_selected_documents(
    staff_client, alice, django_capture_on_commit_callbacks
):
    failed = extracted(alice, pdfs.encrypted())
    completed = extracted(alice, pdfs.text_pdf("fine"))

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            DOCUMENTS,
            {
                "action": "extract_text_again",
                ACTION_CHECKBOX_NAME: [str(failed.pk), str(completed.pk)],
            },
            follow=True,
        )

    assert response.status_code == 200
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["Queued 2 documents for text extraction."]
    assert {job.task["func"] for job in OrmQ.objects.all()} == {TEXT_TASK}
    assert {job.task["args"][0] for job in OrmQ.objects.all()} == {
        str(failed.pk),
        str(completed.pk),
    }
    assert set(Document.objects.values_list("text__status", flat=True)) == {TextStatus.PENDING}


def test_staff_open_a_document_file_from_its_page(staff_client):
    document = stored_document(original_filename="Lecture notes.pdf")
    file_url = reverse("admin:documents_document_file", args=[document.pk])
    page = staff_client.get(admin_url(type(document), "change", document.pk)).content.decode()
    assert file_url in page
    assert document.sha256 in page and document.storage_key in page

    response = staff_client.get(file_url)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    assert 'filename="Lecture notes.pdf"' in response["Content-Disposition"]


def test_a_document_whose_file_is_missing_answers_404(staff_client):
    document = stored_document()
    storage_delete(document.storage_key)

    response = staff_client.get(reverse("admin:documents_document_file", args=[document.pk]))

    assert response.status_code == 404


def test_a_student_cannot_fetch_a_stored_file_through_the_admin(client):
    document = stored_document()
    client.force_login(document.owner)

    response = client.get(reverse("admin:documents_document_file", args=[document.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_delete_with_file_removes_the_documents_and_their_files(
    staff_client, django_capture_on_commit_callbacks
):
    doomed = [stored_document(), stored_document()]
    kept = stored_document()

    with django_capture_on_commit_callbacks(execute=True):
        response = run_action(staff_client, DOCUMENTS, "delete_with_file", doomed, post="yes")

    assert messages_of(response) == ["Deleted 2 documents and 2 stored files."]
    assert list(Document.objects.all()) == [kept]
    assert not any(storage_exists(document.storage_key) for document in doomed)
    assert storage_exists(kept.storage_key)


def test_the_plain_delete_of_one_document_removes_its_file(
    staff_client, django_capture_on_commit_callbacks
):
    document = stored_document()
    url = reverse("admin:documents_document_delete", args=[document.pk])

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(url, {"post": "yes"})

    assert response.status_code == 302
    assert not Document.objects.exists()
    assert not storage_exists(document.storage_key)


def test_the_plain_bulk_delete_removes_the_files(staff_client, django_capture_on_commit_callbacks):
    documents = [stored_document(), stored_document()]

    with django_capture_on_commit_callbacks(execute=True):
        run_action(staff_client, DOCUMENTS, "delete_selected", documents, post="yes")

    assert not Document.objects.exists()
    assert not any(storage_exists(document.storage_key) for document in documents)
