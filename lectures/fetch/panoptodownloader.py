"""The optional PanoptoDownloader package as a downloader (``LECTURE_DOWNLOADER``).

The stream URL still passes the request-time checks, but the package's own HTTP client
makes the connections, without the per-hop address checks of the built-in downloader; so
HLS, where FFmpeg would fetch segments and keys from any address, is refused here.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from lectures.fetch.errors import SourceTooLarge, TransientSourceError, UnsupportedSource
from lectures.fetch.guard import SourcePolicy, validate_stream_url
from lectures.fetch.media import looks_like_hls
from lectures.fetch.progress import ProgressCallback

__all__ = ["fetch_with_panoptodownloader"]


def fetch_with_panoptodownloader(
    url: str, dest: Path, policy: SourcePolicy, progress: ProgressCallback
) -> None:
    """Have the package fetch ``url`` into ``dest``, within the policy's size limit."""
    validate_stream_url(url, policy)
    if looks_like_hls(url):
        raise UnsupportedSource("PanoptoDownloader is not used for HLS; use the built-in one")
    package = importlib.import_module("PanoptoDownloader")

    # Errors our own callback raised (too large, the job's claim lost) must come out as
    # they are, whatever the package wraps them in.
    stop: list[Exception] = []

    def on_progress(percent: float) -> None:
        try:
            # The package writes as it goes: the size limit is enforced while it streams.
            if dest.exists() and dest.stat().st_size > policy.max_bytes:
                raise SourceTooLarge(policy.max_bytes)
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
        raise SourceTooLarge(policy.max_bytes)
