"""Extracting a recording's audio track into an ``.m4a`` file with PyAV.

AAC (the usual Panopto case) is remuxed packet by packet, without decoding: fast and
lossless. Any other codec is decoded and encoded to AAC. Both paths stream packets, so
memory does not grow with the recording's length. Only local files, or bytes the
downloader hands over, are read: the downloader (``lectures.fetch``) is the only thing
that touches the network.
"""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import av.error
from av.bitstream import BitStreamFilterContext
from av.stream import Discard

__all__ = [
    "AudioExtractionError",
    "AudioResult",
    "AudioTooShort",
    "NoAudioStream",
    "UnreadableMedia",
    "audio_duration",
    "extract_audio",
]

AAC_BIT_RATE = 128_000
# AAC-LC supports these sample rates; anything else is resampled to 48 kHz.
_AAC_RATES = frozenset(
    {8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000}
)
# The output may be shorter than the source's declared duration by encoder priming,
# padding and rounding, never by more than this (seconds, or a fraction of the source).
_DURATION_SLACK_SECONDS = 2.0
_DURATION_SLACK_RATIO = 0.02


class AudioExtractionError(Exception):
    """Extraction failed; ``str(error)`` is a short message for the user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NoAudioStream(AudioExtractionError):
    """The recording has no audio track."""


class UnreadableMedia(AudioExtractionError):
    """The file is not media FFmpeg can read, or it is corrupt."""


class DiskFull(AudioExtractionError):
    """The scratch disk filled up while the audio was written."""


class AudioTooShort(AudioExtractionError):
    """The output is much shorter than the source says it is: a broken or truncated input."""


@dataclass(frozen=True)
class AudioResult:
    """The extracted audio file."""

    duration_seconds: float
    size_bytes: int
    codec: str
    copied: bool
    source_codec: str
    source_duration_seconds: float


def extract_audio(
    source_path: str | os.PathLike[str] | BinaryIO,
    dest_path: str | os.PathLike[str],
    progress: Callable[[float], None] | None = None,
) -> AudioResult:
    """Write the first audio track of ``source_path`` to ``dest_path`` as AAC in MP4.

    ``source_path`` is a local file, or a file object read once from start to end (a
    recording demuxed while it downloads: see ``lectures.fetch.stream``); an error its
    ``read`` raises comes out as it is. ``progress`` receives the fraction of the source's
    audio done (0.0-1.0), when the source says how long it is. Raises
    :class:`NoAudioStream`, :class:`UnreadableMedia`, :class:`DiskFull` or
    :class:`AudioTooShort`; on any failure ``dest_path`` is removed.
    """
    dest = Path(dest_path)
    source = source_path if hasattr(source_path, "read") else Path(source_path)
    try:
        return _extract(source, dest, progress)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


def _extract(
    source: Path | BinaryIO, dest: Path, progress: Callable[[float], None] | None
) -> AudioResult:
    try:
        with _open_source(source) as container:
            stream = _audio_stream(container)
            _skip_other_streams(container, stream)
            source_codec = stream.codec_context.codec.canonical_name
            declared = _declared_duration(container, stream)
            copied = source_codec == "aac"
            span = _Span(stream.time_base, declared, progress)
            with av.open(str(dest), mode="w", format="mp4", options=_MP4_OPTIONS) as output:
                packets = span.track(_packets(container, stream))
                if copied:
                    _remux(packets, stream, output)
                else:
                    _transcode(packets, stream, output)
    except av.error.FFmpegError as error:
        if getattr(error, "errno", None) in _NO_ROOM:
            raise DiskFull(_DISK_FULL) from None
        raise UnreadableMedia(_unreadable_message(error)) from None
    if span.seconds <= 0:
        raise UnreadableMedia("recording's audio track is empty")
    if not _written_whole(dest):
        raise DiskFull(_DISK_FULL)
    _check_source_complete(span, declared)
    duration = audio_duration(dest)
    _check_duration(duration, span.seconds)
    return AudioResult(
        duration_seconds=duration,
        size_bytes=dest.stat().st_size,
        codec="aac",
        copied=copied,
        source_codec=source_codec,
        source_duration_seconds=span.seconds,
    )


# The audio is written as a fragmented MP4: 10-second fragments, each with its own small
# index (``moof``), one segment index (``sidx``) at the front so that a player seeks
# without reading the file, and the first fragment's edit list in the ``moov`` (the
# encoder's priming samples stay trimmed, as in a plain MP4). A plain MP4 would keep an
# index entry for every packet in the muxer's memory until the end, ~17 MB for an hour of
# AAC (~170,000 packets); a fragment's entries are dropped once it is written, so what
# the muxer holds does not grow with the lecture's length. It is the kind of MP4 that DASH
# and HLS serve; FFmpeg reads it, and a test plays it in Chromium.
_MP4_OPTIONS = {
    "movflags": "+delay_moov+default_base_moof+global_sidx",
    "frag_duration": str(10 * 1_000_000),  # microseconds
}

_DISK_FULL = "not enough disk space to extract the audio"
# A full disk, a full quota, or a file larger than the process may write.
_NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
_BOX_HEADER = struct.Struct(">I4s")
_LARGE_BOX_SIZE = struct.Struct(">Q")


def _written_whole(path: Path) -> bool:
    """Whether the fragmented MP4 at ``path`` was written to its end: its top-level boxes
    (a 32-bit size and a type each, or size 1 and a 64-bit size after the type) cover the
    file exactly and the last is ``mfra``, the index FFmpeg writes after everything else.

    FFmpeg reports a write that fails while packets arrive, but drops one that fails while
    it finishes the file (the last fragments, the ``sidx``, the ``mfra``) without a word:
    on a full disk the file just stops, and its header still announces the whole length.
    An hour has ~720 boxes: as many small reads.
    """
    size = path.stat().st_size
    last = b""
    with path.open("rb") as file:
        at = 0
        while at < size:
            file.seek(at)
            header = file.read(_BOX_HEADER.size + _LARGE_BOX_SIZE.size)
            if len(header) < _BOX_HEADER.size:
                return False
            box_size, last = _BOX_HEADER.unpack_from(header)
            if box_size == 1:
                if len(header) < _BOX_HEADER.size + _LARGE_BOX_SIZE.size:
                    return False
                (box_size,) = _LARGE_BOX_SIZE.unpack_from(header, _BOX_HEADER.size)
            if box_size < _BOX_HEADER.size or at + box_size > size:
                return False
            at += box_size
    return last == b"mfra"


# FFmpeg's read size on a file object: a network chunk (up to 1 MiB) per call, not 32 kB.
_FILE_OBJECT_BUFFER = 1024 * 1024


def _open_source(source: Path | BinaryIO) -> av.container.InputContainer:
    if isinstance(source, Path):
        return av.open(str(source), mode="r")
    return av.open(source, mode="r", buffer_size=_FILE_OBJECT_BUFFER)


class _Span:
    """The time covered by the packets that went through, in seconds."""

    def __init__(
        self,
        time_base: Fraction,
        declared: float | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> None:
        self._time_base = time_base
        self._first: int | None = None
        self._end: int | None = None
        self._declared = declared
        self._progress = progress

    def track(self, packets: Iterator[av.Packet]) -> Iterator[av.Packet]:
        report = self._progress if self._progress and self._declared else None
        for count, packet in enumerate(packets):  # ~170,000 for an hour: kept lean
            pts = packet.pts
            start = pts if pts is not None else packet.dts
            end = start + (packet.duration or 0)
            if self._first is None or start < self._first:
                self._first = start
            if self._end is None or end > self._end:
                self._end = end
            if report and count % 64 == 0:  # an AAC packet is ~21 ms: every ~1.4 s of audio
                report(min(1.0, self.seconds / self._declared))
            yield packet

    @property
    def seconds(self) -> float:
        if self._first is None or self._end is None:
            return 0.0
        return float((self._end - self._first) * self._time_base)

    @property
    def end_seconds(self) -> float:
        """Where the last packet ends on the source's own clock (HLS starts seconds in)."""
        return float((self._end or 0) * self._time_base)


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream:
    if not container.streams.audio:
        raise NoAudioStream("recording has no audio")
    stream = container.streams.audio[0]
    if stream.codec_context is None or not stream.codec_context.name:
        raise UnreadableMedia("recording's audio uses an unknown codec")
    return stream


def _skip_other_streams(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> None:
    """Tell the demuxer to skip the video: an MP4 demuxer then seeks past video samples
    instead of reading them (a lecture's file is >90 % video), as ``ffmpeg -vn`` does."""
    for other in container.streams:
        if other.index != stream.index:
            other.discard = Discard.all


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    """What the source says its audio lasts: the stream header, else the container's."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        # MPEG-TS has no header duration; FFmpeg estimates it from the last timestamps.
        return container.duration / av.time_base
    return None


def _packets(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> Iterator[av.Packet]:
    """The stream's real packets (the demuxer ends with empty flush packets)."""
    for packet in container.demux(stream):
        if packet.size and packet.dts is not None:
            yield packet


def _remux(
    packets: Iterator[av.Packet],
    stream: av.audio.stream.AudioStream,
    output: av.container.OutputContainer,
) -> None:
    """Copy AAC packets into ``output``, shifted to start at zero.

    MP4 sources start at a small negative time (the encoder's priming samples, which the
    MP4 muxer turns back into an edit list): those are kept as they are. Only a positive
    start, as in MPEG-TS/HLS (seconds into the stream), is shifted away.
    """
    out_stream = output.add_stream_from_template(stream)
    unwrap = _AdtsUnwrapper(stream, out_stream) if not stream.codec_context.extradata else None
    offset: int | None = None
    for packet in packets:
        if offset is None:
            offset = max(packet.dts, 0)
        if offset:
            packet.dts -= offset
            if packet.pts is not None:
                packet.pts -= offset
        for written in unwrap.filter(packet) if unwrap else (packet,):
            written.stream = out_stream
            output.mux(written)


class _AdtsUnwrapper:
    """AAC from MPEG-TS (HLS) comes in ADTS frames, each with its own header, where MP4
    wants raw frames and one configuration (``AudioSpecificConfig``) in the header.
    FFmpeg's ``aac_adtstoasc`` filter does the conversion. The MP4 muxer would insert it
    by itself, but a fragmented MP4 writes its header before the first packet, so the
    configuration the filter finds in that packet is handed to the output stream first.
    """

    def __init__(
        self, stream: av.audio.stream.AudioStream, out_stream: av.audio.stream.AudioStream
    ) -> None:
        self._filter = BitStreamFilterContext("aac_adtstoasc", stream)
        self._out_stream = out_stream
        self._configured = False

    def filter(self, packet: av.Packet) -> list[av.Packet]:
        filtered = self._filter.filter(packet)
        if not self._configured and filtered:
            if not filtered[0].has_sidedata("new_extradata"):
                raise UnreadableMedia("recording's audio has no usable AAC header")
            config = bytes(filtered[0].get_sidedata("new_extradata"))
            self._out_stream.codec_context.extradata = config
            self._configured = True
        return filtered


def _transcode(
    packets: Iterator[av.Packet],
    stream: av.audio.stream.AudioStream,
    output: av.container.OutputContainer,
) -> None:
    """Decode and encode to AAC; timestamps are counted from zero in samples."""
    source_ctx = stream.codec_context
    rate = source_ctx.sample_rate if source_ctx.sample_rate in _AAC_RATES else 48000
    layout = "mono" if source_ctx.channels == 1 else "stereo"
    out_stream = output.add_stream("aac", rate=rate, layout=layout)
    out_stream.bit_rate = AAC_BIT_RATE
    encoder = out_stream.codec_context
    # The AAC encoder takes exactly frame_size samples per frame: the resampler regroups.
    resampler = av.AudioResampler(
        format=encoder.format.name, layout=layout, rate=rate, frame_size=encoder.frame_size
    )
    samples = 0
    for packet in packets:
        for frame in _decode(packet):
            samples = _encode(resampler.resample(frame), out_stream, output, samples, rate)
    samples = _encode(resampler.resample(None), out_stream, output, samples, rate)
    for packet in out_stream.encode(None):
        output.mux(packet)
    if samples == 0:
        raise UnreadableMedia("recording's audio could not be decoded")


def _decode(packet: av.Packet) -> list[av.AudioFrame]:
    try:
        return packet.decode()
    except av.error.InvalidDataError:
        # One damaged packet in a long lecture should not fail it; the duration check
        # catches inputs that are damaged throughout.
        return []


def _encode(
    frames: list[av.AudioFrame],
    out_stream: av.audio.stream.AudioStream,
    output: av.container.OutputContainer,
    samples: int,
    rate: int,
) -> int:
    for frame in frames:
        frame.pts = samples
        frame.time_base = Fraction(1, rate)
        samples += frame.samples
        for packet in out_stream.encode(frame):
            output.mux(packet)
    return samples


def audio_duration(path: str | os.PathLike[str]) -> float:
    """Duration of the first audio track of a media file: from its header when it has one
    (for the files the audio job writes, what the muxer counted while writing), else
    measured from its packets. ``AudioExtractionError`` when it cannot be read."""
    try:
        with av.open(str(path)) as container:
            stream = _audio_stream(container)
            if stream.duration and stream.time_base is not None:
                return float(stream.duration * stream.time_base)
            first = last_end = None
            for packet in _packets(container, stream):
                start = packet.pts if packet.pts is not None else packet.dts
                first = start if first is None else min(first, start)
                last_end = max(last_end or start, start + (packet.duration or 0))
    except av.error.FFmpegError as error:
        raise UnreadableMedia(_unreadable_message(error)) from None
    if first is None:
        return 0.0
    # Priming samples (negative timestamps) are not heard: count from zero at most.
    return float((last_end - max(first, 0)) * stream.time_base)


def _slack(seconds: float) -> float:
    return max(_DURATION_SLACK_SECONDS, seconds * _DURATION_SLACK_RATIO)


def _check_source_complete(span: _Span, declared: float | None) -> None:
    """A header promising more audio than the file holds means a truncated download.

    Demuxers disagree on whether a header duration counts from zero or from the first
    timestamp (fragmented MP4 from HLS counts from zero), so either reading may match.
    """
    if declared is None:
        return
    if declared > span.seconds + _slack(declared) and declared > span.end_seconds + _slack(
        declared
    ):
        raise AudioTooShort(
            f"recording's audio stops after {span.seconds:.1f} s but the recording lasts "
            f"{declared:.1f} s; the file may be damaged or incomplete"
        )


def _check_duration(duration: float, source_duration: float) -> None:
    """FFmpeg can write a near-empty file without an error: compare with the source."""
    slack = _slack(source_duration)
    if duration <= 0 or duration < source_duration - slack:
        raise AudioTooShort(
            f"extracted audio is {duration:.1f} s long but the recording lasts "
            f"{source_duration:.1f} s; the recording may be damaged"
        )


def _unreadable_message(error: av.error.FFmpegError) -> str:
    # FFmpeg's messages name the file path; the user gets a fixed sentence instead.
    if isinstance(error, av.error.InvalidDataError):
        return "recording is not a readable video or audio file"
    return "recording could not be read (damaged or unsupported file)"
