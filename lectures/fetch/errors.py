"""The ways fetching a recording can fail, and the short message each one shows the user.

``str(error)`` goes into ``Lecture.error_message``: a few words, a host name at most, never
the stream URL (signed CDN URLs carry credentials in their query string). The split
between :class:`TransientSourceError` and :class:`PermanentSourceError` decides whether the
downloader tries again.
"""

from __future__ import annotations

__all__ = [
    "BlockedSource",
    "NoAudioSource",
    "NotMediaSource",
    "PermanentSourceError",
    "SourceError",
    "SourceHTTPError",
    "SourceTooLarge",
    "TransientSourceError",
    "UnsupportedSource",
]


class SourceError(Exception):
    """A recording could not be fetched; ``str(error)`` is a short message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransientSourceError(SourceError):
    """Timeouts, dropped connections, HTTP 5xx and 429: worth trying again later."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, made_progress: bool = False
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # Set when the failed attempt still moved the download forward (resume, not retry).
        self.made_progress = made_progress


class PermanentSourceError(SourceError):
    """Trying again will not help: the job fails at once."""


class BlockedSource(PermanentSourceError):
    """The URL (or a redirect, playlist entry or resolved address) is not allowed."""


class SourceHTTPError(PermanentSourceError):
    """The server answered an HTTP 4xx (other than 429)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotMediaSource(PermanentSourceError):
    """The response is not a video, an audio file or an HLS playlist."""


class SourceTooLarge(PermanentSourceError):
    """The recording is larger than the configured limit.

    Built from the limit, so every downloader (built-in or adapter) says it the same way.
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"recording is larger than the {_human_bytes(max_bytes)} limit")
        self.max_bytes = max_bytes


class DownloadTooSlow(PermanentSourceError):
    """The download ran past ``LECTURE_DOWNLOAD_TIMEOUT_SECONDS`` (a source that drips)."""

    def __init__(self) -> None:
        super().__init__("the download took too long")


class NoAudioSource(PermanentSourceError):
    """The HLS playlist declares only renditions without audio."""


class UnsupportedSource(PermanentSourceError):
    """A malformed playlist or a feature the downloader does not handle (e.g. SAMPLE-AES)."""


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"  # pragma: no cover - loop always returns
