"""HLS playlists read with m3u8: URLs resolved against the playlist, keys, bounds, errors.

These call the parser directly, without a server: the downloads that use it are tested in
``test_download.py`` against the loopback media server.
"""

from __future__ import annotations

import socket
import urllib.request

import pytest

from lectures.fetch import NoAudioSource, NotMediaSource, UnsupportedSource
from lectures.fetch.playlist import (
    MAX_KEYS,
    MAX_VARIANTS,
    Key,
    choose_media_playlist,
    media_segments,
    parse_playlist,
)

PLAYLIST_URL = "https://cdn.panopto.com/sessions/abc/media/index.m3u8?Policy=p&Signature=s"
MASTER_URL = "https://cdn.panopto.com/sessions/abc/master.m3u8?token=t"
IV = "0x000102030405060708090a0b0c0d0e0f"


def segments_of(text: str, url: str = PLAYLIST_URL):
    return media_segments(parse_playlist(text, url), url)


def media_playlist(*body: str, sequence: int = 0) -> str:
    return "\n".join(["#EXTM3U", f"#EXT-X-MEDIA-SEQUENCE:{sequence}", *body, "#EXT-X-ENDLIST"])


# --------------------------------------------------------------------- URLs


def test_relative_segment_key_and_init_uris_resolve_against_the_playlist_url() -> None:
    segments = segments_of(
        media_playlist(
            '#EXT-X-MAP:URI="init.mp4"',
            '#EXT-X-KEY:METHOD=AES-128,URI="../keys/k.bin?kid=1"',
            "#EXTINF:1.0,",
            "seg0.m4s",
            "#EXTINF:1.0,",
            "/elsewhere/seg1.m4s",
            "#EXTINF:1.0,",
            "https://other.cloudfront.net/seg2.m4s",
        )
    )

    assert [s.uri for s in segments] == [
        "https://cdn.panopto.com/sessions/abc/media/seg0.m4s",
        "https://cdn.panopto.com/elsewhere/seg1.m4s",
        "https://other.cloudfront.net/seg2.m4s",
    ]
    assert segments[0].key == Key(
        uri="https://cdn.panopto.com/sessions/abc/keys/k.bin?kid=1", iv=None
    )
    assert segments[0].init_uri == "https://cdn.panopto.com/sessions/abc/media/init.mp4"


def test_a_query_only_reference_keeps_the_playlist_path() -> None:
    # RFC 3986: "?part=1" is the playlist's own path with another query (m3u8's
    # absolute_uri would join it to the directory instead).
    segments = segments_of(media_playlist("#EXTINF:1.0,", "?part=1"))

    assert segments[0].uri == "https://cdn.panopto.com/sessions/abc/media/index.m3u8?part=1"


def test_a_network_path_reference_leaves_the_host_to_the_guard() -> None:
    # Resolved here, refused (or not) when it is fetched: the guard checks every hop.
    segments = segments_of(media_playlist("#EXTINF:1.0,", "//169.254.169.254/latest"))

    assert segments[0].uri == "https://169.254.169.254/latest"


def test_a_relative_variant_uri_resolves_against_the_master_url() -> None:
    master = parse_playlist(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS="avc1.42e00a,mp4a.40.2"\n'
        "../v200/index.m3u8?token=t\n",
        MASTER_URL,
    )

    assert choose_media_playlist(master, MASTER_URL) == (
        "https://cdn.panopto.com/sessions/v200/index.m3u8?token=t"
    )


def test_parsing_never_opens_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the parser tried to use the network")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(urllib.request, "urlopen", no_network)

    segments = segments_of(
        media_playlist(
            '#EXT-X-KEY:METHOD=AES-128,URI="https://keys.panopto.com/k"',
            '#EXT-X-MAP:URI="https://cdn.panopto.com/init.mp4"',
            "#EXTINF:1.0,",
            "https://cdn.panopto.com/seg0.m4s",
        )
    )

    assert len(segments) == 1


# --------------------------------------------------------------------- variants


def test_the_highest_bandwidth_variant_with_audio_is_chosen() -> None:
    master = parse_playlist(
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.42e00a"\nvideo.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=300000,CODECS="avc1.42e00a,mp4a.40.2"\nhigh.m3u8\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=100000,CODECS="avc1.42e00a,mp4a.40.2"\nlow.m3u8\n',
        MASTER_URL,
    )

    assert choose_media_playlist(master, MASTER_URL).endswith("/abc/high.m3u8")


def test_the_default_audio_rendition_of_the_chosen_group_is_preferred() -> None:
    master = parse_playlist(
        "#EXTM3U\n"
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Other",URI="other/index.m3u8"\n'
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main",DEFAULT=YES,URI="main/index.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.42e00a,mp4a.40.2",AUDIO="aud"\n'
        "video.m3u8\n",
        MASTER_URL,
    )

    assert choose_media_playlist(master, MASTER_URL).endswith("/abc/main/index.m3u8")


def test_variants_that_declare_video_only_have_no_audio() -> None:
    master = parse_playlist(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.42e00a"\nv.m3u8\n', MASTER_URL
    )

    with pytest.raises(NoAudioSource, match=r"^recording has no audio$"):
        choose_media_playlist(master, MASTER_URL)


def test_a_master_playlist_with_too_many_variants_is_refused() -> None:
    text = "#EXTM3U\n" + "#EXT-X-STREAM-INF:BANDWIDTH=1\nv.m3u8\n" * (MAX_VARIANTS + 1)

    with pytest.raises(UnsupportedSource, match="too many streams"):
        parse_playlist(text, MASTER_URL)


# --------------------------------------------------------------------- keys


def test_an_explicit_iv_is_used_and_an_absent_one_is_left_to_the_sequence_number() -> None:
    segments = segments_of(
        media_playlist(
            f'#EXT-X-KEY:METHOD=AES-128,URI="k.bin",IV={IV}',
            "#EXTINF:1.0,",
            "a.ts",
            '#EXT-X-KEY:METHOD=AES-128,URI="k.bin"',
            "#EXTINF:1.0,",
            "b.ts",
            "#EXTINF:1.0,",
            "c.ts",
            sequence=41,
        )
    )

    assert segments[0].key is not None and segments[0].key.iv == bytes(range(16))
    assert segments[1].key is not None and segments[1].key.iv is None
    assert segments[2].key == segments[1].key
    assert [s.sequence for s in segments] == [41, 42, 43]


def test_method_none_ends_encryption() -> None:
    segments = segments_of(
        media_playlist(
            '#EXT-X-KEY:METHOD=AES-128,URI="k.bin"',
            "#EXTINF:1.0,",
            "a.ts",
            "#EXT-X-KEY:METHOD=NONE",
            "#EXTINF:1.0,",
            "b.ts",
        )
    )

    assert segments[0].key is not None
    assert segments[1].key is None


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ('#EXT-X-KEY:METHOD=SAMPLE-AES,URI="skd://k"', "SAMPLE-AES is not supported"),
        ("#EXT-X-KEY:METHOD=AES-128", "encryption key without URI"),
        ('#EXT-X-KEY:METHOD=AES-128,URI="k",IV=0xnothex', "invalid encryption IV"),
        ('#EXT-X-KEY:METHOD=AES-128,URI="k",IV=0x' + "00" * 17, "invalid encryption IV"),
    ],
    ids=["sample-aes", "no-uri", "iv-not-hex", "iv-too-long"],
)
def test_keys_the_downloader_cannot_use_are_refused_clearly(tag: str, message: str) -> None:
    with pytest.raises(UnsupportedSource, match=message):
        segments_of(media_playlist(tag, "#EXTINF:1.0,", "a.ts"))


def test_one_key_repeated_many_times_counts_once() -> None:
    repeated = ['#EXT-X-KEY:METHOD=AES-128,URI="k.bin"'] * (MAX_KEYS + 1)

    segments = segments_of(media_playlist(*repeated, "#EXTINF:1.0,", "a.ts"))

    assert segments[0].key is not None


def test_too_many_distinct_keys_are_refused_before_parsing() -> None:
    keys = [f'#EXT-X-KEY:METHOD=AES-128,URI="k{i}.bin"' for i in range(MAX_KEYS + 1)]

    with pytest.raises(UnsupportedSource, match="too many encryption keys"):
        segments_of(media_playlist(*keys, "#EXTINF:1.0,", "a.ts"))


# --------------------------------------------------------------------- segments


def test_byte_ranges_without_an_offset_follow_the_previous_range() -> None:
    segments = segments_of(
        media_playlist(
            "#EXTINF:1.0,",
            "#EXT-X-BYTERANGE:100@20",
            "all.ts",
            "#EXTINF:1.0,",
            "#EXT-X-BYTERANGE:50",
            "all.ts",
            "#EXTINF:1.0,",
            "other.ts",
        )
    )

    assert [s.byte_range for s in segments] == [(20, 100), (120, 50), None]


def test_discontinuities_keep_the_order_the_sequence_and_the_key() -> None:
    segments = segments_of(
        media_playlist(
            '#EXT-X-KEY:METHOD=AES-128,URI="k.bin"',
            "#EXTINF:1.0,",
            "a.ts",
            "#EXT-X-DISCONTINUITY",
            "#EXTINF:1.0,",
            "b.panobf2",
            sequence=7,
        )
    )

    assert [s.uri.rsplit("/", 1)[1] for s in segments] == ["a.ts", "b.panobf2"]
    assert [s.sequence for s in segments] == [7, 8]
    assert segments[0].key == segments[1].key


@pytest.mark.parametrize(
    "tail", ["#EXTINF:1.0,", "#EXT-X-BYTERANGE:10@0", '#EXT-X-PART:DURATION=1.0,URI="p.ts"']
)
def test_a_tag_that_no_uri_line_follows_is_not_a_segment(tail: str) -> None:
    text = "#EXTM3U\n#EXTINF:1.0,\na.ts\n" + tail + "\n"

    assert [s.uri for s in segments_of(text)] == ["https://cdn.panopto.com/sessions/abc/media/a.ts"]


def test_an_init_segment_with_a_byte_range_is_refused() -> None:
    with pytest.raises(UnsupportedSource, match="init segments with byte ranges"):
        segments_of(media_playlist('#EXT-X-MAP:URI="i.mp4",BYTERANGE="10@0"', "#EXTINF:1,", "a"))


def test_a_playlist_without_segments_is_refused() -> None:
    with pytest.raises(UnsupportedSource, match="lists no segments"):
        segments_of(media_playlist())


def test_a_byte_order_mark_is_allowed() -> None:
    assert len(segments_of("\ufeff" + media_playlist("#EXTINF:1.0,", "a.ts"))) == 1


@pytest.mark.parametrize("text", ["", "<html>login</html>", "a.ts\n#EXTM3U\n"])
def test_text_that_is_not_a_playlist_is_not_a_video(text: str) -> None:
    with pytest.raises(NotMediaSource, match=r"^source is not a video$"):
        parse_playlist(text, PLAYLIST_URL)


@pytest.mark.parametrize(
    "playlist",
    [
        media_playlist("#EXTINF:1.0,", "a.ts", sequence=2**64),
        media_playlist("#EXTINF:1.0,", "a.ts", sequence=-1),
        media_playlist("#EXTINF:-1.0,", "a.ts"),
        media_playlist("#EXTINF:nan,", "a.ts"),
        media_playlist("#EXTINF:1.0,", "#EXT-X-BYTERANGE:-5@0", "a.ts"),
        media_playlist("#EXTINF:1.0,", f"#EXT-X-BYTERANGE:5@{2**64}", "a.ts"),
        '#EXTM3U\n#EXT-X-STREAM-INF:CODECS="mp4a.40.2"\nv.m3u8\n',
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=inf,CODECS="mp4a.40.2"\nv.m3u8\n',
        "#EXTM3U\n#EXT-X-KEY:URI=k\n#EXTINF:1.0,\na.ts\n",
    ],
    ids=[
        "sequence-2^64",
        "sequence-negative",
        "duration-negative",
        "duration-nan",
        "byterange-negative",
        "byterange-offset-2^64",
        "variant-without-bandwidth",
        "bandwidth-infinite",
        "key-without-method",
    ],
)
def test_out_of_range_or_incomplete_values_are_malformed(playlist: str) -> None:
    with pytest.raises(UnsupportedSource, match=r"^HLS playlist is malformed$"):
        parsed = parse_playlist(playlist, PLAYLIST_URL)
        if parsed.is_variant:
            choose_media_playlist(parsed, PLAYLIST_URL)
        else:
            media_segments(parsed, PLAYLIST_URL)
