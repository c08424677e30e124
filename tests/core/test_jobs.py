"""The job mechanism (``core.jobs``), through a small job on the real Lecture model and the
real PostgreSQL. The heartbeat thread has its own database connection, so rows are
committed (``transactional_db``)."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import timedelta
from multiprocessing import Value
from pathlib import Path
from queue import SimpleQueue
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.utils import timezone
from django_q.worker import worker

from core import jobs
from core.jobs import Job, JobFailed, LostClaim, Outcome
from core.models import JobRow
from lectures.models import Lecture
from tests.lectures.factories import LectureFactory
from tests.waiting import wait_until

pytestmark = pytest.mark.usefixtures("transactional_db")

Status = Lecture.Status


class ExpectedError(Exception):
    pass


class ProbeJob(Job):
    """A job whose steps each test supplies, on the lecture's own job fields."""

    model = Lecture
    name = "probe"
    crash_message = "internal error in the probe"
    stale_seconds = 60
    heartbeat_seconds = 0.05
    max_attempts = 2

    steps: Callable[[ProbeJob, Path], None] = staticmethod(lambda job, scratch: None)
    discarded: list[uuid.UUID] = []
    root: str | None = None

    @classmethod
    def scratch_root(cls) -> str | None:
        return cls.root

    def work(self, scratch: Path) -> None:
        type(self).steps(self, scratch)

    def failure_reason(self, error: Exception) -> str | None:
        return str(error) if isinstance(error, ExpectedError) else None

    def discard(self) -> None:
        type(self).discarded.append(self.pk)


@pytest.fixture
def probe(tmp_path: Path, monkeypatch) -> type[ProbeJob]:
    """``ProbeJob`` with scratch under this test's directory, a fresh discard record, and
    steps that ``with_steps`` sets for this test only."""
    monkeypatch.setattr(ProbeJob, "root", str(tmp_path))
    monkeypatch.setattr(ProbeJob, "discarded", [])
    monkeypatch.setattr(ProbeJob, "steps", ProbeJob.steps)
    return ProbeJob


def with_steps(probe: type[ProbeJob], steps: Callable[[ProbeJob, Path], None]) -> None:
    probe.steps = staticmethod(steps)


def stale_heartbeat() -> object:
    return timezone.now() - timedelta(seconds=ProbeJob.stale_seconds + 1)


def complete(job: ProbeJob, scratch: Path) -> None:
    job.move(Status.COMPLETED, {"audio_storage_key": "audio/probe.m4a"})


# --- The table of statuses -------------------------------------------------------------


def job_models() -> list[type[JobRow]]:
    return [model for model in apps.get_models() if issubclass(model, JobRow)]


def test_every_job_model_declares_what_each_of_its_statuses_resets():
    assert {model.__name__ for model in job_models()} >= {"Lecture", "Transcript", "DocumentText"}
    for model in job_models():
        statuses = {value for value, _label in model._meta.get_field("status").choices}
        assert set(model.states.resets) == statuses, model.__name__


def test_a_move_writes_what_the_status_resets_saves_and_logs_one_line(caplog):
    lecture = LectureFactory(
        status=Status.FAILED,
        progress=40,
        error_message="source is not a video",
        attempt_count=2,
        claim_token=uuid.uuid4(),
        heartbeat_at=timezone.now(),
    )

    with caplog.at_level(logging.INFO, logger="studybuddy.lectures"):
        jobs.move(lecture, Status.QUEUED, {"attempt_count": 0}, reason="retry requested")

    lecture.refresh_from_db()
    assert (lecture.status, lecture.progress, lecture.error_message) == ("queued", 0, "")
    assert (lecture.attempt_count, lecture.claim_token, lecture.heartbeat_at) == (0, None, None)
    assert [record.getMessage() for record in caplog.records] == [
        f'lecture={lecture.pk} from=failed to=queued reason="retry requested"'
    ]


def test_a_completion_is_stamped_at_the_move():
    lecture = LectureFactory(status=Status.EXTRACTING)
    before = timezone.now()

    jobs.move(lecture, Status.COMPLETED)

    lecture.refresh_from_db()
    assert (lecture.status, lecture.progress) == ("completed", 100)
    assert lecture.completed_at >= before


# --- Claiming --------------------------------------------------------------------------


def test_a_claim_moves_a_queued_row_to_its_first_step_with_a_token_and_a_heartbeat(probe):
    lecture = LectureFactory()

    job = probe.claim(lecture.pk)

    lecture.refresh_from_db()
    assert job is not None
    assert (lecture.status, lecture.attempt_count) == ("downloading", 1)
    assert lecture.claim_token == job.token is not None
    assert lecture.heartbeat_at is not None


def test_a_second_claim_is_refused_while_the_first_is_fresh(probe):
    lecture = LectureFactory()
    first = probe.claim(lecture.pk)

    second = probe.claim(lecture.pk)

    lecture.refresh_from_db()
    assert second is None
    assert (lecture.claim_token, lecture.attempt_count) == (first.token, 1)


def test_a_stale_claim_is_taken_over_and_its_scratch_removed(probe, tmp_path):
    dead_worker = uuid.uuid4()
    lecture = LectureFactory(
        status=Status.EXTRACTING,
        claim_token=dead_worker,
        heartbeat_at=stale_heartbeat(),
        attempt_count=1,
        progress=95,
    )
    leftover = tmp_path / f"studybuddy-probe-{lecture.pk}-dead"
    leftover.mkdir()

    job = probe.claim(lecture.pk)

    lecture.refresh_from_db()
    assert job is not None
    assert (lecture.status, lecture.progress, lecture.attempt_count) == ("downloading", 0, 2)
    assert lecture.claim_token == job.token != dead_worker
    assert not leftover.exists()


@pytest.mark.parametrize("status", [Status.COMPLETED, Status.FAILED])
def test_a_finished_row_is_not_claimed(probe, status):
    lecture = LectureFactory(status=status)

    assert probe.run(lecture.pk) == Outcome.SKIPPED
    lecture.refresh_from_db()
    assert (lecture.status, lecture.attempt_count) == (status, 0)


def test_a_row_that_used_up_its_attempts_ends_failed_instead_of_being_claimed(probe):
    lecture = LectureFactory(
        status=Status.DOWNLOADING,
        claim_token=uuid.uuid4(),
        heartbeat_at=stale_heartbeat(),
        attempt_count=ProbeJob.max_attempts,
    )

    assert probe.run(lecture.pk) == Outcome.FAILED

    lecture.refresh_from_db()
    assert lecture.status == "failed"
    assert lecture.error_message == "processing stopped 2 times without finishing"
    assert (lecture.claim_token, lecture.heartbeat_at) == (None, None)


def test_a_missing_row_is_skipped(probe):
    assert probe.run(uuid.uuid4()) == Outcome.SKIPPED


# --- Running ----------------------------------------------------------------------------


def test_a_run_works_in_a_scratch_directory_that_is_removed_afterwards(probe, tmp_path):
    lecture = LectureFactory()
    seen: list[Path] = []

    def steps(job: ProbeJob, scratch: Path) -> None:
        (scratch / "source").write_bytes(b"data")
        seen.append(scratch)
        complete(job, scratch)

    with_steps(probe, steps)
    outcome = probe.run(lecture.pk)

    lecture.refresh_from_db()
    assert outcome == Outcome.COMPLETED
    assert (lecture.status, lecture.progress, lecture.claim_token) == ("completed", 100, None)
    assert seen[0].parent == tmp_path
    assert not seen[0].exists()


def test_the_heartbeat_is_refreshed_while_the_job_works(probe):
    lecture = LectureFactory()
    beats: list[object] = []

    def steps(job: ProbeJob, scratch: Path) -> None:
        first = Lecture.objects.get(pk=job.pk).heartbeat_at
        beats.append(first)

        def refreshed() -> object:
            now = Lecture.objects.get(pk=job.pk).heartbeat_at
            return now if now > first else None

        beats.append(wait_until(refreshed, message="the heartbeat was not refreshed"))
        complete(job, scratch)

    with_steps(probe, steps)
    assert probe.run(lecture.pk) == Outcome.COMPLETED
    assert beats[1] > beats[0]


def test_the_heartbeat_threads_lines_carry_the_jobs_context(probe, monkeypatch, logs):
    lecture = LectureFactory()

    def database_blip(job: ProbeJob) -> None:
        raise RuntimeError("database blip")

    def failed_beats() -> list[logging.LogRecord]:
        return [r for r in logs.records if r.getMessage().endswith("heartbeat failed")]

    def steps(job: ProbeJob, scratch: Path) -> None:
        wait_until(failed_beats, message="no failed heartbeat was logged")
        complete(job, scratch)

    monkeypatch.setattr(probe, "heartbeat", database_blip)
    with_steps(probe, steps)
    assert probe.run(lecture.pk) == Outcome.COMPLETED
    warning = failed_beats()[0]
    assert (warning.threadName, warning.job) == (f"heartbeat-{lecture.pk}", f"probe:{lecture.pk}")


def test_progress_is_written_at_most_once_a_second_and_never_as_100(probe, monkeypatch):
    lecture = LectureFactory()
    written: list[int] = []
    clock = [1_000.0]  # the job's monotonic clock, moved by the test
    monkeypatch.setattr(jobs, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    def steps(job: ProbeJob, scratch: Path) -> None:
        for percent in (10, 20):
            job.report_progress(percent)
            written.append(Lecture.objects.get(pk=job.pk).progress)
        clock[0] += 1.0
        job.report_progress(100)
        written.append(Lecture.objects.get(pk=job.pk).progress)

    with_steps(probe, steps)
    probe.run(lecture.pk)

    assert written == [0, 0, 99]


# --- Lost claims ------------------------------------------------------------------------


def test_a_job_whose_row_was_taken_over_stops_and_writes_nothing(probe):
    lecture = LectureFactory()
    other_worker = uuid.uuid4()

    def steps(job: ProbeJob, scratch: Path) -> None:
        Lecture.objects.filter(pk=job.pk).update(claim_token=other_worker, progress=7)
        complete(job, scratch)

    with_steps(probe, steps)
    outcome = probe.run(lecture.pk)

    lecture.refresh_from_db()
    assert outcome == Outcome.ABANDONED
    assert (lecture.status, lecture.progress) == ("downloading", 7)
    assert (lecture.claim_token, lecture.audio_storage_key) == (other_worker, "")
    assert probe.discarded == [lecture.pk]


def test_the_heartbeat_notices_a_lost_claim_and_the_job_stops_at_its_next_write(probe):
    lecture = LectureFactory()
    noticed = threading.Event()

    def steps(job: ProbeJob, scratch: Path) -> None:
        Lecture.objects.filter(pk=job.pk).delete()
        if job.lost.wait(timeout=10):
            noticed.set()
        job.report_progress(50)  # the job's own thread learns it here
        raise AssertionError("report_progress should have raised LostClaim")

    with_steps(probe, steps)
    assert probe.run(lecture.pk) == Outcome.ABANDONED
    assert noticed.is_set()


def test_holding_the_claim_refuses_a_job_that_lost_it(probe):
    lecture = LectureFactory()
    job = probe.claim(lecture.pk)
    Lecture.objects.filter(pk=lecture.pk).update(claim_token=uuid.uuid4())

    with pytest.raises(LostClaim), job.holding_claim():
        pytest.fail("the block ran without the claim")


# --- Failures ---------------------------------------------------------------------------


def test_an_expected_failure_stores_its_short_message_and_releases_the_claim(probe, caplog):
    lecture = LectureFactory()

    def steps(job: ProbeJob, scratch: Path) -> None:
        raise ExpectedError("source is not a video")

    with_steps(probe, steps)
    with caplog.at_level(logging.INFO):
        outcome = probe.run(lecture.pk)

    lecture.refresh_from_db()
    assert outcome == Outcome.FAILED
    assert (lecture.status, lecture.error_message) == ("failed", "source is not a video")
    assert (lecture.claim_token, lecture.heartbeat_at) == (None, None)
    assert probe.discarded == [lecture.pk]
    assert not any(record.exc_info for record in caplog.records)


def test_a_long_failure_message_is_cut_to_the_stored_limit(probe):
    lecture = LectureFactory()

    def steps(job: ProbeJob, scratch: Path) -> None:
        raise ExpectedError("x" * 2000)

    with_steps(probe, steps)
    probe.run(lecture.pk)

    lecture.refresh_from_db()
    assert lecture.error_message == "x" * ProbeJob.error_max_length


def test_an_unexpected_error_fails_the_row_generically_is_logged_and_raised(probe, caplog):
    lecture = LectureFactory()

    def steps(job: ProbeJob, scratch: Path) -> None:
        raise KeyError("secret detail")

    with_steps(probe, steps)
    with pytest.raises(KeyError):
        probe.run(lecture.pk)

    lecture.refresh_from_db()
    assert (lecture.status, lecture.error_message) == ("failed", "internal error in the probe")
    assert lecture.claim_token is None
    assert [r.getMessage() for r in caplog.records if r.exc_info] == [
        f"probe={lecture.pk} job crashed"
    ]


# --- django-q2 --------------------------------------------------------------------------


def fail_as_expected(lecture_id: str) -> None:
    raise JobFailed(f"lecture {lecture_id} failed (see its error message)")


def fail_with_a_bug() -> None:
    raise ValueError("a bug")


def run_in_a_django_q_worker(func: str, *args: object) -> dict:
    """One task through django-q2's own worker loop, in this process."""
    tasks: SimpleQueue = SimpleQueue()
    results: SimpleQueue = SimpleQueue()
    tasks.put({"id": uuid.uuid4().hex, "name": "probe", "func": func, "args": args, "kwargs": {}})
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1), timeout=None)
    return results.get_nowait()


def test_a_task_raising_job_failed_is_failed_with_its_message_and_no_traceback():
    task = run_in_a_django_q_worker("tests.core.test_jobs.fail_as_expected", "L1")

    assert task["success"] is False
    assert task["result"] == "lecture L1 failed (see its error message)"


def test_a_task_raising_anything_else_keeps_its_traceback():
    task = run_in_a_django_q_worker("tests.core.test_jobs.fail_with_a_bug")

    assert task["success"] is False
    assert "Traceback (most recent call last)" in task["result"]
