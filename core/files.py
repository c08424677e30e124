"""Streaming a stored file to the client: ``Range``, ``ETag``, ``Content-Disposition``.

Shared by document files and lecture audio. The bytes stream through Django on every
backend (local disk and S3 alike), so the headers, the range rules and the access checks
are the same everywhere and the bucket stays private.

The rules are RFC 9110's: preconditions (``If-Match``, ``If-None-Match``) are evaluated
first by Django's own ``get_conditional_response`` (§13.2.2), then ``If-Range`` (§13.1.5),
then ``Range`` (§14.2), which only a GET honours.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils.cache import get_conditional_response
from django.utils.http import parse_etags
from rest_framework.negotiation import BaseContentNegotiation

from core.exceptions import ObjectNotFound, error_response
from core.storage import StorageUnavailable, StoredChunks, StoredFile

logger = logging.getLogger(__name__)

# ASCII digits only: ``\d`` and ``int()`` would also take other scripts' digits.
_RANGE_SPEC = re.compile(r"([0-9]*)-([0-9]*)")
# Past 18 digits a position is beyond any stored file; reading it whole would let a
# 5,000-digit header hit Python's int() limit (a 500) for nothing.
_MAX_DIGITS = 18
_BEYOND_ANY_FILE = 10**_MAX_DIGITS
# No stored file has a modification date: these must be ignored (RFC 9110 §13.1.3,
# §13.1.4), where Django's helper would answer If-Unmodified-Since with a 412.
_DATE_PRECONDITIONS = ("HTTP_IF_MODIFIED_SINCE", "HTTP_IF_UNMODIFIED_SINCE")


class IgnoreAcceptNegotiation(BaseContentNegotiation):
    """File routes answer their own media type whatever ``Accept`` says; errors are JSON."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def content_disposition(filename: str, *, disposition: str = "attachment") -> str:
    """RFC 6266: an ASCII ``filename`` fallback plus the exact name as RFC 5987 ``filename*``.

    Not Django's ``content_disposition_header``: it sends either ``filename`` or
    ``filename*``, so a non-ASCII name reaches old clients with no name at all.
    """
    fallback = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode()
    fallback = "".join(c for c in fallback if c.isprintable() and c not in '"\\').strip()
    if not fallback or fallback.startswith("."):
        fallback = "download" + fallback
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


class _Unsatisfiable(Exception):
    """The ``Range`` is answered 416: no range in it is satisfiable, or it is malformed."""


def _position(digits: str) -> int:
    digits = digits.lstrip("0") or "0"
    return _BEYOND_ANY_FILE if len(digits) > _MAX_DIGITS else int(digits)


def _byte_range(value: str, size: int) -> tuple[int, int] | None:
    """The one ``(first, last)`` byte range (inclusive) to answer with 206, or ``None`` to
    answer the whole file with 200; ``_Unsatisfiable`` for a 416.

    RFC 9110 §14.1.1 and §14.2: an unknown range unit is ignored; a syntactically invalid
    bytes range set is refused (416); so is a set of which no range is satisfiable
    (§15.5.17). Several ranges with at least one satisfiable answer the whole file: the
    server may ignore ``Range`` (§14.2), PDF and audio readers ask for one range at a time,
    and each part of a ``multipart/byteranges`` would cost a storage request of its own.
    """
    unit, equals, range_set = value.partition("=")
    if not equals:  # not a ranges-specifier at all: refused, like a malformed byte range set
        raise _Unsatisfiable
    if unit.strip().lower() != "bytes":  # range units are case-insensitive (§14.1)
        return None
    specs = [spec.strip() for spec in range_set.split(",")]
    specs = [spec for spec in specs if spec]  # a list may have empty elements (§5.6.1)
    satisfiable: list[tuple[int, int]] = []
    for spec in specs:
        match = _RANGE_SPEC.fullmatch(spec)
        if match is None or match.groups() == ("", ""):
            raise _Unsatisfiable
        first, last = match.groups()
        if first:  # int-range: first-pos "-" [ last-pos ]
            start = _position(first)
            end = _position(last) if last else size - 1
            if last and end < start:
                raise _Unsatisfiable  # invalid, not just unsatisfiable (§14.1.1)
            if start < size:
                satisfiable.append((start, min(end, size - 1)))
        else:  # suffix-range: the last N bytes, unsatisfiable when N is 0
            suffix = _position(last)
            if suffix and size:
                satisfiable.append((max(size - suffix, 0), size - 1))
    if not satisfiable:
        raise _Unsatisfiable
    return satisfiable[0] if len(specs) == 1 else None


def _if_range_holds(request: HttpRequest, etag: str) -> bool:
    """RFC 9110 §13.1.5: without ``If-Range`` the range applies; with it, only when it is
    exactly our entity tag compared strongly (a weak tag or a date never matches: the files
    have no modification date)."""
    value = request.headers.get("If-Range")
    if value is None:
        return True
    tags = parse_etags(value)
    return len(tags) == 1 and tags[0] == etag and not etag.startswith("W/")


def _precondition_answer(request: HttpRequest, etag: str) -> int | None:
    """304 or 412 when ``If-None-Match`` or ``If-Match`` decide the answer, else ``None``.

    Django's ``get_conditional_response`` evaluates them (RFC 9110 §13.2.2: If-Match 412,
    If-None-Match 304 on GET/HEAD, 412 otherwise), on a copy of the request without the
    date preconditions, which a file with no modification date must ignore.
    """
    probe = HttpRequest()
    probe.method, probe.path = request.method, request.path
    probe.META = {k: v for k, v in request.META.items() if k not in _DATE_PRECONDITIONS}
    answer = get_conditional_response(probe, etag=etag)
    return None if answer is None else answer.status_code


def stored_file_response(request: HttpRequest, file: StoredFile) -> HttpResponse:
    """A 200, 206, 304, 412 or 416 answer for ``file``, per RFC 9110.

    ``If-Match`` not matching → 412; ``If-None-Match`` matching → 304. A GET with one
    satisfiable byte range → 206 with ``Content-Range``, unless ``If-Range`` names another
    version; no range satisfiable or a malformed byte range → 416. HEAD, an unknown range
    unit and several ranges → 200 with the whole file.
    """
    key, size, etag, content_type = file.key, file.size, file.etag, file.content_type
    headers = {
        "ETag": etag,
        "Accept-Ranges": "bytes",
        "Cache-Control": "private, no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    precondition = _precondition_answer(request, etag)
    if precondition == 304:
        return HttpResponse(status=304, headers=headers)
    if precondition is not None:
        return error_response(
            "The file does not match If-Match.",
            "precondition_failed",
            status=precondition,
            headers=headers,
        )

    start, length, status = 0, size, 200
    range_header = request.headers.get("Range")
    # §14.2: GET is the only method with range semantics; a server MUST ignore it elsewhere.
    if range_header is not None and request.method == "GET" and _if_range_holds(request, etag):
        try:
            byte_range = _byte_range(range_header, size)
        except _Unsatisfiable:
            # Built here rather than raised: the 416 must carry Content-Range (§15.5.17).
            return error_response(
                "Range not satisfiable.",
                "range_not_satisfiable",
                status=416,
                headers={**headers, "Content-Range": f"bytes */{size}"},
            )
        if byte_range is not None:
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
        raise ObjectNotFound("The stored file is missing.") from None
    except Exception as exc:  # the backend is down or refuses: not the client's fault
        logger.error("opening stored file %s failed: %s", key, exc)
        raise StorageUnavailable() from exc
    return StreamingHttpResponse(chunks, status=status, content_type=content_type, headers=headers)
