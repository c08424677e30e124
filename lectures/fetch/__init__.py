"""Fetching lecture recordings into a local scratch file, behind the SSRF guard.

What the rest of the app uses: the recording sources (:class:`StreamURL`, read with the
downloader ``LECTURE_DOWNLOADER`` names, and :class:`StagedUpload`, an uploaded file read
from storage), :func:`source_policy` and :func:`validate_stream_url` (the request-time
check), and the :class:`SourceError` family.

Modules, one job each: ``errors`` (what can fail, and the message), ``guard`` (the policy:
URL shape, allowed hosts, address checks), ``transport`` (the guarded HTTP client, redirects
hop by hop), ``media`` (content types, HLS URLs), ``retry`` (back-off), ``progress``,
``ranged`` (the built-in downloader's entry: a direct file demuxed while it downloads,
through ``Range`` requests, or HLS), ``direct`` (a direct file downloaded whole, with
resume, for a server without ranges), ``stream`` (HLS demuxed while it downloads),
``hls`` (the HLS segments in order, AES-128), ``playlist`` (HLS parsing with ``m3u8``),
``renditions`` (the HLS rendition choice), ``panoptodownloader`` (the optional package's
adapter) and ``sources`` (what the job reads from: a URL or an upload).
"""

from __future__ import annotations

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
from lectures.fetch.sources import (
    RecordingSource,
    StagedUpload,
    StreamURL,
    UploadGone,
    check_recording,
    source_policy,
)

__all__ = [
    "BlockedSource",
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
    "source_policy",
    "validate_stream_url",
]
