"""Reading a recording upload off the wire: ``core.uploads``' streamed handler, with the
lecture upload limit (``LECTURE_UPLOAD_MAX_BYTES``) enforced chunk by chunk.

Nothing is checked on the bytes here: any container FFmpeg reads is welcome, and only the
job, which reads the file with FFmpeg, can tell. It fails the lecture with the messages a
download gets ("source is not a video", "recording has no audio").
"""

from __future__ import annotations

from django.conf import settings

from core.uploads import StreamedUploadHandler, read_streamed_upload

RECORDING_FALLBACK_STEM = "recording"


class RecordingUploadHandler(StreamedUploadHandler):
    """One ``file`` part, streamed to a temporary file within the lecture upload limit."""

    filename_fallback = RECORDING_FALLBACK_STEM


def read_recording_upload(request) -> None:
    """Parse ``request``'s multipart body through ``RecordingUploadHandler``; must run
    before anything touches ``request.data``."""
    handler = RecordingUploadHandler(request._request, max_bytes=settings.LECTURE_UPLOAD_MAX_BYTES)
    read_streamed_upload(request, handler)
