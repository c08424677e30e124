"""The transcript in the lecture admin: column, filter, text, "Transcribe again"."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.messages import get_messages
from django.urls import reverse
from django_q.models import OrmQ

from tests.admin_helpers import completed_lecture
from tests.transcripts.helpers import completed_transcript
from transcripts.admin import ADMIN_TEXT_CHARS
from transcripts.models import Transcript
from transcripts.services import TASK

pytestmark = pytest.mark.django_db

LECTURES = reverse("admin:lectures_lecture_changelist")


def page(lecture) -> str:
    return reverse("admin:lectures_lecture_change", args=[lecture.pk])


def test_the_list_shows_and_filters_by_transcript_status(staff_client):
    done = completed_lecture(title="Transcribed lecture")
    completed_transcript(done, [(0, 1, "hi")])
    failed = completed_lecture(title="Failed transcript")
    Transcript.objects.create(lecture=failed, status="failed", error_message="HTTP 401")
    untouched = completed_lecture(title="No transcript")

    everything = staff_client.get(LECTURES).content.decode()
    only_none = staff_client.get(LECTURES, {"transcript": "none"}).content.decode()
    only_failed = staff_client.get(LECTURES, {"transcript": "failed"}).content.decode()

    assert "failed: HTTP 401" in everything
    assert untouched.title in only_none and done.title not in only_none
    assert failed.title in only_failed and untouched.title not in only_failed


def test_the_lecture_page_shows_the_transcript_text_bounded(staff_client):
    lecture = completed_lecture()
    long = "word " * 2000
    completed_transcript(lecture, [(i, i + 1, f"{long}end-of-segment-{i}") for i in range(5)])

    html = staff_client.get(page(lecture)).content.decode()

    assert "transcript text" in html.lower()
    assert f"first {ADMIN_TEXT_CHARS:,} characters" in html
    assert "end-of-segment-0" in html
    # The fifth segment is past the bound (a marker of its own: random ids, sizes and
    # dates on the page may end in "4" too).
    assert "end-of-segment-4" not in html


def test_transcribe_again_queues_completed_and_failed_lectures(
    staff_client, settings, django_capture_on_commit_callbacks
):
    settings.TRANSCRIPTION_BACKEND = "openai"
    done = completed_lecture()
    completed_transcript(done, [(0, 1, "hi")])
    running = completed_lecture()
    Transcript.objects.create(lecture=running, status="transcribing")

    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            LECTURES,
            {"action": "transcribe_again", ACTION_CHECKBOX_NAME: [str(done.pk), str(running.pk)]},
            follow=True,
        )

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages and messages[0].startswith("Queued 1 lecture for transcription; skipped 1")
    assert Transcript.objects.get(lecture=done).status == "queued"
    assert Transcript.objects.get(lecture=running).status == "transcribing"
    assert [job.task["func"] for job in OrmQ.objects.all()] == [TASK]


def test_transcribe_again_says_when_transcription_is_off(staff_client, settings):
    settings.TRANSCRIPTION_BACKEND = "none"
    lecture = completed_lecture()

    response = staff_client.post(
        LECTURES,
        {"action": "transcribe_again", ACTION_CHECKBOX_NAME: [str(lecture.pk)]},
        follow=True,
    )

    assert "turned off" in str(next(iter(get_messages(response.wsgi_request))))
    assert not Transcript.objects.exists()
