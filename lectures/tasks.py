"""django-q2 tasks: ids in, a service call, nothing else."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.jobs import task_result
from lectures import selectors, services
from lectures.jobs import lecture_process


def process_lecture(lecture_id: str) -> str:
    return task_result(
        lecture_process(lecture_id=lecture_id),
        f"lecture {lecture_id} failed (see its error message)",
    )


def reap_stale_lectures() -> str:
    """The scheduled reaper: queue lectures whose worker went silent again (those whose
    attempts are used up end failed), and queue the job of lectures whose job was lost."""
    stale_before = timezone.now() - timedelta(seconds=settings.LECTURE_STALE_SECONDS)
    outcomes = [
        services.lecture_reap_stale(lecture_id=lecture.id, stale_before=stale_before, requeue=True)
        for lecture in selectors.lecture_list_stale(stale_before=stale_before)
    ]
    # Longer than the broker's own re-delivery: until then a queued job may just be waiting.
    queued_before = stale_before - timedelta(seconds=settings.Q_RETRY_SECONDS)
    lost = [
        services.lecture_requeue_lost(lecture_id=lecture.id, queued_before=queued_before)
        for lecture in selectors.lecture_list_lost_queued(queued_before=queued_before)
    ]
    return (
        f"{outcomes.count('queued')} queued, {outcomes.count('failed')} failed, "
        f"{sum(lost)} lost jobs queued again"
    )
