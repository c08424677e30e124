"""Document text end to end: uploads through the API, a real qcluster worker, the text job
and its reader child. Hostile PDFs end failed (or completed within the page limit) with a
short message, and the same worker goes on."""

from __future__ import annotations

import psutil
import pytest

from courses.models import Enrollment
from documents.models import Document
from tests.documents import pdfs
from tests.documents.helpers import upload
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory

pytestmark = pytest.mark.e2e


def settled(document_id: str) -> Document | None:
    document = Document.objects.select_related("text").get(pk=document_id)
    return document if document.text.status in ("completed", "failed") else None


def test_uploads_get_their_text_and_hostile_ones_do_not_stop_the_worker(
    start_worker, alice_client, alice
):
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    worker = start_worker()
    files = {
        "bomb.pdf": pdfs.compression_bomb(),
        "loop.pdf": pdfs.reference_loop(),
        "locked.pdf": pdfs.encrypted(),
        "cut.pdf": pdfs.truncated(pdfs.text_pdf(*["a page"] * 20)),
        "notes.pdf": pdfs.text_pdf("Eigenvalues of a matrix", "Größe und Übung"),
    }

    ids = {
        name: upload(alice_client, course=course, content=data, name=name).json()["id"]
        for name, data in files.items()
    }
    ended = {
        name: wait_for(lambda i=document_id: settled(i), timeout=120, what=f"{name}'s text")
        for name, document_id in ids.items()
    }

    assert {name: (d.text.status, d.text.error_message) for name, d in ended.items()} == {
        "bomb.pdf": ("completed", ""),
        "loop.pdf": ("failed", "the PDF is malformed or damaged"),
        "locked.pdf": ("failed", "the PDF is encrypted"),
        "cut.pdf": ("failed", "the PDF is malformed or damaged"),
        "notes.pdf": ("completed", ""),
    }
    assert worker.process.poll() is None
    readers = [
        p
        for p in psutil.Process(worker.process.pid).children(recursive=True)
        if "pdftext.py" in " ".join(p.cmdline())
    ]
    assert readers == []
    text = alice_client.get(f"/api/documents/{ids['notes.pdf']}/text").json()
    assert [page["text"] for page in text["pages"]] == [
        "Eigenvalues of a matrix",
        "Größe und Übung",
    ]
    hits = alice_client.get("/api/search", {"q": "eigenvalue"}).json()["results"]
    assert [(hit["title"], hit["page"]) for hit in hits] == [("notes.pdf", 1)]
