"""HLS with several renditions: the smallest one with the best audio is read.

A media server of its own serves renditions of one lecture (noise video, so a bigger
picture is a bigger file, and a 440 Hz tone) and counts the bytes it sends per rendition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lectures.fetch import NoAudioSource, SourceTooLarge
from lectures.fetch.renditions import AudioSignature, Probed, choose_probed
from tests.lectures.downloads import read_recording
from tests.lectures.media import HLS_START_SECONDS, write_audio_rendition, write_media
from tests.lectures.media_server import MediaServer

CODECS = 'CODECS="avc1.42e00a,mp4a.40.2"'
# name: (video size, audio sample rate, audio bit rate or None for the encoder's default)
RENDITIONS = {
    "high": ((384, 256), 48000, None),
    "mid": ((192, 128), 48000, None),
    "low": ((96, 64), 48000, None),
    "low-poor-audio": ((64, 48), 22050, 32_000),
}


def _write_rendition(directory: Path, size, rate, bit_rate, *, audio: bool = True) -> None:
    directory.mkdir(parents=True)
    write_media(
        directory / "index.m3u8",
        container_format="hls",
        start_seconds=HLS_START_SECONDS,
        size=size,
        sample_rate=rate,
        audio_bit_rate=bit_rate,
        audio_codec="aac" if audio else None,
        noisy=True,
        options={
            "hls_time": "1",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(directory / "seg%03d.ts"),
        },
    )


def _variant(name: str, bandwidth: int, codecs: str = CODECS) -> str:
    return f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},{codecs}\n{name}/index.m3u8\n"


@pytest.fixture(scope="module")
def renditions(tmp_path_factory) -> Iterator[MediaServer]:
    root = tmp_path_factory.mktemp("renditions")
    for name, (size, rate, bit_rate) in RENDITIONS.items():
        _write_rendition(root / name, size, rate, bit_rate)
    _write_rendition(root / "video-only", (48, 32), 48000, None, audio=False)
    write_audio_rendition(root / "audio")
    three = _variant("high", 3_000_000) + _variant("mid", 1_000_000) + _variant("low", 300_000)
    masters = {
        "same-audio.m3u8": three,
        "poor-audio-is-smallest.m3u8": three.replace(_variant("low", 300_000), "")
        + _variant("low-poor-audio", 100_000),
        "with-audio-only.m3u8": three + _variant("audio", 130_000, 'CODECS="mp4a.40.2"'),
        "one-missing.m3u8": three + _variant("gone", 50_000),
        "no-codecs.m3u8": "".join(
            _variant(name, bandwidth, "RESOLUTION=64x48")
            for name, bandwidth in [("mid", 1_000_000), ("low", 300_000), ("video-only", 50_000)]
        ),
    }
    for name, body in masters.items():
        (root / name).write_text("#EXTM3U\n" + body)
    server = MediaServer(root).start()
    server.root_path = root
    yield server
    server.stop()


@pytest.fixture
def server(renditions: MediaServer) -> MediaServer:
    renditions.reset_byte_counts()
    return renditions


def rendition_bytes(server: MediaServer, name: str) -> int:
    """What a whole rendition weighs: its playlist and every segment."""
    return sum(p.stat().st_size for p in (server.root_path / name).iterdir())


def first_segment_bytes(server: MediaServer, name: str) -> int:
    directory = server.root_path / name
    return (directory / "index.m3u8").stat().st_size + (directory / "seg000.ts").stat().st_size


def segments_of(server: MediaServer, name: str) -> bytes:
    directory = server.root_path / name
    return b"".join(p.read_bytes() for p in sorted(directory.glob("*.ts")))


def fetch(server: MediaServer, master: str, policy, tmp_path: Path) -> bytes:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    data = read_recording(server.file_url(master), scratch, policy)
    assert list(scratch.iterdir()) == []  # no probe file left over
    return data


def test_renditions_of_the_same_audio_download_the_smallest(server, policy, tmp_path):
    data = fetch(server, "same-audio.m3u8", policy, tmp_path)

    assert data == segments_of(server, "low")
    assert server.bytes_sent_under("low") == rendition_bytes(server, "low")
    # The others: their playlist and first segment, to probe the audio; nothing more.
    assert server.bytes_sent_under("mid") == first_segment_bytes(server, "mid")
    assert server.bytes_sent_under("high") == first_segment_bytes(server, "high")
    assert rendition_bytes(server, "high") > 10 * rendition_bytes(server, "low")


def test_the_probed_first_segments_share_the_size_limit(server, policy, tmp_path):
    # Each first segment fits, and so does the smallest rendition; the three probes that
    # wait on disk together do not. A master offering hundreds of variants cannot fill the
    # scratch disk with probes.
    heads = [
        (server.root_path / name / "seg000.ts").stat().st_size for name in ("high", "mid", "low")
    ]
    limit = sum(heads) - 1
    assert max(heads) < limit and rendition_bytes(server, "low") < limit

    with pytest.raises(SourceTooLarge):
        fetch(server, "same-audio.m3u8", replace(policy, max_bytes=limit), tmp_path)

    assert server.bytes_sent_under("low") <= first_segment_bytes(server, "low")
    assert [p.name for p in (tmp_path / "scratch").iterdir()] == []  # no probe left behind


def test_a_smaller_rendition_with_poorer_audio_loses_to_the_best_audio(server, policy, tmp_path):
    data = fetch(server, "poor-audio-is-smallest.m3u8", policy, tmp_path)

    assert data == segments_of(server, "mid")
    assert server.bytes_sent_under("low-poor-audio") == first_segment_bytes(
        server, "low-poor-audio"
    )
    assert server.bytes_sent_under("high") == first_segment_bytes(server, "high")


def test_an_audio_only_rendition_is_taken_without_probing_the_video(server, policy, tmp_path):
    data = fetch(server, "with-audio-only.m3u8", policy, tmp_path)

    assert data == segments_of(server, "audio")
    for name in ("high", "mid", "low"):
        assert server.bytes_sent_under(name) == 0


def test_a_rendition_that_cannot_be_fetched_is_passed_over(server, policy, tmp_path):
    data = fetch(server, "one-missing.m3u8", policy, tmp_path)

    assert data == segments_of(server, "low")


def test_variants_without_codecs_are_probed_and_one_without_audio_is_passed_over(
    server, policy, tmp_path
):
    data = fetch(server, "no-codecs.m3u8", policy, tmp_path)

    assert data == segments_of(server, "low")
    assert server.bytes_sent_under("video-only") == first_segment_bytes(server, "video-only")


def test_the_job_completes_from_the_smallest_rendition(server, db, lecture_settings):
    from lectures.jobs import lecture_process
    from tests.lectures.factories import LectureFactory

    lecture = LectureFactory(stream_url=server.file_url("same-audio.m3u8"))

    assert lecture_process(lecture_id=lecture.id) == "completed"
    lecture.refresh_from_db()
    assert lecture.duration_seconds == pytest.approx(4, abs=0.5)
    assert server.bytes_sent_under("high") == first_segment_bytes(server, "high")


# --- the choice itself -------------------------------------------------------------------


def probed(uri: str, bandwidth: int, *, rate=48000, channels=2, bit_rate=128_000, codec="aac"):
    return Probed(uri, bandwidth, 1000, AudioSignature(codec, rate, channels, bit_rate))


@pytest.mark.parametrize(
    ("candidates", "chosen"),
    [
        ([probed("hi", 3), probed("lo", 1, bit_rate=126_000)], "lo"),
        ([probed("hi", 3), probed("lo", 1, bit_rate=64_000)], "hi"),
        ([probed("hi", 3), probed("mid", 2), probed("lo", 1, rate=44100)], "mid"),
        ([probed("hi", 3), probed("lo", 1, channels=1)], "hi"),
        ([probed("hi", 3, codec="mp3"), probed("lo", 1, bit_rate=96_000)], "hi"),
        ([probed("lo", 1, bit_rate=64_000), probed("hi", 3)], "hi"),
    ],
    ids=[
        "same-audio-within-tolerance",
        "lower-bit-rate",
        "lower-sample-rate",
        "mono",
        "other-codec-better-bit-rate",
        "best-audio-first-or-last",
    ],
)
def test_the_smallest_rendition_with_the_best_audio_is_chosen(candidates, chosen):
    assert choose_probed(candidates).uri == chosen


def test_a_master_whose_variants_all_lack_audio_has_no_audio(server, policy, tmp_path):
    (server.root_path / "silent.m3u8").write_text(
        "#EXTM3U\n" + _variant("video-only", 50_000, 'CODECS="avc1.42e00a"')
    )

    with pytest.raises(NoAudioSource):
        read_recording(server.file_url("silent.m3u8"), tmp_path, policy)
