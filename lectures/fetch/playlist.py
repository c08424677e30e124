"""HLS playlists read with the ``m3u8`` library: bounds, variant choice, segments, keys.

Only ``m3u8.loads`` is used: it parses text and never opens a URL (``m3u8.load`` would,
with its own HTTP client, out of the guard's reach). The text comes from the guarded
client, and every URL found in it is resolved here against the playlist's own URL
(RFC 8216 section 4.1; ``m3u8``'s ``absolute_uri`` joins against the playlist's directory,
which loses the playlist's query string for a query-only reference) and fetched later
through the same client.

Bounds are checked on the raw lines *before* ``m3u8`` builds its objects: each segment is
a request, and ``m3u8``'s bookkeeping of distinct encryption keys grows with the square of
their number, so a hostile playlist must be refused before it is parsed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urljoin

import m3u8

from lectures.fetch.errors import NoAudioSource, NotMediaSource, UnsupportedSource

__all__ = [
    "MAX_PLAYLIST_BYTES",
    "MAX_SEGMENTS",
    "MAX_VARIANTS",
    "Key",
    "RenditionPlan",
    "Segment",
    "Variant",
    "choose_media_playlist",
    "media_segments",
    "parse_playlist",
    "rendition_plan",
]

MAX_PLAYLIST_BYTES = 8 * 1024 * 1024
# A 4-hour lecture in 1-second segments has 14,400; a playlist past these is hostile or
# broken, and each entry costs memory and a request.
MAX_SEGMENTS = 20_000
MAX_VARIANTS = 200
# Distinct EXT-X-KEY tags: one per segment is legitimate (FFmpeg writes an explicit IV for
# every segment), more is not. Measured: 20,000 of them cost m3u8 about 40 s.
MAX_KEYS = MAX_SEGMENTS
# RFC 8216 decimal-integer: 0 to 2^64-1.
_MAX_DECIMAL_INTEGER = 2**64 - 1
# No lecture segment lasts a day; a longer one (or an infinite or NaN one) is nonsense.
_MAX_SEGMENT_SECONDS = 86_400.0
_AUDIO_CODEC_PREFIXES = ("mp4a", "ac-3", "ec-3", "opus", "flac", "mp3", "alac")
_MALFORMED = "HLS playlist is malformed"


@dataclass(frozen=True)
class Key:
    """An AES-128 key: where to fetch it, and the IV when the playlist gives one."""

    uri: str
    iv: bytes | None


@dataclass(frozen=True)
class Segment:
    """One media segment, its URL resolved against the playlist's URL."""

    uri: str
    sequence: int
    key: Key | None
    init_uri: str | None
    byte_range: tuple[int, int] | None  # (offset, length)


def parse_playlist(text: str, url: str) -> m3u8.M3U8:
    """Parse playlist ``text`` fetched from ``url``, within the bounds; nothing is fetched.

    Not a playlist at all: :class:`NotMediaSource`. Past a bound, or text that ``m3u8``
    cannot make sense of: :class:`UnsupportedSource` with one clear message.
    """
    text = text.lstrip("\ufeff")
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    if not lines or lines[0] != "#EXTM3U":
        raise NotMediaSource("source is not a video")
    entries = sum(1 for line in lines if not line.startswith("#"))
    if any(line.startswith("#EXT-X-STREAM-INF") for line in lines):
        if entries > MAX_VARIANTS:
            raise UnsupportedSource("HLS master playlist lists too many streams")
    elif entries > MAX_SEGMENTS:
        raise UnsupportedSource("HLS playlist lists too many segments")
    if len({line for line in lines if line.startswith("#EXT-X-KEY")}) > MAX_KEYS:
        raise UnsupportedSource("HLS playlist lists too many encryption keys")
    try:
        return m3u8.loads(text, uri=url)
    except Exception:
        # Third-party parsing of hostile text: int() on a bad number, a tag missing an
        # attribute it requires... Whatever it raises, the playlist is not one we can use.
        raise UnsupportedSource(_MALFORMED) from None


@dataclass(frozen=True)
class Variant:
    """A variant stream of a master playlist: its media playlist's URL and declared bandwidth."""

    uri: str
    bandwidth: int


@dataclass(frozen=True)
class RenditionPlan:
    """What a master playlist offers for the audio: an audio-only playlist (``audio_uri``),
    or the variants that carry audio, highest bandwidth first, to probe and choose from."""

    audio_uri: str | None
    candidates: tuple[Variant, ...]


def rendition_plan(master: m3u8.M3U8, url: str) -> RenditionPlan:
    """From a master playlist fetched from ``url``, where the audio can come from.

    An audio-only source wins at once: the separate audio rendition (``EXT-X-MEDIA``, the
    default of the best variant's group) or a variant whose codecs are all audio. Otherwise
    every variant that declares audio (or, when none declares its codecs, every variant)
    is a candidate.
    """
    variants = [v for v in master.playlists if v.uri]
    if not variants:
        raise UnsupportedSource("HLS master playlist lists no streams")
    with_audio = [v for v in variants if _has_audio(v) is True]
    if not with_audio:
        with_audio = [v for v in variants if _has_audio(v) is None]
    if not with_audio:
        raise NoAudioSource("recording has no audio")
    with_audio.sort(key=lambda v: v.stream_info.bandwidth or 0, reverse=True)
    best = with_audio[0]
    group = best.stream_info.audio or ""
    renditions = [
        m for m in master.media if m.type == "AUDIO" and (m.group_id or "") == group and m.uri
    ]
    if renditions:
        chosen = next((r for r in renditions if r.default == "YES"), renditions[0])
        return RenditionPlan(audio_uri=urljoin(url, chosen.uri), candidates=())
    audio_only = [v for v in with_audio if _audio_only(v)]
    if audio_only:
        return RenditionPlan(audio_uri=urljoin(url, audio_only[0].uri), candidates=())
    candidates = tuple(
        Variant(uri=urljoin(url, v.uri), bandwidth=v.stream_info.bandwidth or 0) for v in with_audio
    )
    return RenditionPlan(audio_uri=None, candidates=candidates)


def choose_media_playlist(master: m3u8.M3U8, url: str) -> str:
    """The media playlist to take without probing: the audio-only one, else the
    highest-bandwidth variant with audio (the fallback when no candidate can be probed)."""
    plan = rendition_plan(master, url)
    return plan.audio_uri or plan.candidates[0].uri


def _audio_only(variant: m3u8.Playlist) -> bool:
    """CODECS lists only audio codecs (and no video resolution is declared)."""
    codecs = [c.strip().lower() for c in (variant.stream_info.codecs or "").split(",")]
    codecs = [c for c in codecs if c]
    return (
        bool(codecs)
        and all(c.startswith(_AUDIO_CODEC_PREFIXES) for c in codecs)
        and not variant.stream_info.resolution
    )


def _has_audio(variant: m3u8.Playlist) -> bool | None:
    """True/False when CODECS or an AUDIO group says so, None when unknown."""
    if variant.stream_info.audio:
        return True
    codecs = variant.stream_info.codecs
    if not codecs:
        return None
    return any(c.strip().lower().startswith(_AUDIO_CODEC_PREFIXES) for c in codecs.split(","))


def media_segments(playlist: m3u8.M3U8, url: str) -> list[Segment]:
    """The segments of a media playlist fetched from ``url``, keys and byte ranges resolved.

    Refused: encryption other than AES-128 (SAMPLE-AES needs a demuxer's help), init
    segments with byte ranges, and numbers out of the ranges RFC 8216 allows.
    """
    keys = {id(key): _key(key, url) for key in playlist.keys if key is not None}
    for section in playlist.segment_map:
        if section is not None:
            _init_uri(section, url)
    sequence = playlist.media_sequence or 0
    last_sequence = sequence + max(len(playlist.segments) - 1, 0)
    if sequence < 0 or last_sequence > _MAX_DECIMAL_INTEGER:
        raise UnsupportedSource(_MALFORMED)
    segments: list[Segment] = []
    next_range_start = 0
    for segment in playlist.segments:
        if not segment.uri:
            # m3u8 keeps a trailing EXTINF (or partial segment) that no URI line followed;
            # joined to the playlist URL it would fetch the playlist itself.
            continue
        duration = segment.duration
        if duration is not None and not (0 <= duration <= _MAX_SEGMENT_SECONDS):
            raise UnsupportedSource(_MALFORMED)
        byte_range = None
        if segment.byterange is not None:
            byte_range = _byte_range(segment.byterange, next_range_start)
            next_range_start = sum(byte_range)
        segments.append(
            Segment(
                uri=urljoin(url, segment.uri),
                sequence=segment.media_sequence,
                key=keys.get(id(segment.key)) if segment.key is not None else None,
                init_uri=_init_uri(segment.init_section, url) if segment.init_section else None,
                byte_range=byte_range,
            )
        )
    if not segments:
        raise UnsupportedSource("HLS playlist lists no segments")
    return segments


def _key(key: m3u8.Key, url: str) -> Key | None:
    method = (key.method or "NONE").upper()
    if method == "NONE":
        return None
    if method != "AES-128":
        raise UnsupportedSource(f"HLS encryption {method} is not supported")
    if not key.uri:
        raise UnsupportedSource("HLS playlist has an encryption key without URI")
    return Key(uri=urljoin(url, key.uri), iv=_parse_iv(key.iv) if key.iv else None)


def _parse_iv(value: str) -> bytes:
    digits = value[2:] if value.lower().startswith("0x") else value
    try:
        iv = bytes.fromhex(digits.rjust(32, "0"))
    except ValueError:
        raise UnsupportedSource("HLS playlist has an invalid encryption IV") from None
    if len(iv) != 16:
        raise UnsupportedSource("HLS playlist has an invalid encryption IV")
    return iv


def _init_uri(section: m3u8.model.InitializationSection, url: str) -> str:
    if section.byterange:
        raise UnsupportedSource("HLS init segments with byte ranges are not supported")
    if not section.uri:
        raise UnsupportedSource(_MALFORMED)
    return urljoin(url, section.uri)


def _byte_range(value: str, next_start: int) -> tuple[int, int]:
    """``length[@offset]``; without an offset the range follows the previous one."""
    length_text, _, start_text = value.partition("@")
    length = _decimal_integer(length_text)
    start = _decimal_integer(start_text) if start_text else next_start
    return start, length


def _decimal_integer(text: str) -> int:
    text = text.strip()
    # The length first: Python refuses to convert more than 4,300 digits (ValueError).
    if (
        len(text) > len(str(_MAX_DECIMAL_INTEGER))
        or not text.isdigit()
        or not text.isascii()
        or int(text) > _MAX_DECIMAL_INTEGER
    ):
        raise UnsupportedSource(_MALFORMED)
    return int(text)
