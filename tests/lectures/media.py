"""Small recordings generated with PyAV for the lecture tests: a few seconds, a few kB."""

from __future__ import annotations

import math
import os
import random
import shutil
import struct
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SECONDS = 4
VIDEO_RATE = 10
WIDTH, HEIGHT = 160, 120
# HLS streams do not start at zero: Panopto's start seconds into the stream.
HLS_START_SECONDS = 10
AES_KEY = bytes(range(16))
AES_FIRST_SEQUENCE = 7
AES_IV = bytes.fromhex("000102030405060708090a0b0c0d0e0f")


def write_media(
    path: Path,
    *,
    audio_codec: str | None = "aac",
    video: bool = True,
    seconds: int = SECONDS,
    sample_rate: int = 48000,
    container_format: str | None = None,
    options: dict[str, str] | None = None,
    start_seconds: int = 0,
    size: tuple[int, int] = (WIDTH, HEIGHT),
    audio_bit_rate: int | None = None,
    noisy: bool = False,
) -> Path:
    """Encode a test pattern (grey ramp video, 440 Hz tone) into ``path``; ``noisy`` video
    is noise, whose size grows with the picture's, as real renditions' do."""
    with av.open(str(path), "w", format=container_format, options=options or {}) as out:
        video_stream = None
        if video:
            video_stream = out.add_stream(
                "libx264", rate=VIDEO_RATE, options={"preset": "ultrafast"}
            )
            video_stream.width, video_stream.height = size
            video_stream.pix_fmt = "yuv420p"
            # A key frame every second, so HLS can cut one-second segments.
            video_stream.codec_context.gop_size = VIDEO_RATE
        audio_stream = (
            out.add_stream(audio_codec, rate=sample_rate, layout="stereo") if audio_codec else None
        )
        if audio_stream is not None and audio_bit_rate:
            audio_stream.bit_rate = audio_bit_rate
        if video_stream is not None:
            _encode_video(out, video_stream, seconds, start_seconds, size, noisy)
        if audio_stream is not None:
            _encode_audio(out, audio_stream, seconds, sample_rate, start_seconds)
    return path


def _encode_video(
    out, stream, seconds: int, start_seconds: int, size: tuple[int, int], noisy: bool
) -> None:
    for i in range(seconds * VIDEO_RATE):
        frame = av.VideoFrame(*size, "yuv420p")
        for plane in frame.planes:
            if noisy:
                plane.update(random.Random(i).randbytes(plane.buffer_size))
            else:
                plane.update(bytes([(i * 8) % 255]) * plane.buffer_size)
        frame.pts = i + start_seconds * VIDEO_RATE
        frame.time_base = Fraction(1, VIDEO_RATE)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _encode_audio(out, stream, seconds: int, rate: int, start_seconds: int) -> None:
    frame_size = stream.codec_context.frame_size or 1024
    sample = 0
    while sample < seconds * rate:
        frame = av.AudioFrame(format="s16", layout="stereo", samples=frame_size)
        values = (
            int(9000 * math.sin(2 * math.pi * 440 * (sample + k) / rate)) for k in range(frame_size)
        )
        frame.planes[0].update(b"".join(struct.pack("<hh", v, v) for v in values))
        frame.sample_rate = rate
        frame.pts = sample + start_seconds * rate
        frame.time_base = Fraction(1, rate)
        out.mux(stream.encode(frame))
        sample += frame_size
    out.mux(stream.encode(None))


def audio_packet_payloads(path: Path) -> list[bytes]:
    """The payload bytes of every packet of the first audio track."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return [bytes(p) for p in container.demux(stream) if p.size]


def first_audio_pts_seconds(path: Path) -> float:
    """Start time of the first audio packet (priming samples count as zero)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        for packet in container.demux(stream):
            if packet.size:
                return max(0.0, float(packet.pts * stream.time_base))
    raise AssertionError("no audio packets")


def audio_codec_name(path: Path) -> str:
    with av.open(str(path)) as container:
        return container.streams.audio[0].codec_context.codec.canonical_name


@dataclass(frozen=True)
class HLSSet:
    """One HLS stream in several dressings, all decoding to the same MPEG-TS bytes."""

    root: Path
    segment_names: list[str]

    @property
    def plain_bytes(self) -> bytes:
        """What a downloader must write: the clear segments, concatenated."""
        return b"".join((self.root / "ts" / n).read_bytes() for n in self.segment_names)


def write_hls(root: Path) -> HLSSet:
    """HLS fixtures under ``root`` (served as ``/files/hls/...``).

    ts/index.m3u8        clear .ts segments (video + AAC, starting at 10 s)
    ts/master.m3u8       a video-only variant (higher bandwidth, playlist missing) and the
                         audio variant: the downloader must pick the second
    ts/video-only.m3u8   master whose variants all declare video codecs only
    panobf/index.m3u8    the same segments named .panobf2
    aes/index.m3u8       AES-128: explicit IV for the first segments, then the sequence IV
    fmp4/index.m3u8      fragmented MP4 segments with an EXT-X-MAP init segment
    rendition/master.m3u8  audio in a separate EXT-X-MEDIA rendition
    """
    ts_dir = root / "ts"
    ts_dir.mkdir(parents=True)
    write_media(
        ts_dir / "index.m3u8",
        container_format="hls",
        start_seconds=HLS_START_SECONDS,
        options={
            "hls_time": "1",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(ts_dir / "seg%03d.ts"),
        },
    )
    playlist = (ts_dir / "index.m3u8").read_text()
    names = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    assert len(names) >= 3, playlist
    (ts_dir / "master.m3u8").write_text(
        "#EXTM3U\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.42e00a",RESOLUTION=640x480\n'
        "missing-video-only.m3u8\n"
        '#EXT-X-STREAM-INF:BANDWIDTH=200000,CODECS="avc1.42e00a,mp4a.40.2"\n'
        "index.m3u8\n"
    )
    (ts_dir / "video-only.m3u8").write_text(
        '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,CODECS="avc1.42e00a"\nindex.m3u8\n'
    )
    _write_panobf(root / "panobf", ts_dir, names, playlist)
    _write_aes(root / "aes", ts_dir, names, playlist)
    _write_fmp4(root / "fmp4")
    _write_rendition(root / "rendition")
    return HLSSet(root=root, segment_names=names)


def _write_panobf(directory: Path, ts_dir: Path, names: list[str], playlist: str) -> None:
    directory.mkdir()
    for name in names:
        shutil.copy(ts_dir / name, directory / name.replace(".ts", ".panobf2"))
    (directory / "index.m3u8").write_text(playlist.replace(".ts", ".panobf2"))


def _write_aes(directory: Path, ts_dir: Path, names: list[str], playlist: str) -> None:
    """Encrypt the segments; the first with an explicit IV, the rest with sequence IVs."""
    directory.mkdir()
    (directory / "key.bin").write_bytes(AES_KEY)
    lines: list[str] = []
    for line in playlist.splitlines():
        if line == names[0]:
            lines.append(f'#EXT-X-KEY:METHOD=AES-128,URI="key.bin",IV=0x{AES_IV.hex()}')
        elif line == names[1]:
            lines.append('#EXT-X-KEY:METHOD=AES-128,URI="key.bin"')
        if line in names:
            index = names.index(line)
            iv = AES_IV if index == 0 else (AES_FIRST_SEQUENCE + index).to_bytes(16, "big")
            encrypted = _aes_encrypt((ts_dir / line).read_bytes(), iv)
            line = line.replace(".ts", ".enc")
            (directory / line).write_bytes(encrypted)
        lines.append(line)
    text = "\n".join(lines) + "\n"
    # A non-zero media sequence, so a sequence-number IV differs from the segment index.
    assert "#EXT-X-MEDIA-SEQUENCE:0\n" in text
    text = text.replace(
        "#EXT-X-MEDIA-SEQUENCE:0\n", f"#EXT-X-MEDIA-SEQUENCE:{AES_FIRST_SEQUENCE}\n"
    )
    (directory / "index.m3u8").write_text(text)


def _aes_encrypt(data: bytes, iv: bytes) -> bytes:
    padder = padding.PKCS7(128).padder()
    padded = padder.update(data) + padder.finalize()
    encryptor = Cipher(algorithms.AES(AES_KEY), modes.CBC(iv)).encryptor()
    return encryptor.update(padded) + encryptor.finalize()


def _write_fmp4(directory: Path) -> None:
    directory.mkdir()
    write_media(
        directory / "index.m3u8",
        container_format="hls",
        start_seconds=HLS_START_SECONDS,
        options={
            "hls_time": "1",
            "hls_playlist_type": "vod",
            "hls_segment_type": "fmp4",
            "hls_fmp4_init_filename": "init.mp4",
            "hls_segment_filename": str(directory / "seg%03d.m4s"),
        },
    )


def write_audio_rendition(directory: Path) -> Path:
    """An audio-only HLS rendition (TS segments of one second) in ``directory``; returns
    its playlist."""
    directory.mkdir()
    return write_media(
        directory / "index.m3u8",
        video=False,
        container_format="hls",
        start_seconds=HLS_START_SECONDS,
        options={
            "hls_time": "1",
            "hls_playlist_type": "vod",
            "hls_segment_filename": str(directory / "a%03d.ts"),
        },
    )


def _write_rendition(directory: Path) -> None:
    """A video-only variant whose audio is a separate rendition (audio-only TS segments)."""
    directory.mkdir()
    write_audio_rendition(directory / "audio")
    (directory / "master.m3u8").write_text(
        "#EXTM3U\n"
        '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="English",DEFAULT=YES,URI="audio/index.m3u8"\n'
        '#EXT-X-STREAM-INF:BANDWIDTH=500000,CODECS="avc1.42e00a,mp4a.40.2",AUDIO="aud"\n'
        "missing-video.m3u8\n"
    )


@dataclass(frozen=True)
class MediaSet:
    """Every generated file, generated once per run of the suite and shared by its
    workers (the ``media`` fixture): read only."""

    root: Path
    h264_aac: Path
    h264_mp3: Path
    h264_opus: Path
    m4a: Path
    no_audio: Path
    garbage: Path
    hls: HLSSet
    mp3: Path
    webm_opus: Path


def generate_media_set(root: Path) -> MediaSet:
    """Write every fixture under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    faststart = {"movflags": "+faststart"}
    garbage = root / "garbage.mp4"
    garbage.write_bytes(b"<html><body>Sign in to Panopto</body></html>\n" * 200)
    return MediaSet(
        root=root,
        h264_aac=write_media(root / "lecture.mp4", options=faststart),
        h264_mp3=write_media(root / "lecture-mp3.mp4", audio_codec="libmp3lame", sample_rate=44100),
        h264_opus=write_media(root / "lecture-opus.mp4", audio_codec="libopus"),
        m4a=write_media(root / "audio-only.m4a", video=False, container_format="mp4"),
        no_audio=write_media(root / "no-audio.mp4", audio_codec=None),
        garbage=garbage,
        hls=write_hls(root / "hls"),
        mp3=write_media(
            root / "audio.mp3",
            video=False,
            audio_codec="libmp3lame",
            sample_rate=44100,
            container_format="mp3",
        ),
        webm_opus=write_media(
            root / "audio.webm", video=False, audio_codec="libopus", container_format="webm"
        ),
    )


def relative(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` with forward slashes, for URLs."""
    return os.path.relpath(path, root).replace(os.sep, "/")


def packet_duration(path) -> float:
    """The first audio track's duration measured from its packets, not read from a header
    (an independent check of what a muxer wrote)."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        first = last_end = None
        for packet in container.demux(stream):
            if not packet.size or packet.pts is None:
                continue
            first = packet.pts if first is None else min(first, packet.pts)
            last_end = max(last_end or packet.pts, packet.pts + (packet.duration or 0))
        return 0.0 if first is None else float((last_end - max(first, 0)) * stream.time_base)
