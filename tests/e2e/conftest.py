"""A real `manage.py qcluster` worker process against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection

# The embeddings stub and settings, shared with the search tests.
from tests.search.conftest import embedding_stub, embeddings_on, pgvector  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgresql://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class Worker:
    """One `qcluster` process group; ``kill()`` is SIGKILL to every process in it."""

    def __init__(self, env: dict[str, str], log: Path, command: list[str]) -> None:
        self._log = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            # The cluster's own process stops its children; signalling the whole group
            # makes it wait for them instead.
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self._log.close()


@pytest.fixture
def start_worker(
    transactional_db, lecture_settings, settings, tmp_path
) -> Iterator[Callable[..., Worker]]:
    """``start_worker(**env)``: a qcluster on the test database, this test's storage and
    scratch directory, and the loopback media server allowed."""
    workers: list[Worker] = []

    def start(command: tuple[str, ...] = ("manage.py", "qcluster"), **overrides: str) -> Worker:
        env = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
            "DATABASE_URL": database_url(),
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "DOWNLOAD_TEMP_DIR": settings.DOWNLOAD_TEMP_DIR,
            "PANOPTO_ALLOWED_HOSTS": "127.0.0.1",
            "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true",
            "Q_WORKERS": "1",
            "LOG_LEVEL": "INFO",
            # deploy/worker.py empties its metrics directory: this test's own.
            "METRICS_DIR": str(tmp_path / "metrics"),
            **overrides,
        }
        worker = Worker(env, tmp_path / "worker.log", list(command))
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.stop()


def wait_for(condition: Callable[[], object], *, timeout: float, what: str) -> object:
    """Poll ``condition`` until it is truthy; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
