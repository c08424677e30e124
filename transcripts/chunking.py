"""Cutting the lecture's audio into requests: the chunk plan and the encoding of a chunk.

Each chunk is at most ``chunk_seconds`` plus a short overlap with the next, so a word cut
at a boundary is heard whole by one of the two requests (``merge`` keeps it once). A chunk
is encoded on its own, by seeking in the stored audio, decoding its span and encoding it
to mono 16 kHz speech (Opus in Ogg when FFmpeg has libopus, else low-rate AAC in M4A: the
providers take both); so any chunk can be (re-)encoded alone, at a lower rate if it came
out over the upload limit, and memory never holds more than a few frames.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
from av.stream import Discard

from lectures.audio import AudioExtractionError, NoAudioStream, audio_duration

SAMPLE_RATE = 16_000
_BYTES_PER_SAMPLE = 2  # s16 mono, the intermediate format the chunk is cut from
# Container overhead of a chunk, and slack over the nominal bit rate, when estimating size.
_OVERHEAD_BYTES = 16 * 1024
_RATE_SLACK = 1.15


class ChunkEncodingError(Exception):
    """The stored audio could not be read or a chunk could not be encoded."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "the audio could not be encoded"


@dataclass(frozen=True)
class SpeechFormat:
    """How chunks are encoded: codec, container, file name and type for the upload."""

    codec: str
    container: str
    extension: str
    content_type: str
    bit_rates: tuple[int, ...]  # tried from the first down, until a chunk fits the limit


OPUS = SpeechFormat("libopus", "ogg", "ogg", "audio/ogg", (24_000, 16_000, 12_000, 8_000, 6_000))
AAC = SpeechFormat("aac", "ipod", "m4a", "audio/mp4", (32_000, 24_000, 16_000, 12_000))


def speech_format() -> SpeechFormat:
    """Opus when the bundled FFmpeg has libopus (PyAV's wheels do), else AAC. FFmpeg's
    own ``opus`` encoder does not count: it is experimental and takes 48 kHz only."""
    return OPUS if "libopus" in av.codecs_available else AAC


@dataclass(frozen=True)
class Chunk:
    """A span of the lecture's audio sent in one request, in seconds of the lecture."""

    index: int
    start: float
    end: float  # includes the overlap with the next chunk

    @property
    def duration(self) -> float:
        return self.end - self.start


def plan_chunks(duration: float, *, chunk_seconds: float, overlap: float) -> list[Chunk]:
    """Chunks starting every ``chunk_seconds``, each running ``overlap`` seconds into the
    next; a chunk that would reach the end anyway is the last (no sliver of a chunk that
    the previous overlap already covers)."""
    if duration <= 0:
        return []
    chunks: list[Chunk] = []
    start = 0.0
    while True:
        reach = start + chunk_seconds + overlap
        chunks.append(Chunk(len(chunks), start, round(min(reach, duration), 6)))
        if reach >= duration:
            return chunks
        start += chunk_seconds


def fitting_chunk_seconds(
    chunk_seconds: float, overlap: float, max_bytes: int, fmt: SpeechFormat
) -> float:
    """``chunk_seconds``, or less when even the lowest bit rate would not fit a chunk of
    that length (plus overlap) under ``max_bytes``."""
    longest = (max_bytes - _OVERHEAD_BYTES) / (fmt.bit_rates[-1] / 8 * _RATE_SLACK) - overlap
    return max(1.0, min(float(chunk_seconds), math.floor(longest)))


def bit_rates_for(seconds: float, max_bytes: int, fmt: SpeechFormat) -> list[int]:
    """The bit rates worth trying for a chunk, highest first: those whose estimated size
    fits (the lowest always stays, as the last resort)."""
    fitting = [
        rate
        for rate in fmt.bit_rates
        if rate / 8 * seconds * _RATE_SLACK + _OVERHEAD_BYTES <= max_bytes
    ]
    return fitting or [fmt.bit_rates[-1]]


def stored_audio_duration(path: str | os.PathLike[str]) -> float:
    """The stored audio's duration (``lectures.audio.audio_duration``)."""
    try:
        return audio_duration(path)
    except NoAudioStream:
        raise ChunkEncodingError("the stored audio has no audio track") from None
    except AudioExtractionError:
        raise ChunkEncodingError("the stored audio could not be read") from None


def encode_chunk(
    source: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    chunk: Chunk,
    *,
    fmt: SpeechFormat,
    bit_rate: int,
) -> int:
    """Encode the chunk's span of ``source`` into ``dest``; returns its size in bytes."""
    dest = Path(dest)
    try:
        with av.open(str(source)) as container:
            stream = container.streams.audio[0]
            for other in container.streams:
                if other.index != stream.index:
                    other.discard = Discard.all
            if chunk.start > 0:
                # Backward: the frame at or before the start; frames before it are cut below.
                container.seek(
                    int(chunk.start / stream.time_base),
                    stream=stream,
                    backward=True,
                    any_frame=True,
                )
            with av.open(str(dest), "w", format=fmt.container) as output:
                _encode_span(container, stream, output, chunk, fmt, bit_rate)
    except av.error.FFmpegError as error:
        dest.unlink(missing_ok=True)
        raise ChunkEncodingError(
            f"chunk {chunk.index} could not be encoded ({error.strerror})"
        ) from None
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest.stat().st_size


def _encode_span(container, stream, output, chunk: Chunk, fmt: SpeechFormat, bit_rate: int) -> None:
    out_stream = output.add_stream(fmt.codec, rate=SAMPLE_RATE, layout="mono")
    out_stream.bit_rate = bit_rate
    if fmt.codec == "libopus":
        out_stream.codec_context.options = {"application": "voip", "vbr": "constrained"}
    encoder = out_stream.codec_context
    to_pcm = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
    to_encoder = av.AudioResampler(
        format=encoder.format.name,
        layout="mono",
        rate=SAMPLE_RATE,
        frame_size=encoder.frame_size or None,
    )
    first = round(chunk.start * SAMPLE_RATE)
    last = round(chunk.end * SAMPLE_RATE)
    position: int | None = None  # the lecture's sample number of the next PCM sample
    written = 0

    def encode(frames) -> None:
        for frame in frames:
            for packet in out_stream.encode(frame):
                output.mux(packet)

    def feed(pcm: bytes) -> None:
        nonlocal written
        samples = len(pcm) // _BYTES_PER_SAMPLE
        frame = av.AudioFrame(format="s16", layout="mono", samples=samples)
        frame.planes[0].update(pcm)
        frame.sample_rate = SAMPLE_RATE
        frame.pts = written
        frame.time_base = Fraction(1, SAMPLE_RATE)
        written += samples
        encode(to_encoder.resample(frame))

    for packet in container.demux(stream):
        if position is not None and position >= last:
            break
        try:
            decoded = packet.decode()
        except av.error.InvalidDataError:
            continue
        for frame in decoded:
            if position is None:
                if frame.pts is None or frame.time_base is None:
                    position = 0
                else:
                    position = max(0, round(float(frame.pts * frame.time_base) * SAMPLE_RATE))
            for pcm_frame in to_pcm.resample(frame):
                pcm = bytes(pcm_frame.planes[0])[: pcm_frame.samples * _BYTES_PER_SAMPLE]
                begin, end = position, position + pcm_frame.samples
                position = end
                lo, hi = max(begin, first), min(end, last)
                if lo < hi:
                    feed(pcm[(lo - begin) * _BYTES_PER_SAMPLE : (hi - begin) * _BYTES_PER_SAMPLE])
    encode(to_encoder.resample(None))
    encode([None])
