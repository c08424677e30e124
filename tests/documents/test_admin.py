"""The document admin: text status and page count in the list, the text on the page, and
"Extract text again"."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django_q.models import OrmQ

from documents.models import Document, TextStatus
from documents.services import TEXT_TASK
from tests.documents import pdfs
from tests.text.helpers import extracted

pytestmark = pytest.mark.django_db

DOCUMENTS = reverse("admin:documents_document_changelist")


def test_the_list_shows_text_status_and_page_count_and_filters_on_status(staff_client, alice):
    extracted(alice, pdfs.text_pdf("a", "b", "c"), filename="done.pdf")
    extracted(alice, pdfs.encrypted(), filename="locked.pdf")

    page = staff_client.get(DOCUMENTS).content.decode()
    failed_only = staff_client.get(DOCUMENTS, {"text_status__exact": "failed"}).content.decode()

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
    assert set(Document.objects.values_list("text_status", flat=True)) == {TextStatus.PENDING}
