"""django-q2 tasks of transcripts: the job (an id in, the job, nothing else) and the
scheduled reaper."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.jobs import task_result
from transcripts.jobs import transcript_process
from transcripts.services import transcript_reap_stale


def transcribe_lecture(lecture_id: str) -> str:
    return task_result(
        transcript_process(lecture_id=lecture_id),
        f"transcript of lecture {lecture_id} failed (see its error message)",
    )


def reap_stale_transcripts() -> str:
    """The scheduled reaper: queue transcripts whose worker went silent, and those whose
    task was lost, again (as ``lectures.tasks.reap_stale_lectures`` does for the audio)."""
    stale_before = timezone.now() - timedelta(seconds=settings.TRANSCRIPTION_STALE_SECONDS)
    # Longer than the broker's own re-delivery: until then a queued job may just be waiting.
    queued_before = stale_before - timedelta(seconds=settings.Q_RETRY_SECONDS)
    queued = transcript_reap_stale(stale_before=stale_before, queued_before=queued_before)
    return f"{queued} transcripts queued again"
