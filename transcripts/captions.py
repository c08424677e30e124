"""Captions in and out: strict WebVTT and SRT parsing, and the three text formats served.

Parsed here rather than with a caption library, because an import must say which line is
wrong (400 "line 12: …"), accept nothing it would have to guess at, and strip the markup
that both formats allow in cue text (``<v Speaker>``, ``<i>``, ``<c.yellow>``, timestamps,
``<font>``, ASS ``{\\an8}`` tags, HTML entities), where a student wants the words.

Every step is linear in the body's size, whatever it holds: a tag pattern cannot span
another tag's opening (``<[^<>]*>``), so ``<<<<…`` is read once, not once per ``<``; time
fields have bounded lengths; and a body with more cue timings than ``CAPTIONS_MAX_CUES``
is refused before any parsing.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator

from transcripts.provider import Segment

MAX_CAPTIONS_BYTES = 5 * 1024 * 1024
VTT = "text/vtt"
SRT = "application/x-subrip"

# Hours of at most 6 digits (over a century), so a time is a small number.
_VTT_TIME = r"(?:(\d{2,6}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+.*)?$")
_SRT_TIME = r"(\d{1,6}):([0-5]\d):([0-5]\d)[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+.*)?$")
_LOOKS_LIKE_TIME = re.compile(r"^\d+:\d")
_TAG = re.compile(r"<[^<>]*>")
_ASS_TAG = re.compile(r"\{\\[^{}]*\}")
_WEBVTT_HEADER = re.compile(r"^WEBVTT(?:[ \t].*)?$")


class CaptionsError(Exception):
    """Malformed captions; ``str()`` names the line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line


class TooManyCues(Exception):
    """More cue timings than the limit; ``str()`` names it."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Captions with more than {limit} cues are not taken.")
        self.limit = limit


def check_cue_count(data: bytes, limit: int) -> None:
    """Refuse, before any parsing, a body with more than ``limit`` cue timings: every cue
    has one ``-->``, so their count bounds the number of cues."""
    if data.count(b"-->") > limit:
        raise TooManyCues(limit)


def _lines(data: bytes) -> list[str]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CaptionsError(line, "the captions are not UTF-8 text") from None
    text = text.removeprefix("\ufeff")
    if "\x00" in text:
        raise CaptionsError(text[: text.index("\x00")].count("\n") + 1, "NUL character")
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _blocks(lines: list[str], first: int) -> Iterator[tuple[int, list[str]]]:
    """``(line number of the block's first line, its lines)`` of blank-line separated
    blocks, from index ``first``."""
    block: list[str] = []
    start = 0
    for number, line in enumerate(lines[first:], start=first + 1):
        if line.strip():
            if not block:
                start = number
            block.append(line)
        elif block:
            yield start, block
            block = []
    if block:
        yield start, block


def _seconds(hours: str | None, minutes: str, seconds: str, millis: str) -> float:
    return (
        int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds) + int(millis.ljust(3, "0")) / 1000
    )


def clean_cue_text(lines: Iterable[str]) -> str:
    """Cue text without markup, entities decoded, on one line."""
    text = " ".join(lines)
    text = _ASS_TAG.sub("", _TAG.sub("", text))
    return " ".join(html.unescape(text).split())


def _cue(number: int, start: float, end: float, payload: list[str]) -> Segment | None:
    if end < start:
        raise CaptionsError(number, "the cue ends before it starts")
    text = clean_cue_text(payload)
    return Segment(start, end, text) if text else None


def parse_vtt(data: bytes) -> list[Segment]:
    """Segments of a WebVTT file (cues in file order; NOTE, STYLE and REGION skipped)."""
    lines = _lines(data)
    if not _WEBVTT_HEADER.match(lines[0]):
        raise CaptionsError(1, "a WebVTT file starts with WEBVTT")
    # The header runs to the first blank line.
    first = next((i for i, line in enumerate(lines) if not line.strip()), len(lines))
    segments: list[Segment] = []
    for number, block in _blocks(lines, first):
        head = block[0]
        if head.startswith(("NOTE", "STYLE", "REGION")) and "-->" not in head:
            continue
        # A first line that starts like a time is a (broken) timing, not a cue identifier.
        timing_at = 0 if "-->" in head or _LOOKS_LIKE_TIME.match(head) else 1
        if timing_at >= len(block):
            raise CaptionsError(number + timing_at, "expected a cue timing (00:00:01.000 --> …)")
        match = _VTT_TIMING.match(block[timing_at].strip())
        if match is None:
            raise CaptionsError(
                number + timing_at, "malformed cue timing (expected 00:01:02.345 --> 00:01:04.000)"
            )
        if any("-->" in line for line in block[timing_at + 1 :]):
            bad = next(i for i, line in enumerate(block) if i > timing_at and "-->" in line)
            raise CaptionsError(number + bad, "a cue timing without a blank line before it")
        g = match.groups()
        cue = _cue(number + timing_at, _seconds(*g[:4]), _seconds(*g[4:]), block[timing_at + 1 :])
        if cue:
            segments.append(cue)
    return segments


def parse_srt(data: bytes) -> list[Segment]:
    """Segments of an SRT file: numbered cues, ``00:01:02,345 --> 00:01:04,000``."""
    lines = _lines(data)
    segments: list[Segment] = []
    for number, block in _blocks(lines, 0):
        if not block[0].strip().isdigit() or not block[0].strip().isascii():
            raise CaptionsError(number, "expected a cue number")
        if len(block) < 2:
            raise CaptionsError(number + 1, "expected a cue timing (00:00:01,000 --> …)")
        match = _SRT_TIMING.match(block[1].strip())
        if match is None:
            raise CaptionsError(
                number + 1, "malformed cue timing (expected 00:01:02,345 --> 00:01:04,000)"
            )
        g = match.groups()
        cue = _cue(number + 1, _seconds(*g[:4]), _seconds(*g[4:]), block[2:])
        if cue:
            segments.append(cue)
    return segments


def parse_captions(data: bytes, media_type: str) -> list[Segment]:
    """Segments of captions in ``media_type`` (``text/vtt`` or ``application/x-subrip``),
    in time order."""
    segments = parse_vtt(data) if media_type == VTT else parse_srt(data)
    if not segments:
        raise CaptionsError(1, "the captions contain no cue with text")
    return sorted(segments, key=lambda s: (s.start, s.end))


# --- Rendering -------------------------------------------------------------------------


def _timestamp(seconds: float, separator: str) -> str:
    millis = round(max(0.0, seconds) * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"


def render_vtt(segments: Iterable[Segment]) -> str:
    """WebVTT: ``00:01:02.345`` timings; ``&``, ``<`` and ``>`` escaped as the format
    requires (a cue text cannot contain ``-->``)."""
    parts = ["WEBVTT\n"]
    for segment in segments:
        text = html.escape(segment.text, quote=False)
        parts.append(
            f"\n{_timestamp(segment.start, '.')} --> {_timestamp(segment.end, '.')}\n{text}\n"
        )
    return "".join(parts)


def render_srt(segments: Iterable[Segment]) -> str:
    """SRT: numbered from 1, ``00:01:02,345`` timings."""
    parts = []
    for number, segment in enumerate(segments, start=1):
        parts.append(
            f"{number}\n{_timestamp(segment.start, ',')} --> {_timestamp(segment.end, ',')}\n"
            f"{segment.text}\n\n"
        )
    return "".join(parts)


def render_text(segments: Iterable[Segment]) -> str:
    """Plain text: one segment per line."""
    return "".join(f"{segment.text}\n" for segment in segments)
