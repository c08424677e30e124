"""A direct recording (MP4, M4A, …) read while it downloads: a seekable file object over
guarded HTTP ``Range`` requests.

Downloading the whole file and then reading it again with FFmpeg does the work twice, one
step after the other. Here FFmpeg reads :class:`RangedRecording` (``av.open`` on it) while
a thread fetches ahead of it. A run of reading is one ``Range: bytes=N-`` request streamed
by that thread into a short queue (:class:`~lectures.fetch.stream.StreamedRecording`). A
forward seek of up to :data:`READ_THROUGH_BYTES` reads through what the thread is
fetching anyway; a longer one, or a seek back, ends that request and starts another at
the new offset. An MP4 whose index (``moov``) comes last is read as FFmpeg reads a local
file: the head, then the index at the end, then the samples from the start, each byte
fetched about once.

Everything a download to a file does holds here too: the SSRF guard on every request and
redirect (one :class:`~lectures.fetch.transport.GuardedSession`, so one deadline), the
size limit on the declared length, retries with back-off, and a dropped connection
resumed where it stopped, with ``If-Range`` so a file that changed meanwhile is never
spliced. What all requests fetch together is bounded too (:data:`FETCH_BUDGET_FACTOR`),
so a file laid out to make the reader jump back and forth cannot make it fetch without end.

The first request asks for ``bytes=0-``. A server that answers with the whole file (no
ranges), with a range of unknown length, or with neither ``ETag`` nor ``Last-Modified``
(nothing would show a later range coming from a replaced file), gets the file downloaded
whole into the scratch directory first (that answer is its first attempt); a playlist
answer is read as HLS.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx

from lectures.fetch.direct import (
    CONTENT_RANGE,
    FileDownload,
    Opened,
    Validators,
    if_range_validator,
    validators,
)
from lectures.fetch.errors import (
    NotMediaSource,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
)
from lectures.fetch.guard import SourcePolicy, check_stream_url, display_host
from lectures.fetch.media import is_media_type, is_playlist_type, looks_like_hls, media_type
from lectures.fetch.progress import Progress, ProgressCallback
from lectures.fetch.retry import retried_chunks, with_retries
from lectures.fetch.stream import StreamedRecording, stream_hls
from lectures.fetch.transport import GuardedSession, lost_connection, open_url

__all__ = [
    "FETCH_BUDGET_FACTOR",
    "READ_THROUGH_BYTES",
    "DownloadedRecording",
    "RangedRecording",
    "Recording",
    "stream_recording",
]

# Chunks the fetching thread keeps ahead of the reader (a network read is up to 1 MiB).
_AHEAD_CHUNKS = 4
# A forward seek this short reads through: about what the thread has fetched ahead anyway,
# and less than a new request's round trip costs on a real link.
READ_THROUGH_BYTES = 4 * 1024 * 1024
# All requests together may fetch this many times the file's size (plus one read-ahead per
# request): a seek never costs more than the gap it skips, so a real file stays under 2.
FETCH_BUDGET_FACTOR = 2


class RangedRecording(io.RawIOBase):
    """The file at ``url`` (``size`` bytes), read through ``Range`` requests as FFmpeg
    seeks; ``first`` is the open answer to ``bytes=0-``, read as the first run, and
    ``version`` its ``ETag`` and ``Last-Modified``, which every later answer must match."""

    def __init__(
        self,
        client: GuardedSession,
        url: str,
        policy: SourcePolicy,
        *,
        size: int,
        version: Validators,
        first: tuple[ExitStack, Opened],
        progress: ProgressCallback,
    ) -> None:
        super().__init__()
        self._client = client
        self._url = url
        self._policy = policy
        self._size = size
        self._version = version
        self._progress = Progress(progress)
        self._pos = 0  # the reader's position
        self._run_pos = 0  # where the current run's next byte is in the file
        self._delivered = 0  # bytes handed to the reader or read through, for progress
        self._fetched = 0
        self._fetched_lock = threading.Lock()
        self._budget = FETCH_BUDGET_FACTOR * size + READ_THROUGH_BYTES
        self.requests = 1
        self._error: BaseException | None = None
        self._run: StreamedRecording | None = self._start_run(0, first)

    # --- io.RawIOBase -------------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        """Raises the download's error, and again on every later read: a failed fetch
        fails the recording, wherever FFmpeg reads next."""
        if self._error is not None:
            raise self._error
        left = self._size - self._pos
        size = left if size < 0 else min(size, left)
        if size <= 0:
            return b""
        try:
            run = self._run_at(self._pos)
            data = run.read(size)  # fewer bytes when a network chunk ends first
            if not data:  # the run ended before the file did: the server's fault
                raise UnsupportedSource(f"{display_host(self._url)} ended the recording early")
        except BaseException as error:
            self._error = error
            raise
        self._pos += len(data)
        self._run_pos = self._pos
        self._advance(len(data))
        return data

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        """Only moves the position: the next ``read`` decides how to get there (FFmpeg
        asks for the size by seeking to the end and back, which costs nothing here)."""
        if whence == os.SEEK_CUR:
            offset += self._pos
        elif whence == os.SEEK_END:
            offset += self._size
        if offset < 0:
            raise ValueError("negative seek position")
        self._pos = offset
        return offset

    def close(self) -> None:
        self._stop_run()
        super().close()

    @property
    def bytes_read(self) -> int:
        """Bytes every request fetched together (what crossed the network)."""
        return self._fetched

    # --- the runs -------------------------------------------------------------------------

    def _run_at(self, position: int) -> StreamedRecording:
        """The run that delivers ``position`` next: the current one, read through a short
        gap, or a new request."""
        gap = position - self._run_pos
        if self._run is not None and 0 < gap <= READ_THROUGH_BYTES:
            skipped = self._run.skip(gap)
            self._run_pos += skipped
            self._advance(skipped)
        if self._run is None or self._run_pos != position:
            self._stop_run()
            self.requests += 1
            self._run = self._start_run(position, None)
            self._run_pos = position
        return self._run

    def _advance(self, size: int) -> None:
        self._delivered += size
        self._progress(min(self._delivered, self._size), self._size)

    def _stop_run(self) -> None:
        if self._run is not None:
            self._run.close()
            self._run = None

    def _start_run(self, offset: int, first: tuple[ExitStack, Opened] | None) -> StreamedRecording:
        position = offset
        opened = first
        run: StreamedRecording

        def attempt() -> Iterator[bytes]:
            nonlocal position, opened
            if opened is not None:
                (stack, (response, _final)), opened = opened, None
            else:
                stack = ExitStack()
                response, _final = stack.enter_context(self._open(position))
            run.hang_up_on_close(response)
            with stack:
                if run.stopping.is_set():
                    return  # closed while this request went out: nobody reads it
                host = display_host(self._url)
                with lost_connection(host):
                    # No chunk size: httpx would hold back bytes a dropped connection loses.
                    for chunk in response.iter_raw():
                        chunk = chunk[: self._size - position]
                        self._count(len(chunk))
                        position += len(chunk)
                        yield chunk
                        if position >= self._size:
                            return
            raise TransientSourceError(f"connection to {host} ended early")

        def chunks() -> Iterator[bytes]:
            return retried_chunks(self._policy, attempt, stop=run.stopping)

        run = StreamedRecording(chunks, ahead=_AHEAD_CHUNKS)
        return run.start()

    @contextmanager
    def _open(self, position: int) -> Iterator[Opened]:
        headers = {"Range": f"bytes={position}-"}
        if_range = if_range_validator(*self._version)
        if if_range:
            headers["If-Range"] = if_range
        with open_url(self._client, self._url, self._policy, headers) as (response, final_url):
            host = display_host(final_url)
            changed = validators(response, like=self._version) != self._version
            if response.status_code != 206 or changed:
                raise UnsupportedSource(f"the recording on {host} changed during the download")
            match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
            if not match or int(match.group(1)) != position or match.group(3) != str(self._size):
                raise UnsupportedSource(f"{host} answered a range request with the wrong range")
            yield response, final_url

    def _count(self, size: int) -> None:
        with self._fetched_lock:
            self._fetched += size
            if self._fetched > self._budget:
                raise UnsupportedSource(
                    "recording is laid out in a way that cannot be read while it downloads"
                )


class DownloadedRecording(io.FileIO):
    """A recording downloaded whole into the scratch directory (its server sends no
    ranges), opened for reading; ``bytes_read`` is its size (what was fetched)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, "r")
        self.bytes_read = os.fstat(self.fileno()).st_size


# What the job's extraction reads: each is a file object with ``bytes_read`` (fetched).
Recording = RangedRecording | DownloadedRecording | StreamedRecording


@contextmanager
def stream_recording(
    url: str, scratch: Path, policy: SourcePolicy, progress: ProgressCallback
) -> Iterator[Recording]:
    """The recording at ``url`` as a file object FFmpeg reads while it downloads: HLS
    demuxed as the segments arrive, a direct file through ``Range`` requests.

    The host allow-list is checked here too, so no caller can skip it by mistake.
    """
    if looks_like_hls(url):
        with stream_hls(url, scratch, policy, progress) as recording:
            yield recording
        return
    check_stream_url(url, policy)
    with GuardedSession(policy) as client, ExitStack() as stack:

        def first_answer() -> Opened:
            with ExitStack() as attempt:
                opened = attempt.enter_context(open_url(client, url, policy, {"Range": "bytes=0-"}))
                stack.enter_context(attempt.pop_all())
                return opened

        response, final_url = with_retries(policy, first_answer)
        content_type = media_type(response)
        if is_playlist_type(content_type):
            stack.close()
            with stream_hls(url, scratch, policy, progress) as recording:
                yield recording
            return
        if not is_media_type(content_type):
            raise NotMediaSource("source is not a video")
        size = _ranged_size(response)
        if size is None or validators(response) == (None, None):
            # No ranges (or no length), or nothing that tells one version of the file from
            # another (a later range might come from a replaced file): the answer is the
            # first attempt of a whole download.
            path = scratch / "source"
            FileDownload(client, policy, Progress(progress)).run(
                url, path, opened=(response, final_url)
            )
            stack.close()
            with DownloadedRecording(path) as recording:
                yield recording
            return
        if size > policy.max_bytes:
            raise SourceTooLarge(policy.max_bytes)
        recording = RangedRecording(
            client,
            url,
            policy,
            size=size,
            version=validators(response),
            first=(stack.pop_all(), (response, final_url)),
            progress=progress,
        )
        try:
            yield recording
        finally:
            recording.close()


def _ranged_size(response: httpx.Response) -> int | None:
    """The file's size when the answer is a range of it (206 with a known length)."""
    if response.status_code != 206:
        return None
    match = CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if not match or match.group(1) != "0" or match.group(3) == "*":
        return None
    return int(match.group(3))
