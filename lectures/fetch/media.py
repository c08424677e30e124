"""What counts as a recording: the content types accepted, and which URLs are HLS.

The built-in downloader and the PanoptoDownloader adapter ask the same questions here, so
they cannot disagree on what an HLS URL looks like.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

__all__ = [
    "HLS_CONTENT_TYPES",
    "is_media_type",
    "is_playlist_type",
    "looks_like_hls",
    "media_type",
]

HLS_CONTENT_TYPES = frozenset(
    {"application/vnd.apple.mpegurl", "application/x-mpegurl", "audio/mpegurl", "audio/x-mpegurl"}
)
# binary/octet-stream is what S3 (and so many CDNs in front of it) sends for unknown files.
_GENERIC_BINARY_TYPES = frozenset({"application/octet-stream", "binary/octet-stream"})


def looks_like_hls(url: str) -> bool:
    """An ``.m3u8`` path (a query string may follow): fetched as HLS from the start."""
    return urlsplit(url).path.lower().endswith(".m3u8")


def media_type(response: httpx.Response) -> str:
    """The response's content type without parameters, lower-cased ('' when absent)."""
    return response.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def is_playlist_type(content_type: str) -> bool:
    """One of the content types servers send HLS playlists with."""
    return content_type in HLS_CONTENT_TYPES


def is_media_type(content_type: str) -> bool:
    """Video, audio, a generic binary, or an HLS playlist: anything else is not a video."""
    return (
        content_type.startswith(("video/", "audio/"))
        or content_type in _GENERIC_BINARY_TYPES
        or content_type in HLS_CONTENT_TYPES
    )
