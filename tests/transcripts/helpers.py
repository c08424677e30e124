"""Lectures with stored audio and transcripts in given states, for the transcript tests."""

from __future__ import annotations

from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from lectures.models import Lecture
from tests.lectures.factories import LectureFactory, LectureLinkFactory
from transcripts.models import Transcript, TranscriptSegment


def lecture_with_audio(audio: Path, *, user=None, **fields) -> Lecture:
    """A completed lecture whose stored audio is the file ``audio``."""
    lecture = LectureFactory(
        status="completed", progress=100, completed_at=timezone.now(), **fields
    )
    data = audio.read_bytes()
    lecture.audio_storage_key = default_storage.save(f"audio/{lecture.id}.m4a", ContentFile(data))
    lecture.audio_size_bytes = len(data)
    lecture.duration_seconds = 130.0
    lecture.save()
    if user is not None:
        LectureLinkFactory(user=user, lecture=lecture)
    return lecture


def queued_transcript(lecture: Lecture) -> Transcript:
    return Transcript.objects.create(lecture=lecture, status="queued")


def completed_transcript(lecture: Lecture, segments: list[tuple[float, float, str]], **fields):
    transcript = Transcript.objects.create(
        lecture=lecture,
        status="completed",
        progress=100,
        completed_at=timezone.now(),
        segment_count=len(segments),
        **{"model": "whisper-1", "language": "english", **fields},
    )
    TranscriptSegment.objects.bulk_create(
        TranscriptSegment(lecture=lecture, index=i, start=a, end=b, text=t)
        for i, (a, b, t) in enumerate(segments)
    )
    return transcript
