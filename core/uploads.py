"""Reading one uploaded file off the wire: streamed to a temp file, size checked per chunk.

Django's default handlers keep small files in memory and learn the size only at the end.
``StreamedUploadHandler`` writes each chunk of the ``file`` part to a temporary file as it
arrives and stops the request as soon as the file passes its limit: a 2 GB body is
refused after reading little more than the limit, and never held in memory. An app adds
what its files need by subclassing it (a name check, a check of the first bytes, a
checksum computed on the way): see ``documents/uploads.py``.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopFutureHandlers

from core.exceptions import InvalidInput, UploadTooLarge
from core.validators import is_control_character

FILE_FIELD = "file"
# Room for the multipart framing and the small form fields around the file: a body
# declared larger than the limit plus this cannot hold an acceptable file.
MULTIPART_OVERHEAD_BYTES = 64 * 1024
FILENAME_MAX_LENGTH = 255
FALLBACK_STEM = "file"

# Line and paragraph separators: invisible, and they break single-line displays.
_SEPARATORS = frozenset("\u2028\u2029")


def clean_filename(raw: str, *, fallback: str = FALLBACK_STEM) -> str:
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
    stem = stem[: FILENAME_MAX_LENGTH - len(extension)].rstrip(" .") or fallback
    return f"{stem}{extension}"


def too_large_message(max_bytes: int) -> str:
    return f"The file is larger than the limit of {max_bytes} bytes."


class StreamedUpload(TemporaryUploadedFile):
    """A streamed upload on disk; ``sha256`` is set when its handler hashes."""

    sha256: str = ""


class StreamedUploadHandler(FileUploadHandler):
    """Accepts one ``file`` part; other file parts are read and dropped.

    Subclasses may set ``head_size`` and implement ``check_head`` (the file's first bytes,
    checked as soon as they arrive), ``check_name``, ``content_type`` (the declared one is
    not trusted), ``hashed`` (SHA-256 of the bytes, computed while they stream) and
    ``filename_fallback`` (the name's stem when nothing of it is left after cleaning).
    """

    head_size = 0
    hashed = False
    filename_fallback = FALLBACK_STEM
    content_type = "application/octet-stream"

    def __init__(self, request=None, *, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.upload: StreamedUpload | None = None
        self._receiving = False
        self._hash = hashlib.sha256() if self.hashed else None
        self._head = b""
        self._size = 0

    # --- What a subclass checks -----------------------------------------------------------

    def check_name(self, name: str) -> None:
        """Refuse the (cleaned) file name by raising a ``DomainError``."""

    def check_head(self, head: bytes) -> None:
        """Refuse the file by its first ``head_size`` bytes (or fewer: the whole file)."""

    def check_size(self, size: int) -> None:
        """Refuse the file by the bytes received so far (a quota, say), while it streams."""

    # --- Django's upload handler interface ------------------------------------------------

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
        name = clean_filename(file_name, fallback=self.filename_fallback)
        self.check_name(name)
        self.upload = StreamedUpload(name, self.content_type, 0, None)
        self._receiving = True
        raise StopFutureHandlers()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        if not self._receiving:
            return None
        self._size += len(raw_data)
        if self._size > self.max_bytes:
            self.discard()
            raise UploadTooLarge(too_large_message(self.max_bytes))
        try:
            self.check_size(self._size)
        except Exception:
            self.discard()
            raise
        if len(self._head) < self.head_size:
            self._head += raw_data[: self.head_size - len(self._head)]
            if len(self._head) == self.head_size:
                self._check_head()
        if self._hash is not None:
            self._hash.update(raw_data)
        self.upload.write(raw_data)
        return None

    def file_complete(self, file_size: int) -> StreamedUpload | None:
        if not self._receiving:
            return None
        self._receiving = False
        if file_size and len(self._head) < self.head_size:
            self._check_head()  # a file shorter than the head is checked whole
        self.upload.size = file_size
        if self._hash is not None:
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
            self.check_head(self._head)
        except Exception:
            self.discard()
            raise


def read_streamed_upload(request, handler: StreamedUploadHandler) -> None:
    """Parse the DRF ``request``'s multipart body through ``handler`` (``request.data``).

    Must run before anything touches ``request.data``. On any failure the temporary file
    is removed at once rather than left to the garbage collector.
    """
    request._request.upload_handlers = [handler]
    try:
        request.data  # noqa: B018 - parsing happens on first access
    except BaseException:
        handler.discard()
        raise
