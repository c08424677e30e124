"""What makes an upload a PDF, and how its file name is made safe for display."""

from __future__ import annotations

from core.exceptions import InvalidInput, UnsupportedFileType, UploadTooLarge
from core.uploads import FILENAME_MAX_LENGTH as FILENAME_MAX_LENGTH
from core.uploads import clean_filename as clean_upload_filename
from core.uploads import too_large_message

PDF_MAGIC = b"%PDF-"
PDF_EXTENSION = ".pdf"
FALLBACK_STEM = "document"


def clean_filename(raw: str) -> str:
    """The name to show for an uploaded PDF (see ``core.uploads.clean_filename``)."""
    return clean_upload_filename(raw, fallback=FALLBACK_STEM)


def check_pdf_name(name: str) -> None:
    """415 unless the (cleaned) name ends in ``.pdf``, whatever the declared content type."""
    if not name.lower().endswith(PDF_EXTENSION):
        raise UnsupportedFileType("Only PDF files can be uploaded: the name must end in .pdf.")


def check_pdf_magic(head: bytes) -> None:
    """415 unless the bytes start with ``%PDF-``."""
    if not head.startswith(PDF_MAGIC):
        raise UnsupportedFileType("The file is not a PDF (it does not start with %PDF-).")


def check_size(size: int, max_bytes: int) -> None:
    if size == 0:
        raise InvalidInput("The submitted file is empty.", field="file")
    if size > max_bytes:
        raise UploadTooLarge(too_large_message(max_bytes))
