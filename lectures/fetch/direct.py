"""A direct MP4/M4A file downloaded whole: streamed to disk, resumed with ``Range`` after a
drop, for a server that cannot serve the file in ranges as it is read
(:mod:`~lectures.fetch.ranged` decides, and hands over its first answer).

The size limit is checked against the declared length and again while the body streams;
transient failures are retried with back-off (see :mod:`~lectures.fetch.retry`), and an
attempt that moved the download forward resumes where it stopped, when the file has an
``ETag`` or a ``Last-Modified`` that shows it is still the same; without either it starts
again. The helpers for ``Range`` answers (``Content-Range``, validators, ``If-Range``) are
shared with :mod:`~lectures.fetch.ranged`.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from pathlib import Path
from typing import BinaryIO

import httpx

from lectures.fetch.errors import (
    NotMediaSource,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
)
from lectures.fetch.guard import SourcePolicy, display_host
from lectures.fetch.media import is_media_type, is_playlist_type, media_type
from lectures.fetch.progress import Progress
from lectures.fetch.retry import with_retries
from lectures.fetch.transport import READ_FAILURES, GuardedSession, open_url

__all__ = [
    "CONTENT_RANGE",
    "FileDownload",
    "Opened",
    "Validators",
    "if_range_validator",
    "validators",
]

# ``Content-Range: bytes first-last/size`` (the size ``*`` when unknown).
CONTENT_RANGE = re.compile(r"^bytes\s+(\d+)-(\d+)/(\d+|\*)$", re.IGNORECASE)


# A response already received, and the URL it came from after redirects.
Opened = tuple[httpx.Response, str]


# An answer's ``ETag`` and ``Last-Modified``: what identifies the version of the file.
Validators = tuple[str | None, str | None]


def validators(response: httpx.Response, like: Validators | None = None) -> Validators:
    """The answer's ``ETag`` and ``Last-Modified``; with ``like`` (an earlier answer's),
    only those ``like`` has: a later answer may add a validator, but must repeat the
    earlier one's unchanged (RFC 9110 15.3.7: a 206 carries what a 200 would)."""
    etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
    if like is not None:
        etag = etag if like[0] is not None else None
        last_modified = last_modified if like[1] is not None else None
    return etag, last_modified


def if_range_validator(etag: str | None, last_modified: str | None) -> str | None:
    """What an ``If-Range`` may name (RFC 9110 13.1.5): a strong entity tag, or the date
    when there is no entity tag at all; a weak tag allows neither. ``None``: send none, and
    compare the answer's validators instead."""
    if etag:
        return None if etag.startswith("W/") else etag
    return last_modified


class FileDownload:
    """A direct file, streamed to disk, resumed with ``Range`` after a failure."""

    def __init__(self, client: GuardedSession, policy: SourcePolicy, progress: Progress) -> None:
        self._client = client
        self._policy = policy
        self._progress = progress
        self._total: int | None = None
        self._version: Validators = (None, None)
        self._used_opened = False

    def run(self, url: str, dest: Path, opened: Opened) -> None:
        """Fetch ``url`` into ``dest``. ``opened``: the answer to the request the caller
        already sent for the whole file (``Range: bytes=0-``), read as the first attempt."""
        with open(dest, "wb") as out:
            with_retries(self._policy, lambda: self._attempt(url, out, opened))

    def _attempt(self, url: str, out: BinaryIO, opened: Opened) -> None:
        offset = out.tell()
        headers: dict[str, str] = {}
        if offset and self._version != (None, None):
            # Only resume the same representation: a changed file answers 200 instead, or
            # a 206 whose validators differ. With none to compare, start again from 0.
            headers["Range"] = f"bytes={offset}-"
            if_range = if_range_validator(*self._version)
            if if_range:
                headers["If-Range"] = if_range
        first = not self._used_opened
        self._used_opened = self._used_opened or first
        answer = (
            nullcontext(opened) if first else open_url(self._client, url, self._policy, headers)
        )
        with answer as (response, final_url):
            host = display_host(final_url)
            content_type = media_type(response)
            if is_playlist_type(content_type):
                # The first answer was a media file: a playlist in its place is another file.
                raise UnsupportedSource(f"the recording on {host} changed during the download")
            if not is_media_type(content_type):
                raise NotMediaSource("source is not a video")
            offset = self._start_position(response, out, offset if "Range" in headers else 0, host)
            written = self._stream_body(response, out, offset, host)
        if self._total is not None and written < self._total:
            raise TransientSourceError(
                f"connection to {host} ended early", made_progress=written > offset
            )
        out.flush()

    def _start_position(
        self, response: httpx.Response, out: BinaryIO, offset: int, host: str
    ) -> int:
        """Where this response's body starts in the file (``offset``: where it was asked
        to); checks size, Content-Range and, on a resume, that the file is the same."""
        if response.status_code == 206:
            match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != offset:
                raise UnsupportedSource(f"{host} answered a resume request with the wrong range")
            if offset and validators(response, like=self._version) != self._version:
                raise UnsupportedSource(f"the recording on {host} changed during the download")
            if match.group(3) != "*":
                self._total = int(match.group(3))
        else:
            # 200: a full body, whether we asked for a range or not.
            offset = 0
            length = response.headers.get("content-length")
            self._total = int(length) if length and length.isdigit() else None
        if not offset:  # from the start: what an earlier attempt wrote goes
            out.seek(0)
            out.truncate()
            self._version = validators(response)
        if self._total is not None and self._total > self._policy.max_bytes:
            raise SourceTooLarge(self._policy.max_bytes)
        return offset

    def _stream_body(self, response: httpx.Response, out: BinaryIO, offset: int, host: str) -> int:
        written = offset
        try:
            # No chunk size: httpx's re-chunking buffer would lose the bytes it holds when
            # the connection drops, and the resume offset must count every byte received.
            for chunk in response.iter_raw():
                written += len(chunk)
                if written > self._policy.max_bytes:
                    raise SourceTooLarge(self._policy.max_bytes)
                out.write(chunk)
                self._progress(written, self._total)
        except READ_FAILURES:
            raise TransientSourceError(
                f"connection to {host} was lost", made_progress=written > offset
            ) from None
        return written
