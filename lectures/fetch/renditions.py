"""Which HLS rendition to download: the smallest one that carries the best audio.

Every other downloader fetches the best *video* rendition and throws the video away: for a
720p lecture that is 5-10 times the bytes the audio needs. Renditions of one lecture
usually carry the very same audio, so the smallest rendition gives the same result. But
not always: a low rendition may have a lower audio bit rate or sample rate, and then the
best audio wins over the bytes saved.

What "the same audio" means is measured, not read from the playlist (``CODECS`` says
``mp4a.40.2`` for 32 and 192 kbit/s alike): the first segment of each candidate is fetched
through the guarded client and probed with PyAV, on the local copy, for the audio's codec,
sample rate, channels and bit rate (from the packets' sizes over their span, which needs
no header to declare it). Two renditions have the same audio when codec, sample rate and
channels are equal and the bit rates are within a few per cent (separate encodes of one
source at one setting differ a little).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import av
import av.error

__all__ = ["AudioSignature", "Probed", "choose_probed", "probe_audio"]

# Separate encodes at one setting measure within a few per cent on a segment; a step
# between encoder settings (96, 128, 160 kbit/s...) is 20 % or more.
_BIT_RATE_TOLERANCE = 0.08
_BIT_RATE_SLACK = 4_000  # bit/s: rounding on very short segments


@dataclass(frozen=True)
class AudioSignature:
    """A rendition's audio, as probed from its first segment."""

    codec: str
    sample_rate: int
    channels: int
    bit_rate: int  # measured, bit/s

    def same_as(self, other: AudioSignature) -> bool:
        """Equal codec, sample rate and channels, and bit rates within the tolerance."""
        if (self.codec, self.sample_rate, self.channels) != (
            other.codec,
            other.sample_rate,
            other.channels,
        ):
            return False
        allowed = max(_BIT_RATE_SLACK, _BIT_RATE_TOLERANCE * max(self.bit_rate, other.bit_rate))
        return abs(self.bit_rate - other.bit_rate) <= allowed

    @property
    def quality(self) -> tuple[int, int, int]:
        """What "better audio" means: more bits per second, then more samples, then more
        channels."""
        return (self.bit_rate, self.sample_rate, self.channels)


@dataclass(frozen=True)
class Probed:
    """A candidate rendition after its first segment was probed."""

    uri: str
    bandwidth: int  # declared in the master playlist (0: not declared)
    first_segment_bytes: int
    audio: AudioSignature


def probe_audio(path: str | os.PathLike[str]) -> AudioSignature | None:
    """The audio of a media segment on local disk; ``None`` when it has no audio track or
    FFmpeg cannot read it (such a candidate is not chosen)."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.audio:
                return None
            stream = container.streams.audio[0]
            codec = stream.codec_context
            size = 0
            first = end = None
            for packet in container.demux(stream):
                if not packet.size or packet.pts is None:
                    continue
                size += packet.size
                first = packet.pts if first is None else min(first, packet.pts)
                packet_end = packet.pts + (packet.duration or 0)
                end = packet_end if end is None else max(end, packet_end)
            if first is None or end is None or end <= first or stream.time_base is None:
                return None
            seconds = float((end - first) * stream.time_base)
            return AudioSignature(
                codec=codec.name,
                sample_rate=codec.sample_rate or 0,
                channels=codec.channels or 0,
                bit_rate=round(size * 8 / seconds),
            )
    except (av.error.FFmpegError, ValueError):
        return None


def choose_probed(probed: list[Probed]) -> Probed:
    """The smallest rendition whose audio is the same as the best audio among ``probed``.

    Smallest by declared bandwidth, or by the first segment's size where a candidate
    declares none.
    """
    if not probed:
        raise ValueError("no probed rendition to choose from")
    best = max(probed, key=lambda p: p.audio.quality)
    same = [p for p in probed if p.audio.same_as(best.audio)]
    if all(p.bandwidth for p in same):
        return min(same, key=lambda p: (p.bandwidth, p.first_segment_bytes))
    return min(same, key=lambda p: p.first_segment_bytes)
