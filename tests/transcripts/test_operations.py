"""``transcribe_lectures``, and the transcript queued when the audio job completes."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ

from lectures.models import Lecture
from lectures.pipeline import lecture_process
from tests.lectures.factories import LectureFactory
from tests.transcripts.helpers import completed_transcript, lecture_with_audio
from tests.transcripts.provider_stub import Fault
from tests.transcripts.speech import seconds_in
from transcripts.models import Transcript
from transcripts.services import TASK

pytestmark = pytest.mark.django_db(transaction=True)


def command(*args: str) -> str:
    out = io.StringIO()
    call_command("transcribe_lectures", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def queued_tasks() -> list[str]:
    return [job.task["args"][0] for job in OrmQ.objects.all() if job.task["func"] == TASK]


@pytest.mark.usefixtures("transcription_settings")
def test_missing_queues_the_lectures_without_a_transcript(speech):
    missing = lecture_with_audio(speech, title="Missing")
    done = lecture_with_audio(speech, title="Done")
    completed_transcript(done, [(0, 1, "hi")])

    out = command("--missing")

    assert f"[1/1] {missing.id}" in out and "queued" in out
    assert "1 lecture(s): 1 queued, 0 skipped" in out
    assert queued_tasks() == [str(missing.id)]
    assert Transcript.objects.get(lecture=missing).status == "queued"


@pytest.mark.usefixtures("transcription_settings")
def test_dry_run_lists_and_changes_nothing(speech):
    lecture = lecture_with_audio(speech)
    Transcript.objects.create(lecture=lecture, status="failed")

    out = command("--failed", "--dry-run")

    assert "would transcribe (transcript: failed)" in out
    assert Transcript.objects.get(lecture=lecture).status == "failed"
    assert queued_tasks() == []


@pytest.mark.usefixtures("transcription_settings")
def test_wait_transcribes_here_and_reports_the_outcome(speech):
    lecture = lecture_with_audio(speech)

    out = command("--lecture", str(lecture.id), "--wait")

    assert "completed (" in out and "1 completed, 0 failed" in out
    texts = lecture.transcript_segments.order_by("index").values_list("text", flat=True)
    assert seconds_in(list(texts)) == list(range(130))


@pytest.mark.usefixtures("transcription_settings")
def test_wait_exits_non_zero_when_a_transcript_fails(speech, provider_stub):
    provider_stub.faults = [Fault(401)] * 10
    lecture = lecture_with_audio(speech)

    with pytest.raises(CommandError, match="1 transcript"):
        command("--lecture", str(lecture.id), "--wait")


def test_the_command_refuses_when_transcription_is_off(settings):
    settings.TRANSCRIPTION_BACKEND = "none"

    with pytest.raises(CommandError, match="turned off"):
        command("--missing")


# --- After the audio job --------------------------------------------------------------


@pytest.mark.usefixtures("lecture_settings")
def test_a_completed_download_queues_its_transcript_with_a_backend(media_server, settings):
    settings.TRANSCRIPTION_BACKEND = "openai"
    settings.TRANSCRIPTION_BASE_URL = "http://127.0.0.1:9/v1"
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    lecture_process(lecture_id=lecture.id)

    assert Lecture.objects.get(pk=lecture.pk).status == "completed"
    assert Transcript.objects.get(lecture=lecture).status == "queued"
    assert queued_tasks() == [str(lecture.id)]


@pytest.mark.usefixtures("lecture_settings")
def test_without_a_backend_the_audio_job_queues_no_transcript(media_server, settings):
    settings.TRANSCRIPTION_BACKEND = "none"
    lecture = LectureFactory(stream_url=media_server.file_url("lecture.mp4"))

    lecture_process(lecture_id=lecture.id)

    assert Lecture.objects.get(pk=lecture.pk).status == "completed"
    assert not Transcript.objects.exists()


# --- The scheduled reaper -------------------------------------------------------------


# Not transactional: the schedule is a migration's row, and a transactional test's flush
# removes it for the tests after it.
@pytest.mark.django_db
def test_the_transcript_reaper_runs_on_a_django_q_schedule():
    from django_q.models import Schedule

    schedule = Schedule.objects.get(func="transcripts.tasks.reap_stale_transcripts")

    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 5, -1)


def test_the_reaper_queues_stale_and_lost_transcripts_again(speech, settings):
    from transcripts.tasks import reap_stale_transcripts

    long_ago = timezone.now() - timedelta(days=1)
    stale = lecture_with_audio(speech)
    Transcript.objects.create(
        lecture=stale, status="transcribing", heartbeat_at=long_ago, attempt_count=1
    )
    lost = lecture_with_audio(speech)
    Transcript.objects.create(lecture=lost, status="queued")
    Transcript.objects.filter(lecture=lost).update(updated_at=long_ago)
    fresh = lecture_with_audio(speech)
    Transcript.objects.create(lecture=fresh, status="transcribing", heartbeat_at=timezone.now())

    result = reap_stale_transcripts()

    assert result == "2 transcripts queued again"
    assert Transcript.objects.get(lecture=stale).status == "queued"
    assert Transcript.objects.get(lecture=stale).attempt_count == 1
    assert Transcript.objects.get(lecture=fresh).status == "transcribing"
    assert sorted(queued_tasks()) == sorted([str(stale.id), str(lost.id)])
