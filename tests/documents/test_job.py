"""The text job on the shared job mechanism: queued after an upload commits, pages stored
with their vectors, failures short and clean, re-runs replacing what was there."""

from __future__ import annotations

import io

import pytest
from django.utils import timezone

from core.jobs import JobFailed, Outcome
from core.storage import storage_delete, storage_save
from documents import sandbox
from documents.jobs import document_extract_text
from documents.models import Document, DocumentPage, DocumentText, TextStatus
from documents.services import document_delete, document_text_requeue
from documents.tasks import extract_document_text
from tests.documents import pdfs
from tests.documents.helpers import upload
from tests.documents.text_helpers import extracted, stored_document
from tests.factories import CourseFactory, EnrollmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(monkeypatch) -> list[tuple]:
    """The tasks put on the queue (instead of the broker)."""
    calls: list[tuple] = []
    monkeypatch.setattr("documents.services.async_task", lambda *args, **kwargs: calls.append(args))
    return calls


def pages_of(document: Document) -> list[tuple[int, str]]:
    return list(document.pages.order_by("number").values_list("number", "text"))


def test_an_upload_queues_the_text_job_once_the_row_commits(
    alice, alice_client, queued, django_capture_on_commit_callbacks
):
    course = EnrollmentFactory(user=alice, course=CourseFactory()).course

    with django_capture_on_commit_callbacks(execute=True):
        response = upload(alice_client, course=course, content=pdfs.text_pdf("queued words"))

    assert response.status_code == 201
    assert queued == [("documents.tasks.extract_document_text", response.json()["id"])]
    assert response.json()["text_status"] == "pending"
    assert response.json()["page_count"] is None


def test_a_duplicate_upload_queues_nothing_and_answers_the_existing_text(
    alice, alice_client, queued, django_capture_on_commit_callbacks
):
    course = EnrollmentFactory(user=alice, course=CourseFactory()).course
    pdf = pdfs.text_pdf("first page", "second page")
    with django_capture_on_commit_callbacks(execute=True):
        first = upload(alice_client, course=course, content=pdf).json()
    document_extract_text(document_id=first["id"])
    queued.clear()

    with django_capture_on_commit_callbacks(execute=True):
        again = upload(alice_client, course=course, content=pdf)

    assert again.status_code == 200
    assert queued == []
    assert again.json()["id"] == first["id"]
    assert (again.json()["text_status"], again.json()["page_count"]) == ("completed", 2)
    assert DocumentPage.objects.count() == 2


def test_the_job_stores_every_page_and_completes(alice):
    document = extracted(alice, pdfs.text_pdf("Vectors and arrays", None, "Größe café"))

    assert document.text.status == TextStatus.COMPLETED
    assert (document.text.page_count, document.text.error_message) == (3, "")
    assert pages_of(document) == [(1, "Vectors and arrays"), (2, ""), (3, "Größe café")]
    assert document.text.claim_token is None and document.text.attempt_count == 1
    vectors = list(document.pages.order_by("number").values_list("search_vector", flat=True))
    assert "'array'" in vectors[0] and vectors[1] == "" and "'café'" in vectors[2]


def test_the_task_answers_completed_and_raises_for_a_failure(alice):
    good = stored_document(alice, pdfs.text_pdf("fine"))
    bad = stored_document(alice, pdfs.encrypted())

    assert extract_document_text(str(good.id)) == "completed"
    with pytest.raises(JobFailed):
        extract_document_text(str(bad.id))


@pytest.mark.parametrize(
    ("pdf", "message"),
    [
        (pdfs.encrypted(), "the PDF is encrypted"),
        (pdfs.reference_loop(), "the PDF is malformed or damaged"),
        (pdfs.truncated(pdfs.text_pdf(*["page"] * 20)), "the PDF is malformed or damaged"),
    ],
    ids=["encrypted", "reference loop", "truncated"],
)
def test_an_unreadable_pdf_ends_failed_with_a_short_message_and_no_pages(alice, pdf, message):
    document = extracted(alice, pdf)

    assert document.text.status == TextStatus.FAILED
    assert document.text.error_message == message
    assert document.text.page_count is None
    assert pages_of(document) == []
    assert document.text.claim_token is None


def test_thousands_of_pages_complete_with_the_first_max_pages_and_say_so(alice, settings):
    settings.DOCUMENT_TEXT_MAX_PAGES = 300

    document = extracted(alice, pdfs.empty_pages(10_000))

    assert document.text.status == TextStatus.COMPLETED
    assert document.text.page_count == 300
    assert document.text.error_message == (
        "the document has 10000 pages; the text of the first 300 was extracted"
    )
    assert document.pages.count() == 300


def test_a_missing_stored_file_ends_failed(alice):
    document = stored_document(alice, pdfs.text_pdf("gone"))
    storage_delete(document.storage_key)

    assert document_extract_text(document_id=document.id) == Outcome.FAILED
    document.refresh_from_db()
    assert (document.text.status, document.text.error_message) == (
        "failed",
        "the stored PDF is missing",
    )


def test_a_second_delivery_of_a_completed_job_does_nothing(alice):
    document = extracted(alice, pdfs.text_pdf("once"))
    before = list(document.pages.values_list("pk", flat=True))

    assert document_extract_text(document_id=document.id) == Outcome.SKIPPED
    assert list(document.pages.values_list("pk", flat=True)) == before


def test_a_failure_after_some_pages_leaves_no_pages(alice, monkeypatch, tmp_path):
    script = tmp_path / "child.py"
    script.write_text(
        "import json\n"
        "print(json.dumps({'pages': 500}))\n"
        "for n in range(1, 451):\n"
        "    print(json.dumps({'page': n, 'text': 'partial'}))\n"
        "raise SystemExit(1)\n"
    )
    monkeypatch.setattr(sandbox, "CHILD", script)

    document = extracted(alice, pdfs.text_pdf("anything"))

    assert document.text.status == TextStatus.FAILED
    assert pages_of(document) == []  # two batches had been stored, then removed


def test_extracting_again_replaces_the_pages_and_their_index(alice, alice_client):
    """The index follows the text: after the file changes and the text is extracted again,
    the new words are found and the old ones are not."""
    document = extracted(alice, pdfs.text_pdf("the quokka lecture"))
    assert alice_client.get("/api/search", {"q": "quokka"}).json()["count"] == 1
    new_pdf = pdfs.text_pdf("the platypus lecture", "and a second page")
    storage_delete(document.storage_key)
    storage_save(document.storage_key, io.BytesIO(new_pdf))

    assert document_text_requeue(document_id=document.id, enqueue=False)
    assert document_extract_text(document_id=document.id) == Outcome.COMPLETED

    assert pages_of(document) == [(1, "the platypus lecture"), (2, "and a second page")]
    assert alice_client.get("/api/search", {"q": "platypus"}).json()["count"] == 1
    assert alice_client.get("/api/search", {"q": "quokka"}).json()["count"] == 0


def test_a_requeue_resets_the_text_to_pending_with_a_fresh_attempt_budget(alice):
    document = extracted(alice, pdfs.encrypted())

    assert document_text_requeue(document_id=document.id, enqueue=False)

    document.refresh_from_db()
    assert (document.text.status, document.text.error_message, document.text.attempt_count) == (
        "pending",
        "",
        0,
    )


def test_a_requeue_leaves_a_job_that_is_running_alone(alice):
    document = stored_document(alice, pdfs.text_pdf("busy"))
    DocumentText.objects.filter(pk=document.pk).update(
        status=TextStatus.EXTRACTING, heartbeat_at=timezone.now()
    )

    assert not document_text_requeue(document_id=document.id)


def test_deleting_a_document_deletes_its_pages(alice):
    document = extracted(alice, pdfs.text_pdf("one", "two"))

    document_delete(document=document)

    assert DocumentPage.objects.count() == 0
