"""Extracting the audio track of local recordings into .m4a."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import pytest

from lectures.audio import (
    AudioTooShort,
    NoAudioStream,
    UnreadableMedia,
    extract_audio,
)
from tests.lectures.media import (
    SECONDS,
    MediaSet,
    audio_codec_name,
    audio_packet_payloads,
    first_audio_pts_seconds,
    packet_duration,
    write_media,
)

ROOT = Path(__file__).resolve().parents[2]


def test_aac_is_copied_packet_for_packet(media: MediaSet, tmp_path: Path) -> None:
    out = tmp_path / "audio.m4a"

    result = extract_audio(media.h264_aac, out)

    assert result.copied is True
    assert result.codec == "aac"
    assert audio_packet_payloads(out) == audio_packet_payloads(media.h264_aac)
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)
    assert result.size_bytes == out.stat().st_size


def test_output_is_an_mp4_with_one_aac_track_and_no_video(media: MediaSet, tmp_path: Path) -> None:
    out = tmp_path / "audio.m4a"

    extract_audio(media.h264_aac, out)

    with av.open(str(out)) as container:
        assert "mp4" in container.format.name
        assert len(container.streams.audio) == 1
        assert len(container.streams.video) == 0
        assert container.streams.audio[0].codec_context.name == "aac"


def test_audio_only_m4a_is_copied(media: MediaSet, tmp_path: Path) -> None:
    out = tmp_path / "audio.m4a"

    result = extract_audio(media.m4a, out)

    assert result.copied is True
    assert audio_packet_payloads(out) == audio_packet_payloads(media.m4a)


@pytest.mark.parametrize(("name", "source_codec"), [("h264_mp3", "mp3"), ("h264_opus", "opus")])
def test_other_codecs_are_transcoded_to_aac(
    media: MediaSet, tmp_path: Path, name: str, source_codec: str
) -> None:
    source = getattr(media, name)
    out = tmp_path / "audio.m4a"

    result = extract_audio(source, out)

    assert result.copied is False
    assert result.source_codec == source_codec
    assert audio_codec_name(out) == "aac"
    assert result.codec == "aac"
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)
    assert packet_duration(out) == pytest.approx(SECONDS, abs=0.5)


def test_hls_transport_stream_output_starts_at_zero(media: MediaSet, tmp_path: Path) -> None:
    source = tmp_path / "stream.ts"
    source.write_bytes(media.hls.plain_bytes)
    assert first_audio_pts_seconds(source) >= 9.5  # the stream starts seconds in
    out = tmp_path / "audio.m4a"

    result = extract_audio(source, out)

    assert result.copied is True
    assert first_audio_pts_seconds(out) == pytest.approx(0, abs=0.05)
    assert result.duration_seconds == pytest.approx(SECONDS, abs=0.5)


def test_a_recording_without_audio_fails_and_leaves_no_output(
    media: MediaSet, tmp_path: Path
) -> None:
    out = tmp_path / "audio.m4a"

    with pytest.raises(NoAudioStream, match="recording has no audio"):
        extract_audio(media.no_audio, out)

    assert not out.exists()


def test_a_file_that_is_not_media_fails_with_a_short_message(
    media: MediaSet, tmp_path: Path
) -> None:
    out = tmp_path / "audio.m4a"

    with pytest.raises(UnreadableMedia) as excinfo:
        extract_audio(media.garbage, out)

    assert str(excinfo.value) == "recording is not a readable video or audio file"
    assert str(media.garbage) not in str(excinfo.value)
    assert not out.exists()


def test_a_truncated_recording_is_refused_not_completed(media: MediaSet, tmp_path: Path) -> None:
    # The header (faststart: moov first) still promises the full length: FFmpeg reads what
    # is there and stops quietly, and only the duration check notices.
    truncated = tmp_path / "truncated.mp4"
    data = media.h264_aac.read_bytes()
    truncated.write_bytes(data[: len(data) // 4])
    out = tmp_path / "audio.m4a"

    with pytest.raises(AudioTooShort, match=r"lasts 4\.0 s; the file may be damaged"):
        extract_audio(truncated, out)

    assert not out.exists()


@pytest.mark.parametrize("name", ["h264_aac", "h264_mp3"])
def test_extraction_reports_its_progress(media: MediaSet, tmp_path: Path, name: str) -> None:
    seen: list[float] = []

    extract_audio(getattr(media, name), tmp_path / "out.m4a", seen.append)

    assert len(seen) >= 2
    assert seen == sorted(seen)
    assert seen[0] >= 0
    assert seen[-1] <= 1


def _top_level_boxes(path: Path) -> list[str]:
    data = path.read_bytes()
    boxes, at = [], 0
    while at < len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        boxes.append(data[at + 4 : at + 8].decode("ascii"))
        assert size >= 8, f"box {boxes[-1]} at {at} has size {size}"
        at += size
    return boxes


@pytest.mark.parametrize("name", ["h264_aac", "h264_mp3"])
def test_long_audio_is_written_in_fragments_with_an_index_ahead_of_them(
    tmp_path: Path, name: str
) -> None:
    # Fragments keep the muxer's memory flat over an hour; the index in front (sidx)
    # lets a player seek anywhere without reading the file up to there.
    source = write_media(
        tmp_path / "long.mp4",
        seconds=45,
        audio_codec="aac" if name == "h264_aac" else "libmp3lame",
        sample_rate=48000 if name == "h264_aac" else 44100,
    )
    out = tmp_path / "audio.m4a"

    result = extract_audio(source, out)

    boxes = _top_level_boxes(out)
    assert boxes[:3] == ["ftyp", "moov", "sidx"]
    assert boxes.count("moof") == boxes.count("mdat") == 5  # 10-second fragments
    assert result.duration_seconds == pytest.approx(45, abs=0.5)
    assert packet_duration(out) == pytest.approx(45, abs=0.5)
    with av.open(str(out)) as container:
        stream = container.streams.audio[0]
        for seconds in (12, 30, 41):  # in the second, third and last fragments
            container.seek(seconds * 1_000_000)  # to the packet at or just before
            first = next(p for p in container.demux(stream) if p.size)
            assert seconds - 0.1 <= float(first.pts * stream.time_base) <= seconds


def test_priming_samples_stay_trimmed_by_the_edit_list(media: MediaSet, tmp_path: Path) -> None:
    # AAC starts with 1,024 samples of encoder priming at a negative time: a plain MP4
    # keeps that in its edit list, and so does the fragmented output.
    out = tmp_path / "audio.m4a"

    extract_audio(media.h264_aac, out)

    def first_timestamps(path: Path) -> list[int]:
        with av.open(str(path)) as container:
            packets = container.demux(container.streams.audio[0])
            return [p.pts for p in packets if p.size][:2]

    assert first_timestamps(out) == first_timestamps(media.h264_aac)
    assert first_timestamps(out)[0] < 0


# Extraction in a process whose files may not grow past a limit (a write past it fails
# with EFBIG, as one on a full disk fails with ENOSPC); prints how it ended.
_EXTRACT_WITH_A_FILE_SIZE_LIMIT = """
import json, resource, signal, sys
from pathlib import Path
from lectures.audio import AudioExtractionError, extract_audio
source, dest, limit = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
try:
    extract_audio(source, dest)
    print(json.dumps({"error": None}))
except AudioExtractionError as error:
    print(json.dumps({"error": type(error).__name__, "message": str(error)}))
"""


@pytest.fixture(scope="module")
def long_recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A 45-second recording, and the size of its whole extracted audio."""
    root = tmp_path_factory.mktemp("long")
    source = write_media(root / "long.mp4", seconds=45)
    extract_audio(source, root / "whole.m4a")
    return source, (root / "whole.m4a").stat().st_size


@pytest.mark.parametrize(
    "missing_bytes",
    # Halfway through the packets (FFmpeg reports the failed write), and while the muxer
    # finishes the file: the last fragment, the index (FFmpeg drops those writes quietly).
    [300_000, 2_000, 100],
)
def test_audio_that_cannot_be_written_whole_fails_for_want_of_disk_space(
    long_recording: tuple[Path, int], tmp_path: Path, missing_bytes: int
) -> None:
    source, whole_size = long_recording
    dest = tmp_path / "audio.m4a"
    limit = str(whole_size - missing_bytes)

    result = subprocess.run(
        [
            sys.executable,
            "-B",
            "-c",
            _EXTRACT_WITH_A_FILE_SIZE_LIMIT,
            str(source),
            str(dest),
            limit,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.splitlines()[-1]) == {
        "error": "DiskFull",
        "message": "not enough disk space to extract the audio",
    }
    assert not dest.exists()
