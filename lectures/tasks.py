"""django-q2 tasks: an id in, a service call, nothing else."""

from lectures.pipeline import lecture_process


class LectureProcessingFailed(Exception):
    """Raised so the task shows as failed in the admin's task pages; the lecture row has
    the user-facing reason."""


def process_lecture(lecture_id: str) -> str:
    outcome = lecture_process(lecture_id=lecture_id)
    if outcome == "failed":
        raise LectureProcessingFailed(f"lecture {lecture_id} failed (see its error message)")
    return outcome
