"""The built-in downloader against a real (misbehaving) HTTP server on loopback."""

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
    download,
)
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
    ranged,
    serve,
    zeros,
)

SECRET = "Signature=s3cr3t-token"

# --------------------------------------------------------------------- direct files


def test_an_mp4_is_downloaded_byte_for_byte_with_progress(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    seen: list[float] = []

    result = download(media_server.file_url("lecture.mp4"), scratch, policy, seen.append)

    assert scratch.read_bytes() == media.h264_aac.read_bytes()
    assert result.size_bytes == media.h264_aac.stat().st_size
    assert result.content_type == "video/mp4"
    assert result.kind == "file"
    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_a_large_download_reports_progress_as_it_goes(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    seen: list[float] = []
    url, _ = media_server.route(zeros(8 * 1024 * 1024, chunk=256 * 1024))

    download(url, scratch, policy, seen.append)

    assert scratch.stat().st_size == 8 * 1024 * 1024
    assert seen == sorted(seen)
    assert seen[-1] == 1.0
    assert len(seen) > 1  # chunked: several reports, not one at the end


def test_an_m4a_with_a_query_string_is_downloaded(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    result = download(media_server.file_url(f"audio-only.m4a?{SECRET}"), scratch, policy)

    assert scratch.read_bytes() == media.m4a.read_bytes()
    assert result.content_type == "audio/mp4"


def test_a_server_error_is_retried_then_succeeds(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(fail_first(media.h264_aac, 500))

    download(url, scratch, policy)

    assert route.requests == 2
    assert scratch.read_bytes() == media.h264_aac.read_bytes()


def test_429_is_retried_honouring_a_small_retry_after(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(fail_first(media.h264_aac, 429, Retry_After="0"))

    download(url, scratch, policy)

    assert route.requests == 2
    assert scratch.read_bytes() == media.h264_aac.read_bytes()


def test_a_persistent_server_error_fails_as_transient_after_the_retries(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(always(503))

    with pytest.raises(TransientSourceError, match="HTTP 503") as excinfo:
        download(f"{url}?{SECRET}", scratch, policy)

    assert route.requests == policy.max_retries + 1
    assert "s3cr3t" not in str(excinfo.value)


def test_memory_does_not_grow_with_the_size_of_the_recording(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    def peak_while_downloading(size: int) -> int:
        url, _ = media_server.route(zeros(size))
        tracemalloc.start()
        try:
            download(url, scratch, policy)
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert scratch.stat().st_size == size
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
        download(f"{url}?{SECRET}", scratch, policy)

    assert route.requests == 1
    assert excinfo.value.status_code == 404
    assert str(excinfo.value) == "127.0.0.1 answered HTTP 404"
    assert "s3cr3t" not in repr(excinfo.value.args)


def test_an_html_page_is_not_a_video(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(always(200, b"<html>Sign in</html>", "text/html"))

    with pytest.raises(NotMediaSource, match=r"^source is not a video$"):
        download(url, scratch, policy)

    assert route.requests == 1


def test_a_wrong_content_type_is_not_a_video(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = media_server.route(serve(media.h264_aac, "application/json"))

    with pytest.raises(NotMediaSource, match="source is not a video"):
        download(url, scratch, policy)


def test_a_dropped_connection_resumes_with_range_byte_identical(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(drop_first(media.h264_aac))

    result = download(url, scratch, policy)

    assert scratch.read_bytes() == media.h264_aac.read_bytes()
    assert result.size_bytes == media.h264_aac.stat().st_size
    half = media.h264_aac.stat().st_size // 2
    assert route.range_headers == [None, f"bytes={half}-"]


def test_without_a_validator_a_dropped_download_starts_again_instead_of_resuming(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    # Nothing would tell a replaced file from the one half-downloaded: no splicing.
    half = media.h264_aac.stat().st_size // 2
    url, route = media_server.route(
        ranged(media.h264_aac, drop_first_after=half, no_validators=True)
    )

    download(url, scratch, policy)

    assert scratch.read_bytes() == media.h264_aac.read_bytes()
    assert route.range_headers == [None, None]


def test_with_a_weak_tag_a_resume_sends_no_if_range_and_a_replaced_file_fails(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    half = media.h264_aac.stat().st_size // 2
    same, same_route = media_server.route(ranged(media.h264_aac, drop_first_after=half, weak=True))
    replaced, _ = media_server.route(
        ranged(media.h264_aac, drop_first_after=half, weak=True, etag_after_first='"v2"')
    )

    download(same, scratch, policy)

    assert scratch.read_bytes() == media.h264_aac.read_bytes()
    assert same_route.range_headers == [None, f"bytes={half}-"]
    assert same_route.if_range_headers == [None, None]  # RFC 9110 13.1.5: never a weak tag
    with pytest.raises(UnsupportedSource, match="changed during the download"):
        download(replaced, scratch, policy)


def test_a_stall_past_the_read_timeout_resumes(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    quick = dataclasses.replace(policy, read_timeout=0.2)
    url, route = media_server.route(drop_first(media.h264_aac, stall=1.0))

    download(url, scratch, quick)

    assert scratch.read_bytes() == media.h264_aac.read_bytes()
    assert route.requests == 2
    assert route.range_headers[1] is not None


def test_a_stall_without_retries_left_is_a_timeout(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    quick = dataclasses.replace(policy, read_timeout=0.2, max_retries=0)
    url, _ = media_server.route(drop_first(media.h264_aac, stall=1.0))

    with pytest.raises(TransientSourceError, match=r"lost|timed out"):
        download(url, scratch, quick)


def test_a_server_that_ignores_range_makes_the_download_start_over(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(ignore_range(media.h264_aac))

    download(url, scratch, policy)

    assert route.requests == 2
    assert route.range_headers[1] is not None
    assert scratch.read_bytes() == media.h264_aac.read_bytes()


def test_resumes_without_progress_count_as_failures(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, route = media_server.route(drop_always(media.h264_aac))

    with pytest.raises(TransientSourceError):
        download(url, scratch, policy)

    # One partial answer, then max_retries more attempts that make no progress.
    assert route.requests == policy.max_retries + 1


def test_a_declared_length_over_the_limit_fails_at_once(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    small = dataclasses.replace(policy, max_bytes=1024 * 1024)
    url, route = media_server.route(declared_length(1024 * 1024 + 1))

    with pytest.raises(SourceTooLarge, match=r"larger than the 1\.0 MiB limit"):
        download(url, scratch, small)

    assert route.requests == 1


def test_a_body_without_length_is_cut_at_the_limit(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    small = dataclasses.replace(policy, max_bytes=512 * 1024)
    url, _ = media_server.route(endless())

    with pytest.raises(SourceTooLarge):
        download(url, scratch, small)

    assert scratch.stat().st_size <= small.max_bytes


# --------------------------------------------------------------------- HLS


@pytest.mark.parametrize(
    "playlist",
    ["hls/ts/index.m3u8", "hls/ts/master.m3u8", "hls/panobf/index.m3u8", "hls/aes/index.m3u8"],
)
def test_hls_streams_become_one_clear_transport_stream(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, playlist: str
) -> None:
    seen: list[float] = []

    result = download(media_server.file_url(f"{playlist}?{SECRET}"), scratch, policy, seen.append)

    assert result.kind == "hls"
    assert scratch.read_bytes() == media.hls.plain_bytes
    assert seen[-1] == 1.0


def test_hls_download_extracts_to_audio_starting_at_zero(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    download(media_server.file_url("hls/aes/index.m3u8"), scratch, policy)
    out = tmp_path / "audio.m4a"

    result = extract_audio(scratch, out)

    assert result.copied is True
    assert first_audio_pts_seconds(out) == pytest.approx(0, abs=0.05)
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_fmp4_hls_puts_the_init_segment_first(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    download(media_server.file_url("hls/fmp4/index.m3u8"), scratch, policy)

    init = (media.root / "hls/fmp4/init.mp4").read_bytes()
    assert scratch.read_bytes().startswith(init)
    result = extract_audio(scratch, tmp_path / "audio.m4a")
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_an_audio_rendition_is_preferred(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path, tmp_path: Path
) -> None:
    download(media_server.file_url("hls/rendition/master.m3u8"), scratch, policy)

    result = extract_audio(scratch, tmp_path / "audio.m4a")
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_a_master_playlist_without_audio_variants_has_no_audio(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    with pytest.raises(NoAudioSource, match=r"^recording has no audio$"):
        download(media_server.file_url("hls/ts/video-only.m3u8"), scratch, policy)


def test_a_playlist_behind_a_url_without_m3u8_is_still_hls(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    playlist = (media.root / "hls/ts/index.m3u8").read_text()
    absolute = "\n".join(
        media_server.file_url(f"hls/ts/{line}") if line and not line.startswith("#") else line
        for line in playlist.splitlines()
    )

    def behaviour(handler, _route) -> None:
        handler.send_body(200, absolute.encode(), "application/x-mpegURL")

    url, _ = media_server.route(behaviour, suffix="/stream")

    result = download(url, scratch, policy)

    assert result.kind == "hls"
    assert scratch.read_bytes() == media.hls.plain_bytes


def test_a_failing_segment_is_retried(
    media: MediaSet, media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    names = media.hls.segment_names
    segment_url, route = media_server.route(fail_first(media.root / "hls/ts" / names[1], 500))
    urls = [
        segment_url if name == names[1] else media_server.file_url("hls/ts/" + name)
        for name in names
    ]
    lines = [f"#EXTINF:1.0,\n{url}" for url in urls]
    playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" + "\n".join(lines) + "\n#EXT-X-ENDLIST\n"

    def behaviour(handler, _route) -> None:
        handler.send_body(200, playlist.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(behaviour, suffix="/index.m3u8")

    download(url, scratch, policy)

    assert route.requests == 2
    assert scratch.read_bytes() == media.hls.plain_bytes


def test_an_html_playlist_is_not_a_video(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = media_server.route(always(200, b"<html>login</html>", "text/html"), "/a.m3u8")

    with pytest.raises(NotMediaSource, match="source is not a video"):
        download(url, scratch, policy)


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
        download(url, scratch, policy)


def serve_playlist(media_server: MediaServer, text: str):
    return media_server.route(
        always(200, text.encode(), "application/vnd.apple.mpegurl"), "/a.m3u8"
    )


def test_a_playlist_with_too_many_segments_is_refused_before_any_segment_is_fetched(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    url, _ = serve_playlist(media_server, "#EXTM3U\n" + "#EXTINF:1.0,\na\n" * 20_001)

    with pytest.raises(UnsupportedSource, match="too many segments"):
        download(url, scratch, policy)
    assert not scratch.exists() or scratch.stat().st_size == 0


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
        download(url, scratch, policy)
