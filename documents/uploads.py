"""Reading a PDF upload off the wire: streamed to a temp file, hashed and checked per chunk.

``PdfUploadHandler`` is ``core.uploads``' streamed handler (a temporary file written chunk
by chunk, the request stopped as soon as the file passes ``DOCUMENT_MAX_BYTES``) with what
a PDF adds: the ``.pdf`` name, ``%PDF-`` checked on the first bytes, and the SHA-256 fed
with the same chunks, for de-duplication without a second read.
"""

from __future__ import annotations

from django.conf import settings

from core.exceptions import QuotaExceeded
from core.uploads import StreamedUploadHandler, read_streamed_upload
from documents.models import PDF_CONTENT_TYPE
from documents.selectors import document_upload_allowance
from documents.validation import FALLBACK_STEM, PDF_MAGIC, check_pdf_magic, check_pdf_name

QUOTA_MESSAGE = "This upload would take your documents past your storage quota."


class PdfUploadHandler(StreamedUploadHandler):
    """Accepts one ``file`` part that is a PDF; other file parts are read and dropped."""

    head_size = len(PDF_MAGIC)
    hashed = True
    # The declared content type is not trusted: the bytes decide (see check_pdf_magic).
    content_type = PDF_CONTENT_TYPE
    filename_fallback = FALLBACK_STEM

    def __init__(self, request=None, *, max_bytes: int, quota_bytes: int | None = None) -> None:
        super().__init__(request, max_bytes=max_bytes)
        # Past this many bytes the upload cannot fit the owner's quota (nor be a duplicate).
        self.quota_bytes = quota_bytes

    def check_name(self, name: str) -> None:
        check_pdf_name(name)

    def check_head(self, head: bytes) -> None:
        check_pdf_magic(head)

    def check_size(self, size: int) -> None:
        if self.quota_bytes is not None and size > self.quota_bytes:
            raise QuotaExceeded(QUOTA_MESSAGE)


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
    read_streamed_upload(request, handler)
