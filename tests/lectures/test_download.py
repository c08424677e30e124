"""The built-in downloader against a real (misbehaving) HTTP server on loopback: what it
hands the demuxer (``stream_recording``, what the audio job reads), direct files and HLS."""

from __future__ import annotations

import dataclasses
import tracemalloc
from pathlib import Path

import pytest

from lectures.audio import extract_audio
from lectures.fetch import (
    NoAudioSource,
    NotMediaSource,
    SourceHTTPError,
    SourcePolicy,
    SourceTooLarge,
    TransientSourceError,
    UnsupportedSource,
)
from lectures.fetch.ranged import stream_recording
from tests.lectures.downloads import read_and_drop, read_recording
from tests.lectures.media import SECONDS, MediaSet, first_audio_pts_seconds
from tests.lectures.media_server import (
    MediaServer,
    always,
    declared_length,
    drop_always,
    drop_first,
    endless,
    fail_first,
    ignore_range,
    serve,
    zeros,
)

SECRET = "Signature=s3cr3t-token"

# --------------------------------------------------------------------- direct files


def test_an_mp4_is_read_byte_for_byte_with_progress_and_nothing_on_disk(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    seen: list[float] = []

    data = read_recording(media_server.file_url("lecture.mp4"), scratch, policy, seen.append)

    assert data == media.h264_aac.read_bytes()
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert list(scratch.iterdir()) == []  # read through ranges as it downloads


def test_a_large_file_downloaded_whole_reports_progress_as_it_goes(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    seen: list[float] = []
    url, _ = media_server.route(zeros(8 * 1024 * 1024, chunk=256 * 1024))

    data = read_recording(url, scratch, policy, seen.append)

    assert len(data) == 8 * 1024 * 1024
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert len(seen) > 1  # chunked: several reports, not one at the end


def test_an_m4a_with_a_query_string_is_read(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    data = read_recording(media_server.file_url(f"audio-only.m4a?{SECRET}"), scratch, policy)

    assert data == media.m4a.read_bytes()


def test_a_server_error_is_retried_then_succeeds(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(fail_first(media.h264_aac, 500))

    data = read_recording(url, scratch, policy)

    assert route.requests == 2
    assert data == media.h264_aac.read_bytes()


def test_429_is_retried_honouring_a_small_retry_after(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(fail_first(media.h264_aac, 429, Retry_After="0"))

    data = read_recording(url, scratch, policy)

    assert route.requests == 2
    assert data == media.h264_aac.read_bytes()


def test_a_persistent_server_error_fails_as_transient_after_the_retries(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(always(503))

    with pytest.raises(TransientSourceError, match="HTTP 503") as excinfo:
        read_recording(f"{url}?{SECRET}", scratch, policy)

    assert route.requests == policy.max_retries + 1
    assert "s3cr3t" not in str(excinfo.value)


def test_memory_does_not_grow_with_the_size_of_the_recording(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    def peak_while_downloading(size: int) -> int:
        url, _ = media_server.route(zeros(size))
        tracemalloc.start()
        try:
            read = read_and_drop(url, scratch, policy)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert read == size
        return peak

    small = peak_while_downloading(16 * 1024 * 1024)
    large = peak_while_downloading(64 * 1024 * 1024)

    # A few socket reads in flight (1 MiB each), whatever the size of the recording.
    assert large < 12 * 1024 * 1024
    assert large < small + 1024 * 1024


def test_404_fails_at_once_without_leaking_the_query_string(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(always(404))

    with pytest.raises(SourceHTTPError) as excinfo:
        read_recording(f"{url}?{SECRET}", scratch, policy)

    assert route.requests == 1
    assert excinfo.value.status_code == 404
    assert str(excinfo.value) == "127.0.0.1 answered HTTP 404"
    assert "s3cr3t" not in repr(excinfo.value.args)


def test_an_html_page_is_not_a_video(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(always(200, b"<html>Sign in</html>", "text/html"))

    with pytest.raises(NotMediaSource, match=r"^source is not a video$"):
        read_recording(url, scratch, policy)

    assert route.requests == 1


def test_a_wrong_content_type_is_not_a_video(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = media_server.route(serve(media.h264_aac, "application/json"))

    with pytest.raises(NotMediaSource, match="source is not a video"):
        read_recording(url, scratch, policy)


def test_a_whole_file_dropped_halfway_resumes_with_range_byte_identical(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    # The first answer is the whole file (200), so it is downloaded whole; then it drops.
    url, route = media_server.route(drop_first(media.h264_aac))

    data = read_recording(url, scratch, policy)

    assert data == media.h264_aac.read_bytes()
    half = media.h264_aac.stat().st_size // 2
    assert route.range_headers == ["bytes=0-", f"bytes={half}-"]


def test_a_stall_past_the_read_timeout_resumes(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    quick = dataclasses.replace(policy, read_timeout=0.2)
    url, route = media_server.route(drop_first(media.h264_aac, stall=1.0))

    data = read_recording(url, scratch, quick)

    assert data == media.h264_aac.read_bytes()
    assert route.requests == 2
    assert route.range_headers[1] is not None


def test_a_stall_without_retries_left_is_a_timeout(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    quick = dataclasses.replace(policy, read_timeout=0.2, max_retries=0)
    url, _ = media_server.route(drop_first(media.h264_aac, stall=1.0))

    with pytest.raises(TransientSourceError, match=r"lost|timed out"):
        read_recording(url, scratch, quick)


def test_a_server_that_ignores_range_makes_the_download_start_over(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(ignore_range(media.h264_aac))

    data = read_recording(url, scratch, policy)

    assert route.requests == 2
    assert route.range_headers[1] not in (None, "bytes=0-")
    assert data == media.h264_aac.read_bytes()


def test_resumes_without_progress_count_as_failures(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(drop_always(media.h264_aac))

    with pytest.raises(TransientSourceError):
        read_recording(url, scratch, policy)

    # One partial answer, then max_retries more attempts that make no progress.
    assert route.requests == policy.max_retries + 1


def test_a_declared_length_over_the_limit_fails_at_once(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    small = dataclasses.replace(policy, max_bytes=1024 * 1024)
    url, route = media_server.route(declared_length(1024 * 1024 + 1))

    with pytest.raises(SourceTooLarge, match=r"larger than the 1\.0 MiB limit"):
        read_recording(url, scratch, small)

    assert route.requests == 1


def test_a_body_without_length_is_cut_at_the_limit(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    small = dataclasses.replace(policy, max_bytes=512 * 1024)
    url, _ = media_server.route(endless())

    with pytest.raises(SourceTooLarge):
        read_recording(url, scratch, small)

    assert all(path.stat().st_size <= small.max_bytes for path in scratch.iterdir())


# --------------------------------------------------------------------- HLS


@pytest.mark.parametrize(
    "playlist",
    ["hls/ts/index.m3u8", "hls/ts/master.m3u8", "hls/panobf/index.m3u8", "hls/aes/index.m3u8"],
)
def test_hls_streams_become_one_clear_transport_stream(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, playlist: str
) -> None:
    seen: list[float] = []

    data = read_recording(
        media_server.file_url(f"{playlist}?{SECRET}"), scratch, policy, seen.append
    )

    assert data == media.hls.plain_bytes
    assert seen[-1] == 1.0


def extract_while_reading(url: str, scratch: Path, policy: SourcePolicy, out: Path):
    """The audio job's extraction: the recording demuxed while it downloads."""
    with stream_recording(url, scratch, policy, lambda _fraction: None) as recording:
        return extract_audio(recording, out)


def test_hls_audio_is_extracted_starting_at_zero(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    out = tmp_path / "audio.m4a"

    result = extract_while_reading(
        media_server.file_url("hls/aes/index.m3u8"), scratch, policy, out
    )

    assert result.copied is True
    assert first_audio_pts_seconds(out) == pytest.approx(0, abs=0.05)
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_fmp4_hls_puts_the_init_segment_first(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    url = media_server.file_url("hls/fmp4/index.m3u8")

    data = read_recording(url, scratch, policy)

    assert data.startswith((media.root / "hls/fmp4/init.mp4").read_bytes())
    result = extract_while_reading(url, scratch, policy, tmp_path / "audio.m4a")
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_an_audio_rendition_is_preferred(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    url = media_server.file_url("hls/rendition/master.m3u8")

    result = extract_while_reading(url, scratch, policy, tmp_path / "audio.m4a")

    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_a_master_playlist_without_audio_variants_has_no_audio(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    with pytest.raises(NoAudioSource, match=r"^recording has no audio$"):
        read_recording(media_server.file_url("hls/ts/video-only.m3u8"), scratch, policy)


def test_an_html_playlist_is_not_a_video(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = media_server.route(always(200, b"<html>login</html>", "text/html"), "/a.m3u8")

    with pytest.raises(NotMediaSource, match="source is not a video"):
        read_recording(url, scratch, policy)


def test_sample_aes_is_refused_clearly(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    playlist = (
        '#EXTM3U\n#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://key"\n#EXTINF:1.0,\na.ts\n'
        "#EXT-X-ENDLIST\n"
    )
    url, _ = media_server.route(
        always(200, playlist.encode(), "application/vnd.apple.mpegurl"), "/a.m3u8"
    )

    with pytest.raises(UnsupportedSource, match="SAMPLE-AES is not supported"):
        read_recording(url, scratch, policy)


def serve_playlist(media_server: MediaServer, text: str):
    return media_server.route(
        always(200, text.encode(), "application/vnd.apple.mpegurl"), "/a.m3u8"
    )


def test_a_playlist_with_too_many_segments_is_refused_before_any_segment_is_fetched(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = serve_playlist(media_server, "#EXTM3U\n" + "#EXTINF:1.0,\na\n" * 20_001)

    with pytest.raises(UnsupportedSource, match="too many segments"):
        read_recording(url, scratch, policy)
    assert list(scratch.iterdir()) == []


@pytest.mark.parametrize(
    "playlist",
    [
        "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:seven\n#EXTINF:1.0,\na.ts\n",
        "#EXTM3U\n#EXT-X-MAP:BYTES=1\n#EXTINF:1.0,\na.ts\n",
        "#EXTM3U\n#EXT-X-BYTERANGE:lots@0\n#EXTINF:1.0,\na.ts\n",
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=fast,CODECS="mp4a.40.2"\nv.m3u8\n',
    ],
    ids=["sequence", "map-without-uri", "byterange", "bandwidth"],
)
def test_a_malformed_playlist_fails_clearly(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path, playlist: str
) -> None:
    url, _ = serve_playlist(media_server, playlist)

    with pytest.raises(UnsupportedSource, match="HLS playlist is malformed"):
        read_recording(url, scratch, policy)
