"""Reading a PDF upload off the wire: streamed to a temp file, hashed and checked per chunk.

Django's default handlers keep small files in memory and learn the size only at the end.
``PdfUploadHandler`` writes each chunk of the ``file`` part to a temporary file as it
arrives, feeds the same chunk to SHA-256, checks ``%PDF-`` on the first bytes and stops the
request as soon as the file passes ``DOCUMENT_MAX_BYTES``: a 2 GB body is refused after
reading little more than the limit, and never held in memory.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers
from django.http import HttpRequest

from core.exceptions import InvalidInput, QuotaExceeded, UploadTooLarge
from documents.selectors import document_upload_allowance
from documents.validation import (
    PDF_MAGIC,
    check_pdf_magic,
    check_pdf_name,
    clean_filename,
    too_large_message,
)

FILE_FIELD = "file"
# Room for the multipart framing and the small form fields around the file: a body
# declared larger than the limit plus this cannot hold an acceptable file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
QUOTA_MESSAGE = "This upload would take your documents past your storage quota."


class UploadedPdf(TemporaryUploadedFile):
    """A streamed upload on disk, with the SHA-256 of its bytes."""

    sha256: str = ""


class PdfUploadHandler(FileUploadHandler):
    """Accepts one ``file`` part; other file parts are read and dropped."""

    def __init__(
        self, request: HttpRequest | None = None, *, max_bytes: int, quota_bytes: int | None = None
    ) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        # Past this many bytes the upload cannot fit the owner's quota (nor be a duplicate).
        self.quota_bytes = quota_bytes
        self.upload: UploadedPdf | None = None
        self._receiving = False
        self._hash = hashlib.sha256()
        self._head = b""
        self._size = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None) -> None:
        if content_length > self.max_bytes + MULTIPART_OVERHEAD_BYTES:
            raise UploadTooLarge(too_large_message(self.max_bytes))

    def new_file(self, field_name: str, file_name: str, *args: Any, **kwargs: Any) -> None:
        if field_name != FILE_FIELD:
            self._receiving = False
            raise StopFutureHandlers()
        if self.upload is not None:
            self.discard()
            raise InvalidInput("Send exactly one file.", field=FILE_FIELD)
        name = clean_filename(file_name)
        check_pdf_name(name)
        # The declared content type is not trusted: the bytes decide (see check_pdf_magic).
        self.upload = UploadedPdf(name, "application/pdf", 0, None)
        self._receiving = True
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if not self._receiving:
            return None
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self.discard()
            raise UploadTooLarge(too_large_message(self.max_bytes))
        if self.quota_bytes is not None and self._size > self.quota_bytes:
            self.discard()
            raise QuotaExceeded(QUOTA_MESSAGE)
        if len(self._head) < len(PDF_MAGIC):
            self._head += raw_data[: len(PDF_MAGIC) - len(self._head)]
            if len(self._head) == len(PDF_MAGIC):
                self._check_head()
        self._hash.update(raw_data)
        self.upload.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> UploadedPdf | None:
        if not self._receiving:
            return None
        self._receiving = False
        if file_size:
            self._check_head()  # a file shorter than the magic is not a PDF either
        self.upload.size = file_size
        self.upload.sha256 = self._hash.hexdigest()
        self.upload.flush()
        self.upload.seek(0)
        return self.upload

    def upload_interrupted(self) -> None:
        self.discard()

    def discard(self) -> None:
        """Close (and so delete) the temporary file."""
        self._receiving = False
        if self.upload is not None:
            self.upload.close()

    def _check_head(self) -> None:
        try:
            check_pdf_magic(self._head)
        except Exception:
            self.discard()
            raise


def read_pdf_upload(request) -> None:
    """Parse ``request``'s multipart body through ``PdfUploadHandler`` (``request.data``).

    Must run before anything touches ``request.data``. On any failure the temporary file
    is removed at once rather than left to the garbage collector.
    """
    handler = PdfUploadHandler(
        request._request,
        max_bytes=settings.DOCUMENT_MAX_BYTES,
        quota_bytes=document_upload_allowance(owner=request.user),
    )
    request._request.upload_handlers = [handler]
    try:
        request.data  # noqa: B018 - parsing happens on first access
    except BaseException:
        handler.discard()
        raise
