"""The document text job: the stored PDF read in the sandbox, its pages stored.

``pending → extracting → completed``, or ``failed`` with a short message. Claims,
heartbeats, take-over, attempts and failures are ``core.jobs``'; what each status resets is
the text's table (``DocumentText.states``). The steps:

1. copy the stored PDF (local disk or S3, through the storage API) to the job's scratch
   directory;
2. read it in the sandbox (``documents/sandbox.py``), a bounded child process;
3. store each page's cleaned text with its full-text vector, written in the same INSERT
   (``core.fulltext.vector_of``), in batches as the pages arrive, then complete with the
   page count.
"""

from __future__ import annotations

import errno
import logging
import uuid
from pathlib import Path

from django.db import transaction

from core.fulltext import vector_of
from core.jobs import Job, LostClaim, Outcome
from core.storage import StoredChunks
from documents.models import Document, DocumentPage, DocumentText, TextStatus
from documents.sandbox import TextExtractionError, extract_pdf_text
from documents.signals import pages_replaced

logger = logging.getLogger("studybuddy.documents")

# Pages stored per INSERT (and held by the worker at once, at most).
BATCH_PAGES = 200


def document_extract_text(*, document_id: uuid.UUID | str) -> Outcome:
    """Run the text job for one document; what happened (for the task result).

    Never raises for a PDF that cannot be read: the document's text ends ``failed`` with
    the reason. Raises only for the unexpected, after marking it ``failed``.
    """
    return TextJob.run(uuid.UUID(str(document_id)))


class TextJob(Job):
    """The text job, on the document's ``DocumentText`` row (its primary key is the
    document's)."""

    model = DocumentText
    settings_prefix = "DOCUMENT_TEXT"
    # No progress is reported: a PDF's text takes seconds; the status says enough.
    crash_message = "internal error while reading the PDF's text"

    def work(self, scratch: Path) -> None:
        document = Document.objects.filter(pk=self.pk).values("storage_key", "owner_id").first()
        if document is None:  # deleted, and its text row with it
            raise LostClaim
        self.owner_id = document["owner_id"]
        pdf = scratch / "document.pdf"
        _copy_stored_file(document["storage_key"], pdf)
        with self.holding_claim():  # a previous run's pages, if any
            DocumentPage.objects.filter(document_id=self.pk).delete()
            pages_replaced.send(DocumentText, document_id=self.pk)
        self._batch: list[tuple[int, str]] = []
        self._batch_chars = 0
        result = extract_pdf_text(pdf, on_page=self._collect)
        self._flush()
        note = ""
        if result.pages < result.page_total:
            note = (
                f"the document has {result.page_total} pages; the text of the first "
                f"{result.pages} was extracted"
            )
        elif result.truncated:
            note = "the document's text was too long and was cut"
        with self.holding_claim():
            self.move(
                TextStatus.COMPLETED,
                {"page_count": result.pages, "error_message": note},
                pages=result.pages,
                page_total=result.page_total,
            )
            pages_replaced.send(DocumentText, document_id=self.pk)

    def _collect(self, number: int, text: str) -> None:
        self._batch.append((number, text))
        self._batch_chars += len(text)
        if len(self._batch) >= BATCH_PAGES or self._batch_chars >= 2_000_000:
            self._flush()

    def _flush(self) -> None:
        if not self._batch:
            return
        with self.holding_claim():
            DocumentPage.objects.bulk_create(
                DocumentPage(
                    document_id=self.pk,
                    owner_id=self.owner_id,
                    number=number,
                    text=text,
                    search_vector=vector_of(text),
                )
                for number, text in self._batch
            )
        self._batch = []
        self._batch_chars = 0

    def failure_reason(self, error: Exception) -> str | None:
        if isinstance(error, TextExtractionError):
            return str(error)
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return "not enough disk space to read the PDF; extract the text again later"
        return None

    def discard(self) -> None:
        """Remove the pages of this run, unless another run took the document over (then
        they are that run's)."""
        with transaction.atomic():
            mine = DocumentText.objects.select_for_update().filter(
                pk=self.pk, claim_token=self.token
            )
            if mine.exists():
                DocumentPage.objects.filter(document_id=self.pk).delete()
                pages_replaced.send(DocumentText, document_id=self.pk)


def _copy_stored_file(key: str, destination: Path) -> None:
    """The stored PDF into the scratch directory, streamed (S3 too): the child reads a
    local file and never touches storage credentials."""
    try:
        chunks = StoredChunks(key)
    except FileNotFoundError:
        raise TextExtractionError("the stored PDF is missing") from None
    except Exception as exc:
        logger.warning("storage read of %s failed: %s", key, exc)
        raise TextExtractionError("file storage is unavailable; extract the text again") from exc
    try:
        with destination.open("wb") as out:
            for chunk in chunks:
                out.write(chunk)
    except OSError:
        raise  # the scratch disk (ENOSPC): ``failure_reason`` says so
    except Exception as exc:
        logger.warning("storage read of %s failed: %s", key, exc)
        raise TextExtractionError("file storage is unavailable; extract the text again") from exc
    finally:
        chunks.close()
