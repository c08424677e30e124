"""The overlap merge and the chunk plan, on synthetic answers."""

from __future__ import annotations

import pytest

from transcripts.chunking import plan_chunks
from transcripts.merge import ChunkResult, merge_chunks
from transcripts.provider import ChunkAnswer, Segment


def timed(*segments: tuple[float, float, str] | Segment) -> ChunkAnswer:
    return ChunkAnswer(
        segments=tuple(
            Segment(*s) if isinstance(s, tuple) and not isinstance(s, Segment) else s
            for s in segments
        ),
        timed=True,
    )


def texts(segments: list[Segment]) -> list[str]:
    return [s.text for s in segments]


def test_segment_times_move_onto_the_lectures_timeline():
    merged = merge_chunks(
        [
            ChunkResult(0, 25, timed((1, 3, "a"))),
            ChunkResult(20, 45, timed((10, 12, "b"))),
        ]
    )

    assert merged == [Segment(1, 3, "a"), Segment(30, 32, "b")]


def test_of_two_segments_covering_the_same_speech_the_one_further_from_its_edge_is_kept():
    # Chunk 0 ends at 25 and chunk 1 starts at 20: "left" was heard whole by chunk 0 (4 s
    # before its end) and cut by chunk 1's start; "right" was cut by chunk 0's end and
    # heard whole by chunk 1 (4 s after its start).
    merged = merge_chunks(
        [
            ChunkResult(0, 25, timed((2, 18, "early"), (18, 21, "left"), (24, 25, "right, cut"))),
            ChunkResult(20, 45, timed((0, 1, "left, cut"), (4, 7, "right"), (8, 20, "late"))),
        ]
    )

    assert texts(merged) == ["early", "left", "right", "late"]


def test_speech_heard_by_one_side_only_is_kept():
    merged = merge_chunks(
        [
            ChunkResult(0, 25, timed((19, 21, "only in the tail"))),
            ChunkResult(20, 45, timed((3, 4.5, "only in the head"))),
        ]
    )

    assert texts(merged) == ["only in the tail", "only in the head"]


def test_segments_overlapping_by_less_than_half_are_different_speech():
    merged = merge_chunks(
        [
            ChunkResult(0, 25, timed((18, 22, "one"))),
            ChunkResult(20, 45, timed((1.5, 5, "two"))),  # 21.5-25: overlaps "one" by 0.5 s
        ]
    )

    assert texts(merged) == ["one", "two"]


def test_a_segment_spanning_the_cut_is_kept_once_from_the_side_that_heard_it_whole():
    merged = merge_chunks(
        [
            ChunkResult(
                0, 25, timed((15, 19, "before"), (19, 23, "across"), (23, 25, "next, cut"))
            ),
            ChunkResult(20, 45, timed((0, 3, "across, cut"), (3, 8, "next"))),
        ]
    )

    assert texts(merged) == ["before", "across", "next"]


def test_an_equal_distance_keeps_the_earlier_chunks_segment():
    merged = merge_chunks(
        [
            ChunkResult(0, 25, timed((21, 24, "from chunk 0"))),
            ChunkResult(20, 45, timed((1, 4, "from chunk 1"))),
        ]
    )

    assert texts(merged) == ["from chunk 0"]


def test_answers_without_timestamps_give_one_segment_per_chunk_up_to_the_next_cut():
    untimed = [
        ChunkResult(0, 25, ChunkAnswer((Segment(0, 25, "first"),), timed=False)),
        ChunkResult(20, 45, ChunkAnswer((Segment(0, 25, "second"),), timed=False)),
        ChunkResult(40, 50, ChunkAnswer((), timed=False)),
    ]

    assert merge_chunks(untimed) == [Segment(0, 20, "first"), Segment(20, 40, "second")]


def test_silent_chunks_give_no_segments():
    assert merge_chunks([ChunkResult(0, 25, timed()), ChunkResult(20, 30, timed())]) == []


def test_many_chunks_of_sentences_merge_to_every_second_once():
    # Sentences of 3 s over 130 s; each chunk reports the part of each sentence it holds.
    chunks = plan_chunks(130, chunk_seconds=20, overlap=5)
    results = []
    for chunk in chunks:
        segments = []
        for sentence in range(0, 130, 3):
            start, end = max(sentence, chunk.start), min(sentence + 3, chunk.end, 130)
            if start < end:
                words = " ".join(f"s{n}" for n in range(int(start), int(end)))
                segments.append(Segment(start - chunk.start, end - chunk.start, words))
        results.append(ChunkResult(chunk.start, chunk.end, timed(*segments)))

    merged = merge_chunks(results)

    heard = [int(word[1:]) for text in texts(merged) for word in text.split()]
    assert heard == list(range(130))


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (0, []),
        (10, [(0, 10)]),
        (25, [(0, 25)]),
        (26, [(0, 25), (20, 26)]),
        (45, [(0, 25), (20, 45)]),
        (60, [(0, 25), (20, 45), (40, 60)]),
    ],
)
def test_the_chunk_plan_overlaps_each_cut_and_never_ends_with_a_sliver(duration, expected):
    chunks = plan_chunks(duration, chunk_seconds=20, overlap=5)

    assert [(c.start, c.end) for c in chunks] == expected
    assert all(c.end - c.start <= 25 for c in chunks)
