"""What makes an upload a PDF, and how its file name is made safe for display."""

from __future__ import annotations

import unicodedata

from core.exceptions import InvalidInput, UnsupportedFileType, UploadTooLarge
from core.validators import is_control_character

PDF_MAGIC = b"%PDF-"
PDF_EXTENSION = ".pdf"
FILENAME_MAX_LENGTH = 255
FALLBACK_STEM = "document"

# Line and paragraph separators: invisible, and they break single-line displays.
_SEPARATORS = frozenset("\u2028\u2029")


def clean_filename(raw: str) -> str:
    """The name to show for an upload: never a path, one line, at most 255 characters.

    Path parts (either separator) are dropped, control characters and bidi overrides
    removed, white space trimmed; a long name is cut in its stem so the extension stays.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if not is_control_character(c) and c not in _SEPARATORS)
    name = " ".join(name.split())
    stem, dot, extension = name.rpartition(".")
    if not dot:
        stem, extension = name, ""
    stem = stem.strip(" .")
    extension = f".{extension.strip()}" if dot else ""
    if len(extension) > 16:  # not an extension worth keeping whole
        stem, extension = f"{stem}{extension}", ""
    stem = stem[: FILENAME_MAX_LENGTH - len(extension)].rstrip(" .") or FALLBACK_STEM
    return f"{stem}{extension}"


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


def too_large_message(max_bytes: int) -> str:
    return f"The file is larger than the limit of {max_bytes} bytes."
