"""A recording read while it downloads: HLS segments demuxed as they arrive.

Downloading every segment into a scratch file and then reading that file again with FFmpeg
does the work twice, one step after the other. Here a thread fetches the segments through
the guarded client (retries, the size limit and the deadline as in a download to a file)
and hands them, in order, through a short queue to :class:`StreamedRecording`, a file
object FFmpeg reads (``av.open`` on it): the audio packets are written to the output while
the next segments arrive, and no video lands on disk. A failure of the download comes out
of ``read`` as the download's own error, which PyAV raises again out of the demuxer; a
reader that stops early (no audio, the job's claim lost) stops the thread.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from lectures.fetch.guard import SourcePolicy, check_stream_url
from lectures.fetch.hls import HLSDownload
from lectures.fetch.progress import Progress, ProgressCallback
from lectures.fetch.transport import GuardedSession

__all__ = ["StreamedRecording", "stream_hls"]

# Chunks of up to 256 KiB: a few MiB in flight at most, whatever the recording's length.
_QUEUE_CHUNKS = 16
_END = object()


class StreamedRecording:
    """A file object over chunks a producer thread fetches; ``read`` blocks for the next."""

    def __init__(self, chunks: Callable[[], Iterator[bytes]], progress: ProgressCallback) -> None:
        self._queue: queue.Queue[object] = queue.Queue(maxsize=_QUEUE_CHUNKS)
        self._stop = threading.Event()
        self._progress = progress
        self._fraction = 0.0
        self._reported = -1.0
        self._buffer = b""
        self._done = False
        self.bytes_read = 0
        self._thread = threading.Thread(
            target=self._produce, args=(chunks,), name="recording-stream", daemon=True
        )

    # --- the producer's side ---------------------------------------------------------

    def set_fraction(self, fraction: float) -> None:
        """Called from the producer thread; reported from the reader's (the job's) thread."""
        self._fraction = fraction

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
        while not self._done and (size < 0 or len(self._buffer) < size):
            item = self._queue.get()
            if item is _END:
                self._done = True
            elif isinstance(item, BaseException):
                self._done = True
                raise item
            else:
                self._buffer += item  # type: ignore[operator]
        self._report()
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        self.bytes_read += len(data)
        return data

    def _report(self) -> None:
        fraction = self._fraction
        if fraction > self._reported:
            self._reported = fraction
            self._progress(fraction)

    def close(self) -> None:
        """Stop the producer (if it still runs) and wait for it."""
        self._stop.set()
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

    The host allow-list is checked here, as :func:`~lectures.fetch.builtin.download` does.
    """
    check_stream_url(url, policy)
    stream: StreamedRecording

    def chunks() -> Iterator[bytes]:
        with GuardedSession(policy) as client:
            tracker = Progress(lambda fraction: stream.set_fraction(fraction))
            yield from HLSDownload(client, policy, tracker).chunks(url, scratch)

    stream = StreamedRecording(chunks, progress).start()
    try:
        yield stream
    finally:
        stream.close()
