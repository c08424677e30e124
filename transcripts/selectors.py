"""Reads of transcripts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.db.models import Q, QuerySet

from lectures.models import Lecture
from transcripts.models import Transcript, TranscriptSegment, TranscriptStatus
from transcripts.provider import Segment


@dataclass(frozen=True)
class TranscriptSummary:
    status: str
    progress: int
    error: str


def transcript_summary(lecture: Lecture) -> TranscriptSummary:
    """The transcript fields of a lecture body (``none`` when there is no transcript).
    Free when the lecture was read with ``select_related("transcript")``."""
    try:
        transcript = lecture.transcript
    except Transcript.DoesNotExist:
        return TranscriptSummary(TranscriptStatus.NONE, 0, "")
    return TranscriptSummary(transcript.status, transcript.progress, transcript.error_message)


def transcript_get(*, lecture: Lecture) -> Transcript | None:
    return Transcript.objects.filter(lecture=lecture).first()


def transcript_segments(*, lecture_id: uuid.UUID) -> list[Segment]:
    rows = TranscriptSegment.objects.filter(lecture_id=lecture_id).order_by("index")
    return [
        Segment(start, end, text) for start, end, text in rows.values_list("start", "end", "text")
    ]


def transcript_text(*, lecture_id: uuid.UUID, max_chars: int | None = None) -> tuple[str, bool]:
    """The transcript's text, one segment per line; with ``max_chars``, cut there (and
    ``True`` when it was cut)."""
    lines: list[str] = []
    size = 0
    rows = TranscriptSegment.objects.filter(lecture_id=lecture_id).order_by("index")
    for text in rows.values_list("text", flat=True).iterator(chunk_size=500):
        if max_chars is not None and size + len(text) > max_chars:
            return "\n".join(lines), True
        lines.append(text)
        size += len(text) + 1
    return "\n".join(lines), False


def lectures_to_transcribe(
    *,
    lecture_ids: list[uuid.UUID] | None = None,
    course_id: uuid.UUID | None = None,
    missing: bool = False,
    failed: bool = False,
) -> QuerySet[Lecture]:
    """Completed lectures for ``transcribe_lectures``: named ones, of a course, and those
    without a transcript (``missing``) or whose transcript failed (``failed``); with
    neither flag nor names, both."""
    queryset = (
        Lecture.objects.filter(status=Lecture.Status.COMPLETED)
        .select_related("course", "transcript")
        .order_by("completed_at", "id")
    )
    if lecture_ids:
        queryset = queryset.filter(pk__in=lecture_ids)
    if course_id is not None:
        queryset = queryset.filter(course_id=course_id)
    if not lecture_ids and not missing and not failed:
        missing = failed = True
    wanted = Q()
    if missing:
        wanted |= Q(transcript__isnull=True) | Q(transcript__status=TranscriptStatus.NONE)
    if failed:
        wanted |= Q(transcript__status=TranscriptStatus.FAILED)
    return queryset.filter(wanted) if (missing or failed) else queryset
