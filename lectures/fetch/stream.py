"""A recording read while it downloads: HLS segments demuxed as they arrive.

Downloading every segment into a scratch file and then reading that file again with FFmpeg
does the work twice, one step after the other. Here a thread fetches the segments through
the guarded client (with retries, the size limit and the download's deadline) and hands
them, in order, through a short queue to :class:`StreamedRecording`, a file object FFmpeg
reads (``av.open`` on it): the audio packets are written to the output while the next
segments arrive, and no video lands on disk. A failure of the download comes out
of ``read`` as the download's own error, which PyAV raises again out of the demuxer; a
reader that stops early (no audio, the job's claim lost) stops the thread, hanging up on
the answer it is reading (a stalled server would hold it until its read time-out).
:mod:`~lectures.fetch.ranged` runs each of its ``Range`` requests through one too.
"""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from core.logging import carry_context
from lectures.fetch.guard import SourcePolicy, check_stream_url
from lectures.fetch.hls import HLSDownload
from lectures.fetch.progress import Progress, ProgressCallback
from lectures.fetch.transport import GuardedSession, abort_response

__all__ = ["StreamedRecording", "stream_hls"]

# Chunks of up to 1 MiB (a network read; 256 KiB from a segment past the memory bound):
# at most ~16 MiB in flight, whatever the recording's length.
_QUEUE_CHUNKS = 16
_END = object()


class StreamedRecording:
    """A file object over chunks a producer thread fetches; ``read`` blocks for the next.

    At most ``ahead`` chunks wait in the queue: memory stays flat whatever the length.
    """

    def __init__(
        self,
        chunks: Callable[[], Iterator[bytes]],
        progress: ProgressCallback | None = None,
        *,
        ahead: int = _QUEUE_CHUNKS,
    ) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._progress = progress
        self._fraction = 0.0
        self._reported = -1.0
        self._chunk = b""
        self._at = 0  # where the next read starts in ``_chunk``
        self._done = False
        self._error: BaseException | None = None
        self._on_close: Callable[[], None] | None = None
        self.bytes_read = 0
        # Started by a job: what the producer logs carries the job's context.
        self._thread = threading.Thread(
            target=carry_context(self._produce),
            args=(chunks,),
            name="recording-stream",
            daemon=True,
        )

    # --- the producer's side ---------------------------------------------------------

    def set_fraction(self, fraction: float) -> None:
        """Called from the producer thread; reported from the reader's (the job's) thread."""
        self._fraction = fraction

    @property
    def stopping(self) -> threading.Event:
        """Set once the reader has closed the stream: the producer should fetch no more."""
        return self._stop

    def hang_up_on_close(self, response: httpx.Response) -> None:
        """Called by the producer with the answer it reads now: ``close`` hangs up on it,
        so that a read blocked on a stalled server ends at once instead of at its
        time-out."""
        self._on_close = functools.partial(abort_response, response)

    def _produce(self, chunks: Callable[[], Iterator[bytes]]) -> None:
        iterator = chunks()
        try:
            for chunk in iterator:
                if not self._put(chunk):
                    return  # the reader stopped: the download stops with it
            self._put(_END)
        except BaseException as error:  # handed to the reader, raised there
            self._put(error)
        finally:
            iterator.close()  # closes the guarded client now, not when collected

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    # --- the reader's side -------------------------------------------------------------

    def start(self) -> StreamedRecording:
        self._thread.start()
        return self

    def read(self, size: int = -1) -> bytes:
        """Up to ``size`` bytes (all that is left with -1), fewer when the current chunk
        ends first (as a raw file's ``read``: FFmpeg asks again); ``b""`` only at the end.
        A whole chunk is handed on as it is, not copied."""
        if self._at >= len(self._chunk) and not self._next_chunk():
            self._report()
            return b""
        if size < 0:
            parts = [self._chunk[self._at :]]
            while self._next_chunk():
                parts.append(self._chunk)
            self._chunk, self._at = b"", 0
            data = b"".join(parts)
        else:
            end = min(len(self._chunk), self._at + size)
            whole = self._at == 0 and end == len(self._chunk)
            data = self._chunk if whole else self._chunk[self._at : end]
            self._at = end
        self._report()
        self.bytes_read += len(data)
        return data

    def skip(self, size: int) -> int:
        """Move ``size`` bytes on without copying them; returns how many there were."""
        skipped = 0
        while skipped < size:
            if self._at >= len(self._chunk) and not self._next_chunk():
                break
            step = min(len(self._chunk) - self._at, size - skipped)
            self._at += step
            skipped += step
        self.bytes_read += skipped
        return skipped

    def _next_chunk(self) -> bool:
        """Wait for the next chunk; ``False`` at the end; the producer's error is raised,
        and raised again on every later read (FFmpeg reads again after an error, and PyAV
        keeps only the last exception: an end of stream would hide the real one)."""
        if self._error is not None:
            raise self._error
        if self._done:
            return False
        item = self._queue.get()
        if item is _END:
            self._done = True
            return False
        if isinstance(item, BaseException):
            self._done = True
            self._error = item
            raise item
        self._chunk, self._at = item, 0  # type: ignore[assignment]
        return True

    def _report(self) -> None:
        fraction = self._fraction
        if self._progress is not None and fraction > self._reported:
            self._reported = fraction
            self._progress(fraction)

    def close(self) -> None:
        """Stop the producer (if it still runs): end its current read, and wait for it."""
        self._stop.set()
        abort = self._on_close
        if abort is not None:
            abort()
        while True:  # unblock a producer waiting on a full queue
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join(timeout=30)


@contextmanager
def stream_hls(
    url: str, scratch: Path, policy: SourcePolicy, progress: ProgressCallback
) -> Iterator[StreamedRecording]:
    """The HLS stream at ``url`` as a :class:`StreamedRecording`, fetched while it is read.

    The host allow-list is checked here too, so no caller can skip it by mistake.
    """
    check_stream_url(url, policy)
    stream: StreamedRecording

    def chunks() -> Iterator[bytes]:
        with GuardedSession(policy) as client:
            tracker = Progress(lambda fraction: stream.set_fraction(fraction))
            download = HLSDownload(
                client,
                policy,
                tracker,
                stop=stream.stopping,
                on_response=stream.hang_up_on_close,
            )
            yield from download.chunks(url, scratch)

    stream = StreamedRecording(chunks, progress)  # named before its thread reads the name
    stream.start()
    try:
        yield stream
    finally:
        stream.close()
