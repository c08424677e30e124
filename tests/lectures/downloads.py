"""A recording read the way the audio job reads it: through the built-in downloader's entry,
to the end, as the demuxer would."""

from __future__ import annotations

from pathlib import Path

from lectures.fetch import SourcePolicy
from lectures.fetch.progress import ProgressCallback
from lectures.fetch.ranged import stream_recording

_READ_BYTES = 1024 * 1024


def read_recording(
    url: str, scratch: Path, policy: SourcePolicy, progress: ProgressCallback | None = None
) -> bytes:
    """Every byte the downloader hands on for ``url``, in order (``scratch``: the job's
    scratch directory)."""
    with stream_recording(url, scratch, policy, progress or _ignore) as recording:
        return b"".join(iter(lambda: recording.read(_READ_BYTES), b""))


def read_and_drop(url: str, scratch: Path, policy: SourcePolicy) -> int:
    """Read the recording at ``url`` to the end, keeping none of it; how many bytes."""
    size = 0
    with stream_recording(url, scratch, policy, _ignore) as recording:
        while block := recording.read(_READ_BYTES):
            size += len(block)
    return size


def _ignore(_fraction: float) -> None:
    """No progress wanted."""
