"""Fetching lecture recordings into a local scratch file, behind the SSRF guard.

What the rest of the app uses: the recording sources (:class:`StreamURL`, fetched with the
downloader ``LECTURE_DOWNLOADER`` names, and :class:`StagedUpload`, an uploaded file read
from storage), :func:`source_policy` and :func:`validate_stream_url` (the request-time
check), and the :class:`SourceError` family.

Modules, one job each: ``errors`` (what can fail, and the message), ``guard`` (the policy:
URL shape, allowed hosts, address checks), ``transport`` (the guarded HTTP client, redirects
hop by hop), ``media`` (content types, HLS URLs), ``retry`` (back-off), ``progress``,
``direct`` (MP4/M4A to a file, with resume), ``playlist`` (HLS parsing with ``m3u8``),
``hls`` (HLS download, AES-128), ``renditions`` (the HLS rendition choice), ``stream``
(HLS demuxed while it downloads), ``ranged`` (a direct file demuxed while it downloads,
through ``Range`` requests), ``builtin`` (the built-in downloader to a file),
``panoptodownloader`` (the optional package's adapter) and ``sources`` (what the job
fetches from: a URL or an upload).
"""

from __future__ import annotations

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
from lectures.fetch.progress import DownloadResult
from lectures.fetch.sources import (
    RecordingSource,
    StagedUpload,
    StreamURL,
    UploadGone,
    check_recording,
    fetch_recording,
    source_policy,
)

__all__ = [
    "BlockedSource",
    "DownloadResult",
    "DownloadTooSlow",
    "NoAudioSource",
    "NotMediaSource",
    "PermanentSourceError",
    "RecordingSource",
    "SourceError",
    "SourceHTTPError",
    "SourcePolicy",
    "SourceTooLarge",
    "StagedUpload",
    "StreamURL",
    "TransientSourceError",
    "UnsupportedSource",
    "UploadGone",
    "check_recording",
    "download",
    "fetch_recording",
    "source_policy",
    "validate_stream_url",
]
