"""`make demo`: the README's lecture walk-through runs against a real server and worker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import av
import pytest

from lectures.models import Lecture
from tests.live_server import ROOT, LiveServer, current_database_url

pytestmark = pytest.mark.e2e


def run_demo(server: LiveServer, work_dir: Path, *, seconds: int, env: dict[str, str]):
    """``manage.py demo_lecture`` against ``server``, as `make demo` runs it."""
    command = ["demo_lecture", "--url", server.url, "--seconds", str(seconds)]
    return subprocess.run(
        [sys.executable, "manage.py", *command, "--work-dir", str(work_dir)],
        cwd=ROOT,
        env={
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
            "DATABASE_URL": current_database_url(),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_demo_downloads_its_sample_through_the_api_and_saves_the_audio(
    start_worker, settings, tmp_path
):
    dev_env = {"DEBUG": "true", "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    start_worker(**dev_env)
    server = LiveServer(
        {**dev_env, "PANOPTO_ALLOWED_HOSTS": "127.0.0.1", "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true"},
        tmp_path / "gunicorn.log",
        workers=1,
    ).wait_ready()
    try:
        demo = run_demo(server, tmp_path / "demo", seconds=3, env=dev_env)
    finally:
        server.stop()

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "status=completed progress=100" in demo.stdout
    lecture = Lecture.objects.get(title="Demo lecture")
    assert lecture.status == Lecture.Status.COMPLETED
    saved = Path(tmp_path / "demo" / f"{lecture.id}.m4a")
    with av.open(str(saved)) as audio:
        assert [stream.type for stream in audio.streams] == ["audio"]
        assert audio.duration / 1_000_000 == pytest.approx(3, abs=0.5)


def test_the_demo_says_how_to_restart_a_server_that_refuses_loopback_sources(
    transactional_db, settings, tmp_path
):
    dev_env = {"DEBUG": "true", "MEDIA_ROOT": str(settings.MEDIA_ROOT)}
    server = LiveServer(dev_env, tmp_path / "gunicorn.log", workers=1).wait_ready()
    try:
        demo = run_demo(server, tmp_path / "demo", seconds=1, env=dev_env)
    finally:
        server.stop()

    assert demo.returncode == 1
    assert "PANOPTO_ALLOWED_HOSTS=127.0.0.1 PANOPTO_ALLOW_PRIVATE_NETWORKS=true" in demo.stderr
    assert not Lecture.objects.exists()
