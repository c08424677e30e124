"""The built-in downloader: a direct file or an HLS stream, every byte through the guard.

FFmpeg never sees a URL: this writes a local scratch file (the MP4 itself, or the HLS
segments decrypted and concatenated into one MPEG-TS/fMP4 file).
"""

from __future__ import annotations

import os
from pathlib import Path

from lectures.fetch.direct import FileDownload, PlaylistAnswer
from lectures.fetch.guard import SourcePolicy, check_stream_url
from lectures.fetch.hls import HLSDownload
from lectures.fetch.media import looks_like_hls
from lectures.fetch.progress import DownloadResult, Progress, ProgressCallback
from lectures.fetch.transport import GuardedSession

__all__ = ["download"]


def download(
    url: str,
    dest_path: str | os.PathLike[str],
    policy: SourcePolicy,
    progress_cb: ProgressCallback | None = None,
) -> DownloadResult:
    """Fetch ``url`` into ``dest_path``: a direct media file, or an HLS stream as one file.

    Transient failures are retried with exponential back-off (a dropped direct download
    resumes with ``Range``); permanent ones raise at once. ``progress_cb`` receives the
    fraction done (0.0-1.0) when it is known, at most once per 0.1 %.
    The host allow-list is checked here too, so callers cannot skip it by mistake.
    """
    check_stream_url(url, policy)
    progress = Progress(progress_cb)
    dest = Path(dest_path)
    with GuardedSession(policy) as client:
        if looks_like_hls(url):
            return HLSDownload(client, policy, progress).run(url, dest)
        try:
            return FileDownload(client, policy, progress).run(url, dest)
        except PlaylistAnswer:
            # A playlist behind a URL without .m3u8: fetched again, as HLS this time.
            return HLSDownload(client, policy, progress).run(url, dest)
