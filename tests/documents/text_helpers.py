"""Documents with real PDFs in storage, and their text extracted by the real job."""

from __future__ import annotations

import hashlib
import io

from core.storage import storage_save
from documents.jobs import document_extract_text
from documents.models import Document, document_storage_key
from tests.factories import CourseFactory, EnrollmentFactory


def stored_document(owner, pdf: bytes, *, course=None, filename: str = "notes.pdf") -> Document:
    """A document row of ``owner`` with ``pdf`` in storage, its text still ``pending``."""
    if course is None:
        course = EnrollmentFactory(user=owner, course=CourseFactory()).course
    document = Document(
        owner=owner,
        course=course,
        original_filename=filename,
        size_bytes=len(pdf),
        sha256=hashlib.sha256(pdf).hexdigest(),
    )
    document.storage_key = document_storage_key(document.id)
    storage_save(document.storage_key, io.BytesIO(pdf))
    document.save(force_insert=True)
    return document


def extracted(owner, pdf: bytes, **kwargs) -> Document:
    """``stored_document``, then the text job run on it here; the row as it ends."""
    document = stored_document(owner, pdf, **kwargs)
    document_extract_text(document_id=document.id)
    document.refresh_from_db()
    return document
