"""Building uploads (multipart bodies, PDFs, streamed bodies) and inspecting storage."""

from __future__ import annotations

import hashlib
import os
import random
import uuid

from django.conf import settings

from core.s3 import s3_transfer_config
from core.storage import storage_walk
from documents.models import Document

S3_BUCKET = "studybuddy-test"
UPLOAD_URL = "/api/documents/upload"
BOUNDARY = "----studybuddy-test-boundary-7MA4YWxkTrZu0gW"


def s3_storage_config(endpoint_url: str, *, location: str = "", bucket: str = S3_BUCKET) -> dict:
    return {
        "BACKEND": "core.s3_storage.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "location": location,
            "default_acl": None,
            "file_overwrite": False,
            "querystring_auth": True,
            "querystring_expire": 300,
            "transfer_config": s3_transfer_config(),
        },
    }


def make_pdf(text: str | None = None, *, padding: int = 0) -> bytes:
    """A small well-formed PDF; ``text`` makes its bytes unique (random by default)."""
    text = text or uuid.uuid4().hex
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
    ]
    body = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, obj in enumerate(objects, start=1):
        offsets.append(len(body))
        body += b"%d 0 obj\n%s\nendobj\n" % (number, obj)
    body += b"%" + b"x" * padding + b"\n" if padding else b""
    xref = len(body)
    body += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    body += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    body += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return body


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def multipart(
    fields: dict[str, str] | None = None,
    files: list[tuple[str, str, bytes, str]] | None = None,
) -> bytes:
    """A multipart/form-data body, file names sent verbatim (UTF-8), as browsers do.

    (Django's test client would apply ``os.path.basename`` to names first.)
    """
    parts = []
    for name, value in (fields or {}).items():
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    for field, filename, content, content_type in files or []:
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{_quoted(filename)}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


def upload(
    client,
    *,
    course=None,
    content: bytes | None = None,
    name: str = "notes.pdf",
    content_type: str = "application/pdf",
    course_id: str | None = None,
    with_file: bool = True,
    with_course: bool = True,
):
    fields = {}
    if with_course:
        fields["course_id"] = course_id if course_id is not None else str(course.id)
    files = []
    if with_file:
        files.append(("file", name, make_pdf() if content is None else content, content_type))
    return client.generic(
        "POST",
        UPLOAD_URL,
        multipart(fields, files),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
    )


def stored_keys() -> list[str]:
    """Every key in the test's storage (documents and anything else)."""
    return sorted(storage_walk(""))


def document_key(document_id) -> str:
    return f"{settings.DOCUMENTS_STORAGE_PREFIX}/{document_id}.pdf"


def upload_temp_files() -> list[str]:
    return os.listdir(settings.FILE_UPLOAD_TEMP_DIR)


def assert_nothing_stored() -> None:
    """No row, no stored file, no temporary upload file left behind."""
    assert Document.objects.count() == 0
    assert stored_keys() == []
    assert upload_temp_files() == []


class StreamedUpload:
    """A multipart body with one PDF of ``file_size`` bytes, generated as it is read.

    Used as ``wsgi.input``: the test never holds the body, so memory measurements see the
    server's side only. ``bytes_read`` tells how much the server consumed.
    """

    _BLOCK = random.Random(7).randbytes(64 * 1024)
    _PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"

    def __init__(self, *, course_id: str, file_size: int, filename: str = "big.pdf") -> None:
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="course_id"\r\n\r\n'
            f"{course_id}\r\n"
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/pdf\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.file_size = file_size
        self.length = len(self.head) + file_size + len(self.tail)
        self.bytes_read = 0

    def file_chunks(self, chunk_size: int = 1024 * 1024):
        """The file's bytes, in order (to compute the expected checksum)."""
        position = 0
        while position < self.file_size:
            size = min(chunk_size, self.file_size - position)
            yield self._file_bytes(position, size)
            position += size

    def expected_sha256(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.file_chunks():
            digest.update(chunk)
        return digest.hexdigest()

    def _file_bytes(self, start: int, size: int) -> bytes:
        out = bytearray()
        head = self._PDF_HEAD
        while size > 0:
            if start < len(head):
                piece = head[start : start + size]
            else:
                offset = (start - len(head)) % len(self._BLOCK)
                piece = self._BLOCK[offset : offset + size]
            out += piece
            start += len(piece)
            size -= len(piece)
        return bytes(out)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.length - self.bytes_read
        size = min(size, self.length - self.bytes_read)
        out = bytearray()
        while size > 0:
            position = self.bytes_read
            file_start = len(self.head)
            file_end = file_start + self.file_size
            if position < file_start:
                piece = self.head[position : position + size]
            elif position < file_end:
                piece = self._file_bytes(position - file_start, min(size, file_end - position))
            else:
                piece = self.tail[position - file_end : position - file_end + size]
            out += piece
            self.bytes_read += len(piece)
            size -= len(piece)
        return bytes(out)

    def readline(self, size: int = -1) -> bytes:  # the WSGI input interface; unused here
        raise NotImplementedError

    def environ(self) -> dict[str, str | object]:
        """The WSGI keys that make the test client read this body as a stream."""
        return {
            "wsgi.input": self,
            "CONTENT_LENGTH": str(self.length),
        }


def stream_upload(client, body: StreamedUpload):
    return client.generic(
        "POST",
        UPLOAD_URL,
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **body.environ(),
    )
