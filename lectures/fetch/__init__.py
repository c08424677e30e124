"""Fetching lecture recordings into a local scratch file, behind the SSRF guard.

What the rest of the app uses: :func:`fetch_recording` (the job's download step, with the
downloader ``LECTURE_DOWNLOADER`` names), :func:`source_policy` and
:func:`validate_stream_url` (the request-time check), and the :class:`SourceError` family.

Modules, one job each: ``errors`` (what can fail, and the message), ``guard`` (the policy:
URL shape, allowed hosts, address checks), ``transport`` (the guarded HTTP client, redirects
hop by hop), ``media`` (content types, HLS URLs), ``retry`` (back-off), ``progress``,
``direct`` (MP4/M4A with resume), ``playlist`` (HLS parsing with ``m3u8``), ``hls`` (HLS
download, AES-128), ``builtin`` (the built-in downloader) and ``panoptodownloader`` (the
optional package's adapter).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from lectures.fetch.builtin import download
from lectures.fetch.errors import (
    BlockedSource,
    DownloadTooSlow,
    NoAudioSource,
    NotMediaSource,
    PermanentSourceError,
    SourceError,
    SourceHTTPError,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
)
from lectures.fetch.guard import SourcePolicy, validate_stream_url
from lectures.fetch.panoptodownloader import fetch_with_panoptodownloader
from lectures.fetch.progress import DownloadResult, ProgressCallback

__all__ = [
    "BlockedSource",
    "DownloadResult",
    "DownloadTooSlow",
    "NoAudioSource",
    "NotMediaSource",
    "PermanentSourceError",
    "SourceError",
    "SourceHTTPError",
    "SourcePolicy",
    "SourceTooLarge",
    "TransientSourceError",
    "UnsupportedSource",
    "download",
    "fetch_recording",
    "source_policy",
    "validate_stream_url",
]


def source_policy() -> SourcePolicy:
    """The policy the settings configure (allowed hosts, limits, timeouts, retries)."""
    return SourcePolicy()


def fetch_recording(url: str, dest: Path, progress: ProgressCallback) -> None:
    """Fetch the recording at ``url`` into the local file ``dest``."""
    policy = source_policy()
    if settings.LECTURE_DOWNLOADER == "panoptodownloader":
        fetch_with_panoptodownloader(url, dest, policy, progress)
    else:
        download(url, dest, policy, progress)
