"""A document's text: the job that extracts it, page by page, in a bounded child process.

``pending → extracting → completed``, or ``failed`` with a short message (SPEC 12). The job
is ``core.jobs``' (claim, heartbeat, take-over, attempts, failures) on the document's
``text_*`` fields; its steps:

1. copy the stored PDF (local disk or S3, through the storage API) to the job's scratch
   directory;
2. read it in a child process (``documents/pdftext.py``) that limits its own CPU time
   (``RLIMIT_CPU``) and address space (``RLIMIT_AS``), under a wall-clock timeout after
   which the parent kills it. A compression bomb, a reference loop, a page tree of ten
   thousand pages or an encrypted or truncated file costs that child only: it ends with a
   short reason, is killed, or completes within ``DOCUMENT_TEXT_MAX_PAGES``; the worker
   goes on. Pages come back one JSON line each, each line bounded, and are stored in
   batches as they arrive, so the worker's memory does not grow with the document;
3. store each page's cleaned text with its full-text vector, written in the same INSERT
   (``core.fulltext.vector_of``), then complete with the page count.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import selectors
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from core.fulltext import clean_text, vector_of
from core.jobs import Job, Outcome, log_status_change
from core.storage import StoredChunks
from documents.models import Document, DocumentPage, TextStatus

logger = logging.getLogger("studybuddy.documents")

CHILD = Path(__file__).with_name("pdftext.py")
# Pages stored per INSERT (and held by the worker at once, at most).
BATCH_PAGES = 200


# --- Status changes ---------------------------------------------------------------------


def text_changes(to: str, **fields: object) -> dict[str, Any]:
    """The fields a move of the text to ``to`` writes: the status, what it implies, then
    ``fields``. Every text status change (the job's, a re-queue's) goes through here."""
    no_claim = {"text_claim_token": None, "text_heartbeat_at": None}
    implied = {
        TextStatus.PENDING: {"text_error": "", "page_count": None, **no_claim},
        # The claim itself (token, heartbeat, attempt) is written by the job that claims.
        TextStatus.EXTRACTING: {"text_error": "", "page_count": None},
        TextStatus.COMPLETED: {"text_error": "", **no_claim},
        TextStatus.FAILED: {"page_count": None, **no_claim},
    }[TextStatus(to)]
    return {"text_status": to, **implied, **fields}


def log_text_transition(
    document_id: uuid.UUID | str, old: str | None, new: str, **fields: object
) -> None:
    """``document=… text from=… to=…`` and whatever tells the story (pages, seconds, error)."""
    log_status_change(logger, f"document={document_id} text", old, new, **fields)


# --- The sandboxed extraction -----------------------------------------------------------


class TextExtractionError(Exception):
    """The PDF's text could not be read; the message is short and meant for people."""


@dataclass(frozen=True)
class Extraction:
    page_total: int  # pages the document has
    pages: int  # pages whose text was sent (the first ``max_pages``)
    truncated: bool  # pages or characters left out by the bounds


@dataclass(frozen=True)
class Limits:
    max_pages: int
    page_chars: int
    total_chars: int
    timeout_seconds: float
    memory_bytes: int

    @classmethod
    def from_settings(cls) -> Limits:
        return cls(
            max_pages=settings.DOCUMENT_TEXT_MAX_PAGES,
            page_chars=settings.DOCUMENT_TEXT_PAGE_MAX_CHARS,
            total_chars=settings.DOCUMENT_TEXT_MAX_CHARS,
            timeout_seconds=settings.DOCUMENT_TEXT_TIMEOUT_SECONDS,
            memory_bytes=settings.DOCUMENT_TEXT_MEMORY_BYTES,
        )

    @property
    def line_bytes(self) -> int:
        # A page line: its text JSON-escaped (at most 12 bytes a character: a surrogate
        # pair as two \uXXXX) plus the frame.
        return self.page_chars * 12 + 1024


def extract_pdf_text(
    path: Path, *, on_page: Callable[[int, str], None], limits: Limits | None = None
) -> Extraction:
    """Read the text of the PDF at ``path`` in a bounded child process, calling
    ``on_page(number, text)`` for each page as it arrives (pages from 1; text cleaned).

    Raises ``TextExtractionError`` with a short reason when the PDF cannot be read within
    the limits. The child is always gone when this returns.
    """
    limits = limits or Limits.from_settings()
    command = [
        sys.executable,
        "-I",  # no project on sys.path, no environment variables, no user site
        str(CHILD),
        str(path),
        str(limits.max_pages),
        str(limits.page_chars),
        str(limits.total_chars),
        str(max(1, int(limits.timeout_seconds))),
        str(limits.memory_bytes),
    ]
    child = subprocess.Popen(  # noqa: S603 (our own program, a fixed argument list)
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        close_fds=True,
    )
    try:
        return _read_answer(child, on_page, limits)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stdout.close()


def _read_answer(
    child: subprocess.Popen, on_page: Callable[[int, str], None], limits: Limits
) -> Extraction:
    deadline = time.monotonic() + limits.timeout_seconds
    total: int | None = None
    pages = 0
    outcome: dict | None = None
    buffer = bytearray()
    fd = child.stdout.fileno()
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        eof = False
        while not eof:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                child.kill()
                raise TextExtractionError("reading the PDF took too long")
            if not selector.select(remaining):
                continue
            chunk = os.read(fd, 1024 * 1024)
            eof = not chunk
            buffer += chunk
            while (end := buffer.find(b"\n")) >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 1]
                message = _parse(line)
                if "page" in message:
                    number, text = message["page"], message.get("text")
                    if (
                        total is None
                        or number != pages + 1
                        or number > limits.max_pages
                        or not isinstance(text, str)
                        or len(text) > limits.page_chars
                    ):
                        raise _garbled(child)
                    pages = number
                    on_page(number, clean_text(text))
                elif "pages" in message:
                    total = message["pages"]
                    if not isinstance(total, int) or total < 0:
                        raise _garbled(child)
                else:
                    outcome = message
            if len(buffer) > limits.line_bytes:
                raise _garbled(child)
    try:
        status = child.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        child.kill()
        raise TextExtractionError("reading the PDF took too long") from None
    if outcome and "error" in outcome:
        raise TextExtractionError(str(outcome["error"])[:200])
    if status == -signal.SIGXCPU:
        raise TextExtractionError("reading the PDF took too long")
    if status == 3 or status == -signal.SIGKILL:  # no memory left to report, or OOM-killed
        raise TextExtractionError("the PDF needs too much memory to read")
    if status != 0 or not outcome or not outcome.get("done") or total is None:
        raise TextExtractionError("the PDF is malformed or damaged")
    return Extraction(page_total=total, pages=pages, truncated=bool(outcome.get("truncated")))


def _parse(line: bytes) -> dict:
    try:
        message = json.loads(line)
    except ValueError:
        message = None
    if not isinstance(message, dict):
        raise TextExtractionError("the PDF is malformed or damaged")
    return message


def _garbled(child: subprocess.Popen) -> TextExtractionError:
    child.kill()
    return TextExtractionError("the PDF is malformed or damaged")


# --- The job ----------------------------------------------------------------------------


def document_extract_text(*, document_id: uuid.UUID | str) -> Outcome:
    """Run the text job for one document; what happened (for the task result).

    Never raises for a PDF that cannot be read: the document's text ends ``failed`` with
    the reason. Raises only for the unexpected, after marking it ``failed``.
    """
    return TextJob.run(uuid.UUID(str(document_id)))


class TextJob(Job):
    """The text job on the document's ``text_*`` status and claim fields."""

    model = Document
    name = "document"
    waiting = (TextStatus.PENDING,)
    running = (TextStatus.EXTRACTING,)
    first_step = TextStatus.EXTRACTING
    failed = TextStatus.FAILED
    status_field = "text_status"
    token_field = "text_claim_token"  # noqa: S105 (a field name)
    heartbeat_field = "text_heartbeat_at"
    attempts_field = "text_attempt_count"
    error_field = "text_error"
    # No progress field: a PDF's text takes seconds; the status says enough.
    crash_message = "internal error while reading the PDF's text"
    logger = logger

    stale_setting = "DOCUMENT_TEXT_STALE_SECONDS"
    heartbeat_setting = "DOCUMENT_TEXT_HEARTBEAT_SECONDS"
    attempts_setting = "DOCUMENT_TEXT_MAX_ATTEMPTS"
    scratch_setting = "DOWNLOAD_TEMP_DIR"

    def changes(self, to: str, **fields: object) -> dict[str, Any]:
        return text_changes(to, **fields)

    def log(self, old: str | None, new: str, **details: object) -> None:
        log_text_transition(self.pk, old, new, **details)

    def work(self, scratch: Path) -> None:
        pdf = scratch / "document.pdf"
        _copy_stored_file(self.row.storage_key, pdf)
        with self.holding_claim():  # a previous run's pages, if any
            DocumentPage.objects.filter(document_id=self.pk).delete()
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
        self.move(
            TextStatus.COMPLETED,
            {"page_count": result.pages, "text_error": note},
            pages=result.pages,
            page_total=result.page_total,
        )

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
                    owner_id=self.row.owner_id,
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
            mine = Document.objects.select_for_update().filter(
                pk=self.pk, text_claim_token=self.token
            )
            if mine.exists():
                DocumentPage.objects.filter(document_id=self.pk).delete()


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
