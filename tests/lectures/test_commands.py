"""The operators' management commands, run as an operator would."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_q.models import OrmQ, Schedule

from courses.models import Course
from lectures.models import Lecture
from tests.factories import CourseFactory, UserFactory
from tests.lectures.factories import LectureFactory

pytestmark = pytest.mark.django_db


def run(command: str, *args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command(command, *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def queued_jobs() -> list[str]:
    return sorted(job.task["args"][0] for job in OrmQ.objects.all())


def age(key: str, minutes: int) -> None:
    """Make a stored file look ``minutes`` old (local storage)."""
    then = time.time() - minutes * 60
    os.utime(default_storage.path(key), (then, then))


# --- import_courses --------------------------------------------------------------------


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_import_courses_creates_updates_and_leaves_unchanged(tmp_path):
    CourseFactory(code="CSC 173", title="Old title", instructor="", is_official=False)
    CourseFactory(code="MTH 101", title="Calculus", instructor="Dr. N", is_official=True)
    path = write(
        tmp_path,
        "catalogue.csv",
        "code,title,instructor\n"
        "csc  173,Computation and Formal Systems,Dr. K\n"
        "MTH 101,Calculus,Dr. N\n"
        "PHY 121,Mechanics,\n",
    )

    out, _ = run("import_courses", path)

    assert "CSC 173: updated" in out
    assert "MTH 101: unchanged" in out
    assert "PHY 121: created" in out
    assert "3 course(s): 1 created, 1 updated, 1 unchanged" in out
    csc = Course.objects.get(code="CSC 173")
    assert (csc.title, csc.instructor, csc.is_official) == (
        "Computation and Formal Systems",
        "Dr. K",
        True,
    )
    assert Course.objects.get(code="PHY 121").is_official


def test_import_courses_is_idempotent(tmp_path):
    path = write(tmp_path, "c.json", json.dumps([{"code": "BIO 100", "title": "Biology"}]))

    run("import_courses", path)
    out, _ = run("import_courses", path)

    assert "1 course(s): 0 created, 0 updated, 1 unchanged" in out
    assert Course.objects.count() == 1


def test_import_courses_reads_json_with_a_courses_key(tmp_path):
    path = write(
        tmp_path,
        "c.json",
        json.dumps({"courses": [{"code": "BIO 100", "title": "Biology", "instructor": "Dr. D"}]}),
    )

    run("import_courses", path)

    assert Course.objects.get(code="BIO 100").instructor == "Dr. D"


def test_a_file_with_one_bad_row_imports_nothing_and_names_the_row(tmp_path):
    path = write(
        tmp_path, "c.csv", "code,title\nCSC 173,Computation\nMTH 101,\nPHY 121,Mechanics\n"
    )

    with pytest.raises(CommandError, match="nothing imported"):
        run("import_courses", path)

    assert not Course.objects.exists()


def test_bad_rows_are_reported_with_their_line_numbers(tmp_path):
    path = write(
        tmp_path, "c.csv", "code,title\nCSC 173,Computation\n,No code\nCSC  173,Duplicate\n"
    )
    err = io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_courses", path, stdout=io.StringIO(), stderr=err)

    assert "line 3: code is empty" in err.getvalue()
    assert "line 4: course CSC 173 is already in line 2" in err.getvalue()


def test_import_courses_dry_run_changes_nothing(tmp_path):
    path = write(tmp_path, "c.json", json.dumps([{"code": "BIO 100", "title": "Biology"}]))

    out, _ = run("import_courses", path, "--dry-run")

    assert "BIO 100: created" in out and "dry run" in out
    assert not Course.objects.exists()


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("c.txt", "code,title\n"),
        ("c.json", "{not json"),
        ("c.json", '{"other": []}'),
        ("c.csv", "name,description\nx,y\n"),
    ],
)
def test_import_courses_refuses_unreadable_files(tmp_path, name, text):
    with pytest.raises(CommandError):
        run("import_courses", write(tmp_path, name, text))


def test_import_courses_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError):
        run("import_courses", str(tmp_path / "nope.csv"))


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


def test_the_reaper_runs_on_a_django_q_schedule():
    schedule = Schedule.objects.get(func="lectures.tasks.reap_stale_lectures")

    assert (schedule.schedule_type, schedule.minutes, schedule.repeats) == ("I", 5, -1)


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


# --- purge_orphans ---------------------------------------------------------------------


@pytest.fixture
def stored_files():
    from documents.models import Document

    owner = UserFactory()
    course = CourseFactory()
    document_id = uuid.uuid4()
    kept_doc = default_storage.save(f"documents/{document_id}.pdf", ContentFile(b"%PDF-1.4 x"))
    Document.objects.create(
        id=document_id,
        owner=owner,
        course=course,
        original_filename="a.pdf",
        size_bytes=10,
        sha256="0" * 64,
        storage_key=kept_doc,
    )
    lecture = LectureFactory(status="completed")
    kept_audio = default_storage.save(f"audio/{lecture.id}.m4a", ContentFile(b"audio"))
    Lecture.objects.filter(pk=lecture.pk).update(audio_storage_key=kept_audio)
    orphan = default_storage.save(f"documents/{uuid.uuid4()}.pdf", ContentFile(b"%PDF-1.4 y"))
    orphan_audio = default_storage.save(f"audio/{uuid.uuid4()}.m4a", ContentFile(b"old"))
    for key in (kept_doc, kept_audio, orphan, orphan_audio):
        age(key, 60)
    return {"kept": [kept_doc, kept_audio], "orphans": [orphan, orphan_audio]}


def test_purge_orphans_deletes_unreferenced_files_and_keeps_referenced_ones(stored_files):
    out, _ = run("purge_orphans")

    for key in stored_files["orphans"]:
        assert not default_storage.exists(key)
        assert f"orphan {key}: deleted" in out
    for key in stored_files["kept"]:
        assert default_storage.exists(key)
    assert "2 orphan file(s) (deleted 2)" in out


def test_purge_orphans_dry_run_deletes_nothing(stored_files):
    out, _ = run("purge_orphans", "--dry-run")

    assert out.count(": would delete") == 2
    for key in stored_files["orphans"] + stored_files["kept"]:
        assert default_storage.exists(key)


def test_purge_orphans_keeps_a_fresh_unreferenced_file(stored_files):
    fresh = default_storage.save(f"documents/{uuid.uuid4()}.pdf", ContentFile(b"%PDF- upload"))

    out, _ = run("purge_orphans")

    assert default_storage.exists(fresh)
    assert f"unreferenced {fresh}: kept" in out


def test_purge_orphans_reports_a_row_whose_file_was_removed(stored_files):
    removed = stored_files["kept"][0]
    default_storage.delete(removed)

    out, _ = run("purge_orphans")

    assert f"missing file: document {removed.split('/')[1].removesuffix('.pdf')}" in out
    assert "1 row(s) with a missing file" in out


def test_purge_orphans_finds_nothing_in_a_clean_store(stored_files):
    for key in stored_files["orphans"]:
        default_storage.delete(key)

    out, _ = run("purge_orphans", "--dry-run")

    assert "0 orphan file(s)" in out and "0 row(s) with a missing file" in out


def test_purge_orphans_refuses_a_negative_age():
    with pytest.raises(CommandError):
        run("purge_orphans", "--min-age", "-1")


@pytest.mark.parametrize(
    "command",
    [
        "import_courses",
        "retry_failed_downloads",
        "reap_stale_downloads",
        "purge_orphans",
        "dev_token",
    ],
)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command(command, "--help")

    assert exit_info.value.code == 0
    assert "usage:" in capsys.readouterr().out
