"""The worker process itself: how it reports a lecture that fails, and how it stops."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest
from django_q.models import Task
from django_q.tasks import async_task

from courses.models import Enrollment
from lectures.models import Lecture
from tests.e2e.conftest import wait_for
from tests.factories import CourseFactory
from tests.lectures.media_server import always

pytestmark = pytest.mark.e2e

VIEWER = (
    "https://rochester.hosted.panopto.com/Panopto/Pages/Viewer.aspx"
    "?id=7c1f0b9e-3d2a-4e8b-9f6c-5a4b3c2d1e0f"
)


def worker_log(tmp_path: Path) -> str:
    return (tmp_path / "worker.log").read_text()


def test_a_lecture_failing_for_an_expected_reason_is_one_line_without_traceback(
    start_worker, alice_client, alice, media_server, tmp_path
):
    url, _ = media_server.route(always(404))
    course = CourseFactory()
    Enrollment.objects.create(user=alice, course=course)
    start_worker()

    response = alice_client.post(
        "/api/lectures/download",
        {"course_id": str(course.id), "panopto_url": VIEWER, "stream_url": url},
        format="json",
    )
    lecture_id = response.json()["id"]
    task = wait_for(
        lambda: Task.objects.filter(func="lectures.tasks.process_lecture").first(),
        timeout=120,
        what="the task result",
    )

    assert Lecture.objects.get(pk=lecture_id).status == "failed"
    assert task.success is False
    assert task.result == f"lecture {lecture_id} failed (see its error message)"
    wait_for(
        lambda: "Failed 'lectures." in worker_log(tmp_path),
        timeout=30,
        what="the failure in the worker log",
    )
    log = worker_log(tmp_path)
    assert "Traceback" not in log
    errors = [line for line in log.splitlines() if " ERROR " in line]
    assert len(errors) == 1, log
    assert errors[0].endswith(f" - lecture {lecture_id} failed (see its error message)")


def test_an_idle_worker_stops_on_ctrl_c(start_worker, tmp_path):
    worker = start_worker()
    wait_for(lambda: "running." in worker_log(tmp_path), timeout=60, what="the cluster to run")

    # What Ctrl-C in a terminal does: SIGINT to the whole process group.
    os.killpg(worker.process.pid, signal.SIGINT)

    wait_for(lambda: worker.process.poll() is not None, timeout=10, what="the worker to exit")
    assert worker.process.returncode == 0
    assert "has stopped." in worker_log(tmp_path)


def test_the_procfile_worker_stops_when_its_whole_process_group_gets_sigterm(
    start_worker, tmp_path
):
    # honcho (make run's Ctrl-C) and systemd's default stop mode signal the whole group;
    # a bare qcluster would hang there (django-q2's guard dies first).
    worker = start_worker(command=("deploy/worker.py",))
    wait_for(lambda: "running." in worker_log(tmp_path), timeout=60, what="the cluster to run")

    os.killpg(worker.process.pid, signal.SIGTERM)

    wait_for(lambda: worker.process.poll() is not None, timeout=10, what="the worker to exit")
    assert worker.process.returncode == 0
    assert "has stopped." in worker_log(tmp_path)
    assert not [p for p in psutil.process_iter(["cmdline"]) if _is_cluster_of(p, tmp_path)]


def _is_cluster_of(process: psutil.Process, tmp_path: Path) -> bool:
    """A qcluster process still running with this test's environment."""
    try:
        cmdline = process.info["cmdline"] or []
        return "qcluster" in cmdline and str(tmp_path) in str(process.environ())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def _pids_of_two_jobs_in_a_row() -> list[int]:
    """Two tasks, one after the other, each answering the pid of the process that ran it."""
    pids = []
    for _ in range(2):
        task_id = async_task("os.getpid")
        task = wait_for(
            lambda task_id=task_id: Task.get_task(task_id), timeout=120, what="the task result"
        )
        assert task.success is True
        pids.append(task.result)
    return pids


@pytest.mark.parametrize(
    ("max_rss", "replaced"),
    [("1024", True), ("0", False)],
    ids=["over-the-limit", "no-limit"],
)
def test_a_worker_whose_memory_passed_q_max_rss_bytes_is_replaced_after_its_job(
    start_worker, max_rss, replaced
):
    # Every Python process is past 1 KiB, so with that limit each job gets a fresh process.
    start_worker(Q_MAX_RSS_BYTES=max_rss)

    first, second = _pids_of_two_jobs_in_a_row()

    assert (first != second) is replaced
