"""Merging the chunks' answers into one transcript on the lecture's timeline.

Each chunk overlaps the next by a few seconds, so speech near a cut is heard twice: once
at the tail of one chunk and once at the head of the next, where either request may have
caught it truncated. Two segments from the two sides of a cut cover the same speech when
they overlap by at least half of the shorter one; of such a pair the one further from its
own chunk's edge is kept (the tail segment's distance to its chunk's end, the head
segment's distance to its chunk's start), since the provider heard more context around
it. Everything else is kept: nothing appears twice, nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from transcripts.provider import ChunkAnswer, Segment

# Two segments cover the same speech when they overlap by at least this share of the
# shorter one; and a segment of no length counts as this long.
_SAME_SPEECH = 0.5
_SHORTEST = 0.05


@dataclass(frozen=True)
class ChunkResult:
    """A chunk's answer and where the chunk lies on the lecture's timeline."""

    start: float
    end: float
    answer: ChunkAnswer


@dataclass
class _Placed:
    segment: Segment  # on the lecture's timeline
    chunk_start: float
    chunk_end: float


def _length(segment: Segment) -> float:
    return max(segment.end - segment.start, _SHORTEST)


def _same_speech(a: Segment, b: Segment) -> float:
    """How much ``a`` and ``b`` overlap, or 0 when they are not the same speech."""
    shared = min(a.end, b.end) - max(a.start, b.start)
    if a.end - a.start <= 0 or b.end - b.start <= 0:
        # A point in time: the same speech when it lies within the other.
        shared = _SHORTEST if max(a.start, b.start) <= min(a.end, b.end) else 0.0
    if shared <= 0 or shared < _SAME_SPEECH * min(_length(a), _length(b)):
        return 0.0
    return shared


def _placed(result: ChunkResult, next_start: float | None) -> list[_Placed]:
    answer = result.answer
    if not answer.timed:
        # Text only: it spans the chunk; up to the next chunk's start, so that two such
        # segments do not claim the same seconds.
        end = result.end if next_start is None else min(result.end, next_start)
        return [
            _Placed(Segment(result.start, end, s.text), result.start, result.end)
            for s in answer.segments
        ]
    return [
        _Placed(
            Segment(round(result.start + s.start, 3), round(result.start + s.end, 3), s.text),
            result.start,
            result.end,
        )
        for s in answer.segments
    ]


def merge_chunks(results: list[ChunkResult]) -> list[Segment]:
    """The lecture's segments in time order, overlaps resolved."""
    ordered = sorted(results, key=lambda r: r.start)
    kept: list[_Placed] = []
    for number, result in enumerate(ordered):
        following = ordered[number + 1].start if number + 1 < len(ordered) else None
        incoming = _placed(result, following)
        if kept:
            kept, incoming = _resolve_cut(kept, incoming, cut=result.start)
        kept.extend(incoming)
    segments = [p.segment for p in kept]
    segments.sort(key=lambda s: (s.start, s.end))
    return segments


def _resolve_cut(
    before: list[_Placed], after: list[_Placed], *, cut: float
) -> tuple[list[_Placed], list[_Placed]]:
    """Drop, of each pair covering the same speech across the cut, the segment nearer
    its chunk's edge; largest overlaps are settled first."""
    tail = [p for p in before if p.segment.end >= cut]
    pairs = []
    for a in tail:
        for b in after:
            shared = _same_speech(a.segment, b.segment)
            if shared:
                pairs.append((shared, a, b))
    pairs.sort(key=lambda pair: -pair[0])
    dropped: set[int] = set()
    for _, a, b in pairs:
        if id(a) in dropped or id(b) in dropped:
            continue
        margin_a = a.chunk_end - a.segment.end
        margin_b = b.segment.start - b.chunk_start
        # A tie keeps the earlier chunk's segment.
        dropped.add(id(b) if margin_a >= margin_b else id(a))
    return (
        [p for p in before if id(p) not in dropped],
        [p for p in after if id(p) not in dropped],
    )
