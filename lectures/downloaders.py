"""Which downloader fetches a recording, configured from settings.

The built-in downloader (``lectures.sources``) is the default: every network byte goes
through its SSRF guard. ``LECTURE_DOWNLOADER=panoptodownloader`` hands the fetch to the
optional PanoptoDownloader package instead; the stream URL still passes the request-time
checks, but the package's own HTTP client makes the connections.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from lectures.sources import (
    SourcePolicy,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
    download,
    validate_stream_url,
)

Progress = Callable[[float], None]


def source_policy() -> SourcePolicy:
    return SourcePolicy(
        allowed_hosts=tuple(settings.PANOPTO_ALLOWED_HOSTS),
        allow_private_networks=settings.PANOPTO_ALLOW_PRIVATE_NETWORKS,
        max_bytes=settings.LECTURE_MAX_BYTES,
        connect_timeout=settings.LECTURE_CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.LECTURE_READ_TIMEOUT_SECONDS,
        max_retries=settings.LECTURE_DOWNLOAD_RETRIES,
        backoff_base=settings.LECTURE_RETRY_BACKOFF_SECONDS,
    )


def fetch_recording(url: str, dest: Path, progress: Progress) -> None:
    """Fetch the recording at ``url`` into the local file ``dest``."""
    if settings.LECTURE_DOWNLOADER == "panoptodownloader":
        _fetch_with_panoptodownloader(url, dest, progress)
    else:
        download(url, dest, source_policy(), progress)


def _fetch_with_panoptodownloader(url: str, dest: Path, progress: Progress) -> None:
    policy = source_policy()
    validate_stream_url(url, policy)
    if _looks_like_hls(url):
        # The package hands HLS to FFmpeg, which would fetch segments and keys from any
        # address: only the built-in downloader may take playlists.
        raise UnsupportedSource("PanoptoDownloader is not used for HLS; use the built-in one")
    package = importlib.import_module("PanoptoDownloader")

    # Errors our own callback raised (too large, the job's claim lost) must come out as
    # they are, whatever the package wraps them in.
    stop: list[Exception] = []

    def on_progress(percent: float) -> None:
        try:
            # The package writes as it goes: the size limit is enforced while it streams.
            if dest.exists() and dest.stat().st_size > policy.max_bytes:
                raise SourceTooLarge("the recording is larger than LECTURE_MAX_BYTES")
            progress(min(1.0, float(percent) / 100))
        except Exception as exc:
            stop.append(exc)
            raise

    try:
        package.download(url, str(dest), on_progress)
    except Exception as exc:  # the package raises bare exceptions; keep only a short reason
        if stop:
            raise stop[0] from None
        raise TransientSourceError(f"PanoptoDownloader failed: {type(exc).__name__}") from None
    if not dest.exists():
        raise TransientSourceError("PanoptoDownloader wrote no file")
    if dest.stat().st_size > policy.max_bytes:
        raise SourceTooLarge("the recording is larger than LECTURE_MAX_BYTES")


def _looks_like_hls(url: str) -> bool:
    return urlsplit(url).path.lower().endswith(".m3u8")
