"""Streaming a stored file to the client: ``Range``, ``ETag``, ``Content-Disposition``.

Shared by document files and lecture audio. The bytes stream through Django on every
backend (local disk and S3 alike), so the headers, the range rules and the access checks
are the same everywhere and the bucket stays private.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from rest_framework.negotiation import BaseContentNegotiation

from core.exceptions import NotFound
from core.storage import StorageUnavailable, StoredChunks, StoredFile

logger = logging.getLogger(__name__)

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """File routes answer their own media type whatever ``Accept`` says; errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII ``filename`` fallback plus the exact name as RFC 5987 ``filename*``."""
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(c for c in fallback if c.isprintable() and c not in '"\\').strip()
    if not fallback or fallback.startswith("."):
        fallback = "download" + fallback
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _etag_matches(header: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """``(start, end)`` inclusive for one satisfiable byte range; ``None`` for anything else.

    Several ranges are refused as well: files are PDFs and audio, whose readers ask for
    one range at a time, and multipart/byteranges is not worth its complexity here.
    """
    match = _RANGE.match(header.strip().replace(" ", ""))
    if match is None or size == 0:
        return None
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        suffix = int(last)
        return (max(size - suffix, 0), size - 1) if suffix else None
    start = int(first)
    end = size - 1 if last == "" else min(int(last), size - 1)
    return (start, end) if start <= end else None


def stored_file_response(request: HttpRequest, file: StoredFile) -> HttpResponse:
    """A 200, 206, 304 or 416 answer for ``file``.

    ``If-None-Match`` → 304; ``Range: bytes=a-b`` (one range) → 206 with ``Content-Range``,
    unless ``If-Range`` names another version; any other ``Range`` → 416.
    """
    key, size, etag, content_type = file.key, file.size, file.etag, file.content_type
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return HttpResponse(status=304, headers=headers)

    start, length, status = 0, size, 200
    range_header = request.headers.get("Range")
    if range_header and request.headers.get("If-Range", etag) == etag:
        byte_range = _byte_range(range_header, size)
        if byte_range is None:
            # Built here rather than raised: the 416 must carry Content-Range.
            return JsonResponse(
                {"detail": "Range not satisfiable.", "code": "range_not_satisfiable"},
                status=416,
                headers={**headers, "Content-Range": f"bytes */{size}"},
            )
        start, end = byte_range
        length, status = end - start + 1, 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"

    headers["Content-Disposition"] = content_disposition(file.filename)
    headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        return HttpResponse(status=status, content_type=content_type, headers=headers)
    try:
        chunks = StoredChunks(key, start=start, length=length)
    except FileNotFoundError:
        logger.error("stored file %s is missing (see purge_orphans)", key)
        raise NotFound("The stored file is missing.") from None
    except Exception as exc:  # the backend is down or refuses: not the client's fault
        logger.error("opening stored file %s failed: %s", key, exc)
        raise StorageUnavailable() from exc
    return StreamingHttpResponse(chunks, status=status, content_type=content_type, headers=headers)
