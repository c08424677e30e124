"""Sources that drip, that point at link-local addresses, or whose playlists carry absurd
numbers: each ends with a clear permanent error and frees the worker."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lectures.fetch import BlockedSource, DownloadTooSlow, SourcePolicy, UnsupportedSource
from lectures.jobs import lecture_process
from lectures.models import Lecture
from tests.lectures.downloads import read_recording
from tests.lectures.factories import LectureFactory
from tests.lectures.media_server import MediaServer, drip, ranged, redirect

# ------------------------------------------------------------------ dripping sources


def test_an_hls_segment_that_drips_fails_at_the_download_deadline(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    segment, _ = media_server.route(drip(10_000, every=0.2), suffix=".ts")
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:4.0,\n{segment}\n#EXT-X-ENDLIST\n"

    def serve_playlist(handler, _route) -> None:
        handler.send_body(200, playlist.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(serve_playlist, suffix=".m3u8")
    policy = dataclasses.replace(policy, download_timeout=1.0)

    with pytest.raises(DownloadTooSlow, match=r"^the download took too long$"):
        read_recording(url, scratch, policy)


@pytest.mark.django_db
@pytest.mark.usefixtures("lecture_settings")
def test_a_lecture_whose_source_drips_fails_and_says_so(media_server, settings) -> None:
    settings.LECTURE_DOWNLOAD_TIMEOUT_SECONDS = 1
    url, _ = media_server.route(drip(10_000, every=0.2), suffix=".mp4")
    lecture = LectureFactory(stream_url=url)

    lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert lecture.status == Lecture.Status.FAILED
    assert lecture.error_message == "the download took too long"
    assert lecture.audio_storage_key == ""


@pytest.mark.django_db
@pytest.mark.usefixtures("lecture_settings")
def test_a_lecture_whose_ranged_source_drips_while_it_is_demuxed_fails_and_says_so(
    media, media_server, settings
) -> None:
    settings.LECTURE_DOWNLOAD_TIMEOUT_SECONDS = 1
    url, _ = media_server.route(ranged(media.h264_aac, drip_every=0.2))
    lecture = LectureFactory(stream_url=url)

    lecture_process(lecture_id=lecture.id)

    lecture.refresh_from_db()
    assert lecture.status == Lecture.Status.FAILED
    assert lecture.error_message == "the download took too long"
    assert lecture.audio_storage_key == ""


# ------------------------------------------------- link-local, whatever the private flag

METADATA_SPELLINGS = [
    "http://169.254.169.254/latest/meta-data/",
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one decimal number
    "http://0xa9.0xfe.0xa9.0xfe/",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://[fd00:ec2::254]/",
    "http://169.254.0.1/",
]


@pytest.mark.parametrize("target", METADATA_SPELLINGS)
def test_a_redirect_to_a_link_local_address_is_refused_with_private_networks_allowed(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path, target: str
) -> None:
    assert policy.allow_private_networks
    url, _ = media_server.route(redirect(target), suffix=".mp4")

    with pytest.raises(BlockedSource, match="private or reserved network address"):
        read_recording(url, scratch, policy)


def test_a_name_resolving_to_a_link_local_address_is_refused_at_connect_time(
    policy: SourcePolicy, scratch: Path
) -> None:
    # The resolver is the only stand-in: no connection is ever attempted, on or off loopback.
    policy = dataclasses.replace(
        policy,
        allowed_hosts=("cdn.panopto.com",),
        resolver=lambda host, port: ["169.254.169.254"],
    )

    with pytest.raises(BlockedSource, match="resolves to a private or reserved network address"):
        read_recording("http://cdn.panopto.com/lecture.mp4", scratch, policy)


def test_an_hls_key_on_the_metadata_address_is_refused_with_private_networks_allowed(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path
) -> None:
    segment, segment_route = media_server.route(drip(10, every=0), suffix=".ts")
    playlist = (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
        '#EXT-X-KEY:METHOD=AES-128,URI="http://169.254.169.254/latest/api/token"\n'
        f"#EXTINF:4.0,\n{segment}\n#EXT-X-ENDLIST\n"
    )

    def serve_playlist(handler, _route) -> None:
        handler.send_body(200, playlist.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(serve_playlist, suffix=".m3u8")

    with pytest.raises(BlockedSource, match="private or reserved network address"):
        read_recording(url, scratch, policy)
    assert segment_route.requests == 0


# ------------------------------------------------------------- absurd playlist numbers

ABSURD_PLAYLISTS = {
    "media sequence 2^130 with AES and no IV": (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{2**130}\n"
        '#EXT-X-KEY:METHOD=AES-128,URI="key.bin"\n#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n'
    ),
    "media sequence 2^64": (
        f"#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:{2**64}\n"
        "#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"
    ),
    "negative media sequence": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:-1\n"
        "#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"
    ),
    "negative duration": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:-4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"
    ),
    "absurd duration": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:1e308,\nseg0.ts\n#EXT-X-ENDLIST\n"
    ),
    "absurd byte range": (
        "#EXTM3U\n#EXT-X-TARGETDURATION:4\n"
        f"#EXT-X-BYTERANGE:{'9' * 5000}@0\n#EXTINF:4.0,\nseg0.ts\n#EXT-X-ENDLIST\n"
    ),
}


@pytest.mark.parametrize("text", ABSURD_PLAYLISTS.values(), ids=ABSURD_PLAYLISTS.keys())
def test_a_playlist_with_out_of_range_numbers_is_malformed(
    media_server: MediaServer, policy: SourcePolicy, scratch: Path, text: str
) -> None:
    def serve_playlist(handler, _route) -> None:
        handler.send_body(200, text.encode(), "application/vnd.apple.mpegurl")

    url, _ = media_server.route(serve_playlist, suffix=".m3u8")

    with pytest.raises(UnsupportedSource, match=r"^HLS playlist is malformed"):
        read_recording(url, scratch, policy)
