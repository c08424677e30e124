"""The optional PanoptoDownloader package as a downloader (``LECTURE_DOWNLOADER``).

The stream URL still passes the request-time checks, but the package's own HTTP client
makes the connections, without the per-hop address checks of the built-in downloader; so
HLS, where FFmpeg would fetch segments and keys from any address, is refused here.

What the package (1.4.3) does, and so what this adapter maps: ``download(url, path,
callback)`` checks the URL against a host-name pattern (an IP address such as
``127.0.0.1``, or ``localhost``, is refused: ``RegexNotMatch``), sends a HEAD and refuses
a content type without ``video/`` (``NotAVideo``: an ``audio/mp4`` file too), then
fetches with ``urllib.request.urlretrieve``, calling ``callback`` with the percentage
after each 8 KiB block; it refuses an output path that exists (``AlreadyExists``).
HTTP errors come out as ``urllib.error.HTTPError``, a short body as
``ContentTooShortError``, a network failure as ``URLError`` or ``OSError``.
"""

from __future__ import annotations

import importlib
import re
import urllib.error
from pathlib import Path
from urllib.parse import urlsplit

from lectures.fetch.errors import (
    NotMediaSource,
    SourceError,
    SourceHTTPError,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
)
from lectures.fetch.guard import SourcePolicy, display_host, validate_stream_url
from lectures.fetch.media import looks_like_hls
from lectures.fetch.progress import ProgressCallback
from lectures.fetch.retry import with_retries

__all__ = ["fetch_with_panoptodownloader"]

PACKAGE = "PanoptoDownloader"
# The package hands a URL ending so (query string included) to FFmpeg or its own HLS code.
_PACKAGE_HLS = re.compile(r"\.panobf\d+$", re.IGNORECASE)


def fetch_with_panoptodownloader(
    url: str, dest: Path, policy: SourcePolicy, progress: ProgressCallback
) -> None:
    """Have the package fetch ``url`` into ``dest``, within the policy's size limit;
    transient failures are tried again from the start (the package cannot resume)."""
    validate_stream_url(url, policy)
    if looks_like_hls(url) or _PACKAGE_HLS.search(url) or _PACKAGE_HLS.search(urlsplit(url).path):
        raise UnsupportedSource("PanoptoDownloader is not used for HLS; use the built-in one")
    package = importlib.import_module(PACKAGE)
    with_retries(policy, lambda: _attempt(package, url, dest, policy, progress))


def _attempt(package, url: str, dest: Path, policy: SourcePolicy, progress: ProgressCallback):
    dest.unlink(missing_ok=True)  # the package refuses to write over a file
    # Errors our own callback raised (too large, the job's claim lost) must come out as
    # they are, whatever the package wraps them in.
    stop: list[BaseException] = []

    def on_progress(percent: float) -> None:
        try:
            # The package writes as it goes: the size limit is enforced while it streams.
            if dest.exists() and dest.stat().st_size > policy.max_bytes:
                raise SourceTooLarge(policy.max_bytes)
            progress(max(0.0, min(1.0, float(percent) / 100)))
        except BaseException as exc:
            stop.append(exc)
            raise

    try:
        package.download(url, str(dest), on_progress)
    except Exception as exc:
        if stop:
            raise stop[0] from None
        raise _mapped(exc, display_host(url)) from None
    if not dest.exists():
        raise TransientSourceError("PanoptoDownloader wrote no file")
    if dest.stat().st_size > policy.max_bytes:
        raise SourceTooLarge(policy.max_bytes)


def _mapped(error: Exception, host: str) -> SourceError:
    """The package's failure as the built-in downloader would word it; never the URL."""
    name = type(error).__name__
    if type(error).__module__.startswith(PACKAGE):
        if name == "RegexNotMatch":
            return UnsupportedSource(
                "PanoptoDownloader does not take this URL (it needs a host name, "
                "not an IP address or localhost)"
            )
        if name == "NotAVideo":
            return NotMediaSource("source is not a video")
    if isinstance(error, urllib.error.HTTPError):
        if error.code == 429 or error.code >= 500:
            return TransientSourceError(f"{host} answered HTTP {error.code}")
        return SourceHTTPError(f"{host} answered HTTP {error.code}", status_code=error.code)
    if isinstance(error, urllib.error.ContentTooShortError):
        return TransientSourceError(f"connection to {host} ended early")
    if isinstance(error, OSError):  # URLError, socket errors, and requests' errors too
        return TransientSourceError(f"connection to {host} was lost")
    # Anything else: keep only a short reason (the package's messages may carry the URL).
    return TransientSourceError(f"PanoptoDownloader failed: {name}")
