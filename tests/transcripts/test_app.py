"""The transcripts app beside lectures: the statuses a lecture body names are this app's,
and its reaper is scheduled."""

import pytest

from lectures.models import TRANSCRIPT_STATUS_CHOICES, TRANSCRIPT_STATUSES
from transcripts.models import TranscriptStatus


def test_lecture_bodies_name_exactly_the_transcript_statuses():
    assert list(TRANSCRIPT_STATUSES) == TranscriptStatus.values
    assert TranscriptStatus.choices == TRANSCRIPT_STATUS_CHOICES
    assert TRANSCRIPT_STATUSES[0] == TranscriptStatus.NONE


@pytest.mark.django_db
def test_the_transcript_reaper_runs_on_a_django_q_schedule(migrated_schedules):
    assert migrated_schedules["transcripts.tasks.reap_stale_transcripts"] == ("I", 5, -1)
