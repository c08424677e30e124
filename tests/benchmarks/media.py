"""Lecture-sized recordings for the benchmarks, generated in seconds with PyAV.

Encoding an hour of 720p video would take longer than the benchmark itself, so a
ten-second chunk (H.264 at about 1.2 Mbit/s, AAC at 128 kbit/s, a key frame every two
seconds) is encoded once and its packets are written again and again with shifted
timestamps: a valid MP4 of any length at the chunk's bitrate, at the speed of the disk.
"""

from __future__ import annotations

import array
import math
import os
import random
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

CHUNK_SECONDS = 10
FPS = 15
WIDTH, HEIGHT = 1280, 720
VIDEO_BIT_RATE = 1_200_000
AUDIO_BIT_RATE = 128_000
SAMPLE_RATE = 48_000
GOP_FRAMES = 2 * FPS
HLS_SEGMENT_SECONDS = 6


@dataclass(frozen=True)
class _Packet:
    stream: int  # 0 video, 1 audio
    data: bytes
    pts: int
    dts: int
    duration: int
    keyframe: bool


@dataclass(frozen=True)
class Lecture:
    """A generated lecture: the MP4, its HLS rendition, and their sizes."""

    minutes: int
    mp4: Path
    hls_dir: Path

    @property
    def hls_playlist(self) -> Path:
        return self.hls_dir / "index.m3u8"

    @property
    def mp4_bytes(self) -> int:
        return self.mp4.stat().st_size

    @property
    def hls_segments(self) -> list[str]:
        lines = self.hls_playlist.read_text().splitlines()
        return [line for line in lines if line and not line.startswith("#")]


def encode_chunk(path: Path) -> Path:
    """Ten seconds of busy 720p video (noise keeps x264 at its target bitrate) and a tone
    with noise (the same for the AAC encoder)."""
    rng = random.Random(42)
    with av.open(str(path), "w", format="mp4") as out:
        video = out.add_stream(
            "libx264", rate=FPS, options={"preset": "ultrafast", "tune": "zerolatency"}
        )
        video.width, video.height, video.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        video.bit_rate = VIDEO_BIT_RATE
        video.codec_context.gop_size = GOP_FRAMES
        audio = out.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        audio.bit_rate = AUDIO_BIT_RATE
        luma = WIDTH * HEIGHT
        for i in range(CHUNK_SECONDS * FPS):
            frame = av.VideoFrame(WIDTH, HEIGHT, "yuv420p")
            # A slide-like flat background with a noisy band: detail the encoder must spend
            # bits on, but cheap to make.
            noise = rng.randbytes(luma // 4)
            frame.planes[0].update(bytes([(i * 3) % 200 + 30]) * (luma - len(noise)) + noise)
            for plane in frame.planes[1:]:
                plane.update(bytes([128]) * plane.buffer_size)
            frame.pts = i
            frame.time_base = Fraction(1, FPS)
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        frame_size = audio.codec_context.frame_size or 1024
        for start in range(0, CHUNK_SECONDS * SAMPLE_RATE, frame_size):
            samples = array.array("h")
            for k in range(start, start + frame_size):
                value = 6000 * math.sin(2 * math.pi * 220 * k / SAMPLE_RATE)
                samples.extend((int(value + rng.randint(-3000, 3000)),) * 2)
            frame = av.AudioFrame(format="s16", layout="stereo", samples=frame_size)
            frame.planes[0].update(samples.tobytes())
            frame.sample_rate = SAMPLE_RATE
            frame.pts = start
            frame.time_base = Fraction(1, SAMPLE_RATE)
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    return path


def _read_packets(chunk: Path) -> tuple[list[_Packet], list[Fraction], list[int]]:
    """The chunk's packets in decode order across both streams, their time bases, and how
    long each stream lasts (in its own time base) so loops join without a gap or overlap."""
    with av.open(str(chunk)) as container:
        streams = [container.streams.video[0], container.streams.audio[0]]
        bases = [s.time_base for s in streams]
        packets: list[_Packet] = []
        ends = [0, 0]
        starts: list[int | None] = [None, None]
        for packet in container.demux(streams):
            if not packet.size:
                continue
            index = 0 if packet.stream.type == "video" else 1
            packets.append(
                _Packet(
                    index,
                    bytes(packet),
                    packet.pts,
                    packet.dts,
                    packet.duration,
                    packet.is_keyframe,
                )
            )
            ends[index] = max(ends[index], packet.pts + packet.duration)
            first = starts[index]
            starts[index] = packet.dts if first is None else min(first, packet.dts)
    packets.sort(key=lambda p: float(p.dts * bases[p.stream]))
    # The next loop starts where this one ends, counted from the first decode time (AAC's
    # priming packet starts before zero).
    spans = [end - (start or 0) for end, start in zip(ends, starts, strict=True)]
    return packets, bases, spans


def loop_to_length(chunk: Path, dest: Path, *, minutes: int) -> Path:
    """Write ``minutes`` of the chunk, repeated, into the MP4 ``dest`` (moov first, as a
    progressive-download recording has it)."""
    packets, bases, spans = _read_packets(chunk)
    loops = math.ceil(minutes * 60 / CHUNK_SECONDS)
    with (
        av.open(str(chunk)) as source,
        av.open(str(dest), "w", format="mp4", options={"movflags": "+faststart"}) as out,
    ):
        streams = [
            out.add_stream_from_template(source.streams.video[0]),
            out.add_stream_from_template(source.streams.audio[0]),
        ]
        for loop in range(loops):
            for p in packets:
                shift = loop * spans[p.stream]
                packet = av.Packet(p.data)
                packet.stream = streams[p.stream]
                packet.time_base = bases[p.stream]
                packet.pts, packet.dts = p.pts + shift, p.dts + shift
                packet.duration = p.duration
                packet.is_keyframe = p.keyframe
                out.mux(packet)
    return dest


def write_hls(source: Path, directory: Path) -> Path:
    """The same recording as HLS: MPEG-TS segments cut at key frames (``-c copy``)."""
    directory.mkdir(parents=True, exist_ok=True)
    playlist = directory / "index.m3u8"
    with (
        av.open(str(source)) as src,
        av.open(
            str(playlist),
            "w",
            format="hls",
            options={
                "hls_time": str(HLS_SEGMENT_SECONDS),
                "hls_playlist_type": "vod",
                "hls_segment_filename": str(directory / "seg%05d.ts"),
            },
        ) as out,
    ):
        video = out.add_stream_from_template(src.streams.video[0])
        audio = out.add_stream_from_template(src.streams.audio[0])
        targets = {src.streams.video[0].index: video, src.streams.audio[0].index: audio}
        for packet in src.demux():
            if packet.dts is None or not packet.size:
                continue
            packet.stream = targets[packet.stream.index]
            out.mux(packet)
    return playlist


# Lower renditions of the 720p lecture, with its very audio (as a CDN's ladder has it).
RENDITIONS = {"r480": (854, 480, 500_000), "r360": (640, 360, 250_000)}


@dataclass(frozen=True)
class Renditions:
    """A master playlist offering the 720p HLS lecture and two smaller renditions."""

    master: Path
    directories: dict[str, Path]  # rendition name -> its HLS directory, 720p first

    def bytes_of(self, name: str) -> int:
        return sum(p.stat().st_size for p in self.directories[name].iterdir())


def encode_rendition_chunk(chunk: Path, dest: Path, width: int, height: int, bit_rate: int):
    """The chunk's video scaled down and encoded at ``bit_rate``; its audio packets copied
    as they are, so every rendition carries the same audio."""
    with av.open(str(chunk)) as source, av.open(str(dest), "w", format="mp4") as out:
        video = out.add_stream(
            "libx264", rate=FPS, options={"preset": "ultrafast", "tune": "zerolatency"}
        )
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.bit_rate = bit_rate
        video.codec_context.gop_size = GOP_FRAMES
        audio = out.add_stream_from_template(source.streams.audio[0])
        for frame in source.decode(video=0):
            scaled = frame.reformat(width=width, height=height, format="yuv420p")
            scaled.pts = frame.pts
            scaled.time_base = frame.time_base
            out.mux(video.encode(scaled))
        out.mux(video.encode(None))
        source.seek(0)
        for packet in source.demux(source.streams.audio[0]):
            if packet.dts is None or not packet.size:
                continue
            packet.stream = audio
            out.mux(packet)
    return dest


def generate_renditions(root: Path, lecture: Lecture) -> Renditions:
    """Two smaller renditions of ``lecture`` beside its 720p HLS, and their master playlist
    (reused when a previous run left them)."""
    base = root / f"renditions-{lecture.minutes}min"
    base.mkdir(parents=True, exist_ok=True)
    directories = {"r720": lecture.hls_dir}
    lines = [
        "#EXTM3U",
        '#EXT-X-STREAM-INF:BANDWIDTH=1500000,RESOLUTION=1280x720,CODECS="avc1.64001f,mp4a.40.2"',
        f"../{lecture.hls_dir.name}/index.m3u8",
    ]
    for name, (width, height, bit_rate) in RENDITIONS.items():
        directory = base / name
        if not (directory / "index.m3u8").exists():
            chunk = root / f"chunk-{name}.mp4"
            if not chunk.exists():
                encode_rendition_chunk(
                    root / "chunk.mp4", root / "chunk.tmp.mp4", width, height, bit_rate
                ).rename(chunk)
            mp4 = base / f"{name}.mp4"
            loop_to_length(chunk, mp4, minutes=lecture.minutes)
            write_hls(mp4, directory)
            mp4.unlink()
        directories[name] = directory
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={bit_rate + AUDIO_BIT_RATE},"
            f'RESOLUTION={width}x{height},CODECS="avc1.64001f,mp4a.40.2"',
            f"{name}/index.m3u8",
        ]
    master = base / "master.m3u8"
    master.write_text("\n".join(lines) + "\n")
    return Renditions(master=master, directories=directories)


def generate_lectures(root: Path, minutes: tuple[int, ...] = (5, 60)) -> dict[int, Lecture]:
    """The benchmark's lectures under ``root``, reused when a previous run left them."""
    root.mkdir(parents=True, exist_ok=True)
    chunk = root / "chunk.mp4"
    if not chunk.exists():
        encode_chunk(root / "chunk.tmp.mp4").rename(chunk)
    lectures = {}
    for length in minutes:
        mp4 = root / f"lecture-{length}min.mp4"
        hls_dir = root / f"hls-{length}min"
        if not mp4.exists():
            loop_to_length(chunk, root / f"lecture-{length}min.tmp.mp4", minutes=length).rename(mp4)
        if not (hls_dir / "index.m3u8").exists():
            write_hls(mp4, hls_dir)
        lectures[length] = Lecture(length, mp4, hls_dir)
    return lectures


def media_summary(path: Path) -> dict[str, float]:
    """Duration and bitrates of a generated file, as a sanity check for the report."""
    with av.open(str(path)) as container:
        seconds = container.duration / av.time_base
        size = os.path.getsize(path)
        return {
            "seconds": round(seconds, 1),
            "mbytes": round(size / 1e6, 1),
            "mbit_s": round(size * 8 / seconds / 1e6, 2),
        }
