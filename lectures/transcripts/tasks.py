"""django-q2 task of the transcript job: an id in, the job, nothing else."""

from core.jobs import JobFailed, Outcome
from lectures.transcripts.job import transcript_process


def transcribe_lecture(lecture_id: str) -> str:
    outcome = transcript_process(lecture_id=lecture_id)
    if outcome == Outcome.FAILED:
        # The task shows failed in the admin's task pages; the transcript has the reason.
        raise JobFailed(f"transcript of lecture {lecture_id} failed (see its error message)")
    return outcome.value
