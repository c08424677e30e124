"""Where a lecture's recording comes from, as the audio job sees it.

The job asks its source for the recording as a file object read while it downloads
(``streamed``), and when the source cannot give one, as a local scratch file (``fetch``).
A :class:`StreamURL` is streamed by the built-in downloader (HLS or a direct file), or
fetched to a file by the optional PanoptoDownloader package, whichever
``LECTURE_DOWNLOADER`` names; a :class:`StagedUpload` is fetched: it reads a file a
student uploaded, through the storage API (the web process that received it may run on
another machine than the worker), and checks that it is media with an audio track, so
an upload fails with the same messages as a download. Extraction does not care which:
one pipeline, two sources. ``release`` drops what a source keeps once the job has ended
for good.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
from django.conf import settings

from core.storage import StoredChunks, get_storage, storage_delete_quietly
from lectures.fetch.errors import (
    NoAudioSource,
    NotMediaSource,
    PermanentSourceError,
    TransientSourceError,
)
from lectures.fetch.guard import SourcePolicy
from lectures.fetch.panoptodownloader import fetch_with_panoptodownloader
from lectures.fetch.progress import ProgressCallback
from lectures.fetch.ranged import Recording, stream_recording

__all__ = [
    "RecordingSource",
    "StagedUpload",
    "StreamURL",
    "UploadGone",
    "check_recording",
    "source_policy",
]


def source_policy() -> SourcePolicy:
    """The policy the settings configure (allowed hosts, limits, timeouts, retries)."""
    return SourcePolicy()


class UploadGone(PermanentSourceError):
    """The staged upload is not in storage (its job already ended, or it was purged)."""

    def __init__(self) -> None:
        super().__init__("the uploaded recording is no longer kept; upload it again")


class RecordingSource(ABC):
    """A recording the audio job can turn into a local scratch file."""

    @abstractmethod
    def fetch(self, dest: Path, progress: ProgressCallback) -> None:
        """Write the recording to the local file ``dest`` (asked when ``streamed`` gives
        ``None``); ``progress`` gets the fraction done. Raises a
        :class:`~lectures.fetch.errors.SourceError` with the user's message."""

    @abstractmethod
    def release(self) -> None:
        """Drop what the source keeps for the job, once the job has ended for good."""

    def streamed(
        self, scratch: Path, progress: ProgressCallback
    ) -> AbstractContextManager[Recording] | None:
        """The recording as a file object read while it downloads, when this source can do
        that (a URL through the built-in downloader); ``None``: ``fetch`` it first."""
        return None


@dataclass(frozen=True)
class StreamURL(RecordingSource):
    """The recording's MP4 or HLS URL: streamed behind the SSRF guard by the built-in
    downloader, or fetched to a file by the PanoptoDownloader package."""

    url: str

    def fetch(self, dest: Path, progress: ProgressCallback) -> None:
        """The package's download (``LECTURE_DOWNLOADER=panoptodownloader``); the built-in
        downloader streams the recording instead (``streamed``)."""
        fetch_with_panoptodownloader(self.url, dest, source_policy(), progress)

    def release(self) -> None:
        """Nothing is kept for a URL."""

    def streamed(
        self, scratch: Path, progress: ProgressCallback
    ) -> AbstractContextManager[Recording] | None:
        if settings.LECTURE_DOWNLOADER != "builtin":
            return None
        return stream_recording(self.url, scratch, source_policy(), progress)


@dataclass(frozen=True)
class StagedUpload(RecordingSource):
    """An uploaded recording waiting in storage under ``key``."""

    key: str

    def fetch(self, dest: Path, progress: ProgressCallback) -> None:
        if not self.key:
            raise UploadGone()
        try:
            size = get_storage().size(self.key)
            chunks = StoredChunks(self.key)
        except FileNotFoundError:
            raise UploadGone() from None
        except Exception as exc:  # any backend's error (OSError, botocore): not readable now
            raise _unreadable() from exc
        try:
            with open(dest, "wb") as out:
                copied = 0
                for chunk in _read(chunks):
                    out.write(chunk)
                    copied += len(chunk)
                    if size:
                        progress(min(1.0, copied / size))
        finally:
            chunks.close()
        check_recording(dest)

    def release(self) -> None:
        if self.key:
            storage_delete_quietly(self.key)


def _read(chunks: StoredChunks) -> Iterator[bytes]:
    """The stored file's chunks; a backend failing mid-read is a storage error, while a
    failing write to the scratch disk (ENOSPC) stays what it is."""
    iterator = iter(chunks)
    while True:
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        except Exception as exc:
            raise _unreadable() from exc
        yield chunk


def _unreadable() -> TransientSourceError:
    return TransientSourceError("could not read the uploaded recording from storage")


def check_recording(path: Path) -> None:
    """Refuse a file that is not media, or media without an audio track, with the messages
    a download gets ("source is not a video", "recording has no audio").

    A download learns the first from the response's content type; an upload has none worth
    trusting, so FFmpeg's probe of the bytes decides.
    """
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                if not container.streams.video:
                    raise NotMediaSource("source is not a video")
                raise NoAudioSource("recording has no audio")
    except av.error.FFmpegError:
        raise NotMediaSource("source is not a video") from None
