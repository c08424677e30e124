"""Writes of documents: upload with de-duplication, deletion with the stored file, and
(re-)queueing the text job."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from functools import partial
from typing import IO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import User
from core.exceptions import InvalidInput, QuotaExceeded
from core.jobs import move
from core.storage import CHUNK_SIZE, storage_delete_quietly, storage_save
from courses.selectors import course_is_enrolled
from documents.models import Document, DocumentText, TextStatus, document_storage_key
from documents.selectors import document_find_duplicate, document_quota_left
from documents.uploads import QUOTA_MESSAGE
from documents.validation import (
    PDF_MAGIC,
    check_pdf_magic,
    check_pdf_name,
    check_size,
    clean_filename,
)

logger = logging.getLogger("studybuddy.documents")

TEXT_TASK = "documents.tasks.extract_document_text"


def _sha256_of(file: IO[bytes]) -> str:
    digest = hashlib.sha256()
    file.seek(0)
    for chunk in iter(lambda: file.read(CHUNK_SIZE), b""):
        digest.update(chunk)
    file.seek(0)
    return digest.hexdigest()


def document_upload(
    *,
    owner: User,
    course_id: uuid.UUID,
    file: IO[bytes],
    filename: str,
    size: int,
    sha256: str | None = None,
) -> tuple[Document, bool]:
    """Store a PDF for ``owner`` in one of their courses; ``(document, created)``.

    A new document's text job is queued once its row commits; a duplicate is the same row,
    so it keeps (and answers) the text already extracted.

    ``sha256`` is the checksum computed while the upload streamed in (computed here when
    not given). The same owner, course and bytes return the existing document
    (``created`` false) and store nothing. The file is written first, then the row: a
    failed write leaves no row, and a failed insert removes the file. Concurrent identical
    uploads race on the unique (owner, course, sha256) constraint; each loser removes its
    own file and returns the winner's row, so one row and one file remain. A new document
    that would take the owner past ``USER_DOCUMENT_QUOTA_BYTES`` is refused
    (:class:`QuotaExceeded`), checked again under the owner's row lock as the row is
    written, so concurrent uploads cannot pass it together; its file is removed.

    Call it outside any transaction (as views do): the row commits here, and an outer
    rollback would otherwise leave the stored file without its row.
    """
    if not course_is_enrolled(user=owner, course_id=course_id):
        raise InvalidInput("You are not enrolled in this course.", field="course_id")
    name = clean_filename(filename)
    check_pdf_name(name)
    check_size(size, settings.DOCUMENT_MAX_BYTES)
    file.seek(0)
    check_pdf_magic(file.read(len(PDF_MAGIC)))
    file.seek(0)
    sha256 = sha256 or _sha256_of(file)

    duplicate = document_find_duplicate(owner=owner, course_id=course_id, sha256=sha256)
    if duplicate is not None:
        return duplicate, False
    if size > document_quota_left(owner=owner):
        raise QuotaExceeded(QUOTA_MESSAGE)

    document_id = uuid.uuid4()
    document = Document(
        id=document_id,
        owner=owner,
        course_id=course_id,
        original_filename=name,
        size_bytes=size,
        sha256=sha256,
        storage_key=document_storage_key(document_id),
    )
    storage_save(document.storage_key, file)
    try:
        with transaction.atomic():
            # Checked again under the owner's row lock: two uploads that each fit alone
            # cannot both pass when together they do not. NO KEY UPDATE leaves the foreign-key
            # checks of other inserts (KEY SHARE on the same user row) unblocked.
            User.objects.select_for_update(no_key=True).only("pk").get(pk=owner.pk)
            if size > document_quota_left(owner=owner):
                raise QuotaExceeded(QUOTA_MESSAGE)
            document.save(force_insert=True)  # and its text row, ``pending``
            _enqueue_text_on_commit(document.id)
    except IntegrityError:
        storage_delete_quietly(document.storage_key)
        duplicate = document_find_duplicate(owner=owner, course_id=course_id, sha256=sha256)
        if duplicate is None:  # not a duplicate: the course vanished meanwhile, say
            raise
        return duplicate, False
    except BaseException:
        storage_delete_quietly(document.storage_key)
        raise
    return document, True


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete the row; its stored file goes once the deletion commits."""
    document.delete()


def _enqueue_text_on_commit(document_id: uuid.UUID) -> None:
    transaction.on_commit(partial(document_text_enqueue, document_id=str(document_id)))


def document_text_enqueue(*, document_id: str) -> bool:
    """Put the document's text job on the task queue.

    A broker that refuses is logged, not raised: the upload has succeeded, the text stays
    ``pending`` and ``extract_document_text --missing`` queues it again.
    """
    try:
        async_task(
            TEXT_TASK, document_id, task_name=f"document text {document_id}", group="documents"
        )
    except Exception:
        logger.exception("document=%s text job could not be queued", document_id)
        return False
    return True


def document_text_requeue(*, document_id: uuid.UUID, enqueue: bool = True) -> bool:
    """Extract the document's text again: back to ``pending`` with a fresh attempt budget
    and (after commit) a job. ``False`` when there is no such document, or its text is
    being extracted right now by a live worker (a stale claim is taken over).

    ``enqueue=False`` only resets it, for a caller that runs the job itself.
    """
    with transaction.atomic():
        locked = DocumentText.objects.select_for_update().filter(pk=document_id).first()
        if locked is None:
            return False
        stale_before = timezone.now() - timedelta(seconds=settings.DOCUMENT_TEXT_STALE_SECONDS)
        if locked.status == TextStatus.EXTRACTING and (
            locked.heartbeat_at and locked.heartbeat_at >= stale_before
        ):
            return False
        move(locked, TextStatus.PENDING, {"attempt_count": 0}, reason="extract again")
        if enqueue:
            _enqueue_text_on_commit(locked.pk)
    return True
