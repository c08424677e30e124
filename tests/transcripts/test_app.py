"""The transcripts app beside lectures: the statuses a lecture body names are this app's."""

from lectures.models import TRANSCRIPT_STATUS_CHOICES, TRANSCRIPT_STATUSES
from transcripts.models import TranscriptStatus


def test_lecture_bodies_name_exactly_the_transcript_statuses():
    assert list(TRANSCRIPT_STATUSES) == TranscriptStatus.values
    assert TranscriptStatus.choices == TRANSCRIPT_STATUS_CHOICES
    assert TRANSCRIPT_STATUSES[0] == TranscriptStatus.NONE
