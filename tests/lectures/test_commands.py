"""The lecture commands, run as an operator would: ``retry_failed_downloads`` and
``reap_stale_downloads`` (and its schedule)."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ

from lectures.models import Lecture
from tests.factories import CourseFactory
from tests.lectures.factories import LectureFactory

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def queued_jobs() -> list[str]:
    return sorted(job.task["args"][0] for job in OrmQ.objects.all())


# --- retry_failed_downloads ------------------------------------------------------------


@pytest.fixture
def failed_lectures():
    course = CourseFactory()
    old = LectureFactory(course=course, status="failed", error_message="HTTP 404")
    Lecture.objects.filter(pk=old.pk).update(updated_at=timezone.now() - timedelta(days=10))
    recent = LectureFactory(course=course, status="failed", error_message="timed out")
    elsewhere = LectureFactory(status="failed", error_message="not a video")
    completed = LectureFactory(course=course, status="completed")
    return {"old": old, "recent": recent, "elsewhere": elsewhere, "completed": completed}


def test_retry_failed_downloads_requeues_every_failed_lecture(
    failed_lectures, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("retry_failed_downloads")

    failed = [failed_lectures[name] for name in ("old", "recent", "elsewhere")]
    assert queued_jobs() == sorted(str(lecture.id) for lecture in failed)
    assert "3 failed lecture(s): 3 queued, 0 skipped" in out
    assert Lecture.objects.get(pk=failed_lectures["completed"].pk).status == "completed"
    assert set(
        Lecture.objects.filter(pk__in=[x.pk for x in failed]).values_list("status", flat=True)
    ) == {"queued"}


def test_retry_failed_downloads_by_lecture_id(failed_lectures, django_capture_on_commit_callbacks):
    chosen = failed_lectures["recent"]

    with django_capture_on_commit_callbacks(execute=True):
        run("retry_failed_downloads", "--lecture", str(chosen.id))

    assert queued_jobs() == [str(chosen.id)]


def test_retry_failed_downloads_by_course(failed_lectures, django_capture_on_commit_callbacks):
    course_id = failed_lectures["old"].course_id

    with django_capture_on_commit_callbacks(execute=True):
        run("retry_failed_downloads", "--course", str(course_id))

    assert queued_jobs() == sorted(
        [str(failed_lectures["old"].id), str(failed_lectures["recent"].id)]
    )


def test_retry_failed_downloads_since_a_day(failed_lectures, django_capture_on_commit_callbacks):
    since = (timezone.now() - timedelta(days=2)).date().isoformat()

    with django_capture_on_commit_callbacks(execute=True):
        run("retry_failed_downloads", "--since", since)

    assert queued_jobs() == sorted(
        [str(failed_lectures["recent"].id), str(failed_lectures["elsewhere"].id)]
    )


def test_retry_failed_downloads_dry_run_changes_nothing(
    failed_lectures, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out, _ = run("retry_failed_downloads", "--dry-run")

    assert out.count("would retry") == 3
    assert queued_jobs() == []
    assert Lecture.objects.filter(status="failed").count() == 3


def test_retry_failed_downloads_names_lectures_that_are_not_failed(failed_lectures):
    unknown = uuid.uuid4()
    err = io.StringIO()

    with pytest.raises(CommandError, match="not failed"):
        call_command(
            "retry_failed_downloads",
            "--lecture",
            str(unknown),
            "--lecture",
            str(failed_lectures["completed"].id),
            stdout=io.StringIO(),
            stderr=err,
        )

    assert f"{unknown}: no such failed lecture" in err.getvalue()
    assert Lecture.objects.get(pk=failed_lectures["completed"].pk).status == "completed"


@pytest.mark.parametrize(
    "args",
    [
        ["--lecture", "nope"],
        ["--course", "12"],
        ["--since", "yesterday"],
        ["--since", "2026-13-01"],
    ],
)
def test_retry_failed_downloads_refuses_bad_arguments(args):
    with pytest.raises(CommandError):
        run("retry_failed_downloads", *args)


def test_retry_failed_downloads_wait_brings_a_fixed_source_to_completed(
    lecture_settings, media_server
):
    lecture = LectureFactory(
        status="failed", error_message="HTTP 404", stream_url=media_server.file_url("lecture.mp4")
    )

    out, _ = run("retry_failed_downloads", "--wait")

    lecture.refresh_from_db()
    assert lecture.status == "completed"
    assert default_storage.exists(lecture.audio_storage_key)
    assert f"{lecture.id}" in out and "completed" in out
    assert "1 completed, 0 failed" in out
    assert queued_jobs() == []


def test_retry_failed_downloads_wait_exits_non_zero_when_it_fails_again(
    lecture_settings, media_server
):
    lecture = LectureFactory(status="failed", stream_url=media_server.file_url("no-audio.mp4"))

    with pytest.raises(CommandError, match="failed again"):
        run("retry_failed_downloads", "--wait")

    lecture.refresh_from_db()
    assert (lecture.status, lecture.error_message) == ("failed", "recording has no audio")


# --- reap_stale_downloads --------------------------------------------------------------


@pytest.fixture
def stuck_and_fresh(settings):
    long_ago = timezone.now() - timedelta(minutes=30)
    stuck = LectureFactory(
        status="downloading", progress=35, heartbeat_at=long_ago, attempt_count=1
    )
    stuck_extracting = LectureFactory(status="extracting", heartbeat_at=long_ago, attempt_count=1)
    fresh = LectureFactory(status="downloading", heartbeat_at=timezone.now(), attempt_count=1)
    queued = LectureFactory(status="queued")
    return stuck, stuck_extracting, fresh, queued


def test_reap_stale_downloads_fails_stuck_lectures_and_leaves_fresh_ones(stuck_and_fresh):
    stuck, stuck_extracting, fresh, queued = stuck_and_fresh

    out, _ = run("reap_stale_downloads", "--older-than", "10")

    statuses = {
        lecture.pk: Lecture.objects.get(pk=lecture.pk).status for lecture in stuck_and_fresh
    }
    assert statuses == {
        stuck.pk: "failed",
        stuck_extracting.pk: "failed",
        fresh.pk: "downloading",
        queued.pk: "queued",
    }
    assert "stopped responding" in Lecture.objects.get(pk=stuck.pk).error_message
    assert "2 stale lecture(s) (no heartbeat for 10 min): 2 failed, 0 queued" in out


def test_reap_stale_downloads_requeue_queues_them_again(
    stuck_and_fresh, django_capture_on_commit_callbacks
):
    stuck, stuck_extracting, fresh, _ = stuck_and_fresh

    with django_capture_on_commit_callbacks(execute=True):
        run("reap_stale_downloads", "--older-than", "10", "--requeue")

    assert Lecture.objects.get(pk=stuck.pk).status == "queued"
    assert Lecture.objects.get(pk=stuck.pk).attempt_count == 1
    assert queued_jobs() == sorted([str(stuck.id), str(stuck_extracting.id)])
    assert Lecture.objects.get(pk=fresh.pk).status == "downloading"


def test_reap_requeue_fails_a_lecture_whose_attempts_are_used_up(settings):
    lecture = LectureFactory(
        status="downloading",
        attempt_count=settings.LECTURE_MAX_ATTEMPTS,
        heartbeat_at=timezone.now() - timedelta(hours=1),
    )

    run("reap_stale_downloads", "--requeue", "--older-than", "10")

    assert Lecture.objects.get(pk=lecture.pk).status == "failed"


def test_reap_stale_downloads_leaves_lectures_younger_than_the_limit(stuck_and_fresh):
    out, _ = run("reap_stale_downloads", "--older-than", "60")

    assert Lecture.objects.filter(status="failed").count() == 0
    assert "0 stale lecture(s)" in out


@pytest.mark.parametrize("value", ["0", "-5", "ten"])
def test_reap_stale_downloads_refuses_bad_minutes(value):
    with pytest.raises(CommandError):
        run("reap_stale_downloads", "--older-than", value)


def test_the_reaper_runs_on_a_django_q_schedule(migrated_schedules):
    assert migrated_schedules["lectures.tasks.reap_stale_lectures"] == ("I", 5, -1)


def test_the_scheduled_reaper_requeues_stale_lectures(settings, django_capture_on_commit_callbacks):
    from lectures.tasks import reap_stale_lectures

    stuck = LectureFactory(
        status="downloading",
        attempt_count=1,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.LECTURE_STALE_SECONDS + 60),
    )

    with django_capture_on_commit_callbacks(execute=True):
        result = reap_stale_lectures()

    assert result == "1 queued, 0 failed, 0 lost jobs queued again"
    assert queued_jobs() == [str(stuck.id)]


def test_the_scheduled_reaper_queues_the_job_of_a_lecture_whose_job_was_lost(
    settings, django_capture_on_commit_callbacks
):
    from lectures.tasks import reap_stale_lectures

    lost = LectureFactory(status="queued")
    waiting = LectureFactory(status="queued")
    long_ago = timezone.now() - timedelta(
        seconds=settings.Q_RETRY_SECONDS + settings.LECTURE_STALE_SECONDS + 60
    )
    Lecture.objects.filter(pk=lost.pk).update(updated_at=long_ago)

    with django_capture_on_commit_callbacks(execute=True):
        result = reap_stale_lectures()

    assert result == "0 queued, 0 failed, 1 lost jobs queued again"
    assert queued_jobs() == [str(lost.id)]
    assert Lecture.objects.get(pk=waiting.pk).status == "queued"
