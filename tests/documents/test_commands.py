"""``manage.py extract_document_text``: backfill and retry, with progress lines."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command
from django_q.models import OrmQ

from documents.models import Document, TextStatus
from tests.documents import pdfs
from tests.documents.text_helpers import extracted, stored_document

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("extract_document_text", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.fixture
def three(alice):
    """A document never extracted, one failed, one completed."""
    return (
        stored_document(alice, pdfs.text_pdf("waiting words"), filename="pending.pdf"),
        extracted(alice, pdfs.encrypted(), filename="failed.pdf"),
        extracted(alice, pdfs.text_pdf("done"), filename="done.pdf"),
    )


def test_missing_with_wait_extracts_the_pending_ones_here(three):
    pending, failed, _done = three

    out = run("--missing", "--wait")

    assert f"[1/1] {pending.id}" in out and "'pending.pdf': completed, 1 pages" in out
    assert out.rstrip().endswith("1 document(s): 1 completed, 0 failed, 0 skipped")
    pending.refresh_from_db()
    assert pending.text.status == TextStatus.COMPLETED
    failed.refresh_from_db()
    assert failed.text.status == TextStatus.FAILED


def test_failed_queues_the_failed_ones(three, django_capture_on_commit_callbacks):
    _pending, failed, _done = three

    with django_capture_on_commit_callbacks(execute=True):
        out = run("--failed")

    assert "'failed.pdf': queued" in out
    assert [job.task["args"][0] for job in OrmQ.objects.all()] == [str(failed.id)]
    failed.refresh_from_db()
    assert (failed.text.status, failed.text.error_message) == (TextStatus.PENDING, "")


def test_a_named_document_is_extracted_again_whatever_its_state(three):
    _pending, _failed, done = three

    out = run("--document", str(done.id), "--wait")

    assert "'done.pdf': completed, 1 pages" in out
    assert done.pages.count() == 1


def test_wait_exits_non_zero_when_a_document_fails(three):
    _pending, failed, _done = three

    with pytest.raises(CommandError, match="1 document"):
        run("--document", str(failed.id), "--wait")


def test_dry_run_lists_and_changes_nothing(three):
    texts = Document.objects.order_by("pk").values_list("text__status", "text__updated_at")
    before = list(texts)

    out = run("--missing", "--failed", "--dry-run")

    assert "[1/2]" in out and "[2/2]" in out
    assert "would extract (text pending)" in out and "would extract (text failed)" in out
    assert "dry run: nothing changed" in out
    assert list(texts.all()) == before
    assert OrmQ.objects.count() == 0


def test_an_unknown_document_is_named_and_fails_the_command(three):
    with pytest.raises(CommandError, match="do not exist"):
        run("--document", str(uuid.uuid4()))


def test_no_selection_is_an_error():
    with pytest.raises(CommandError, match="--missing or --failed"):
        run()
