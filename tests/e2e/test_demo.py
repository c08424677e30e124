"""`make demo`: the README's walk-through runs against a real server and worker, from the
download to a transcript made by the fake transcription provider and a search hit."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import av
import httpx
import pytest

from lectures.models import Lecture
from tests.live_server import ROOT, LiveServer, current_database_url
from transcripts.models import Transcript, TranscriptSegment

pytestmark = pytest.mark.e2e

LOOPBACK_SOURCES = {"PANOPTO_ALLOWED_HOSTS": "127.0.0.1", "PANOPTO_ALLOW_PRIVATE_NETWORKS": "true"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def manage(*command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """``manage.py *command`` in the checkout, as a user runs it next to `make run`."""
    return subprocess.run(
        [sys.executable, "manage.py", *command],
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


def run_demo(
    server: LiveServer, work_dir: Path, *, seconds: int, provider_port: int, env: dict[str, str]
) -> subprocess.CompletedProcess:
    """``manage.py demo_lecture`` against ``server``, as `make demo` runs it."""
    return manage(
        "demo_lecture",
        "--url",
        server.url,
        "--seconds",
        str(seconds),
        "--provider-port",
        str(provider_port),
        "--work-dir",
        str(work_dir),
        env=env,
    )


@pytest.fixture
def dev_env(settings) -> dict[str, str]:
    """What `make run` and `make demo` share: dev auth (DEBUG, no Clerk key), one storage."""
    return {"DEBUG": "true", "MEDIA_ROOT": str(settings.MEDIA_ROOT)}


@pytest.fixture
def service(start_worker, dev_env, tmp_path):
    """``service(**env)``: a worker and a web server with ``env``, as `make run` starts them."""
    servers: list[LiveServer] = []

    def start(**env: str) -> LiveServer:
        start_worker(**dev_env, **env)
        server = LiveServer({**dev_env, **env}, tmp_path / "gunicorn.log", workers=1)
        servers.append(server)
        return server.wait_ready()

    yield start
    for server in servers:
        server.stop()


def transcribing_with(provider_port: int) -> dict[str, str]:
    return {
        **LOOPBACK_SOURCES,
        "TRANSCRIPTION_BACKEND": "openai",
        "TRANSCRIPTION_BASE_URL": f"http://127.0.0.1:{provider_port}/v1",
    }


def test_the_demo_goes_from_the_download_to_a_transcript_and_a_search_hit(
    service, dev_env, tmp_path
):
    provider_port = free_port()
    server = service(**transcribing_with(provider_port))

    demo = run_demo(server, tmp_path / "demo", seconds=15, provider_port=provider_port, env=dev_env)

    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "status=completed progress=100" in demo.stdout
    assert "transcript_status=completed transcript_progress=100" in demo.stdout
    lecture = Lecture.objects.get(title="Demo lecture")
    assert lecture.status == Lecture.Status.COMPLETED
    with av.open(str(tmp_path / "demo" / f"{lecture.id}.m4a")) as audio:
        assert [stream.type for stream in audio.streams] == ["audio"]
        assert audio.duration / 1_000_000 == pytest.approx(15, abs=0.5)
    transcript = Transcript.objects.get(lecture=lecture)
    assert (transcript.status, transcript.source) == ("completed", "provider")
    segments = list(TranscriptSegment.objects.filter(lecture=lecture).order_by("index"))
    # The stand-in's segments, about 10 s each over the audio's real duration, say what
    # they are.
    assert [s.start for s in segments] == [0.0, 10.0]
    assert segments[-1].end == pytest.approx(15, abs=0.5)
    assert all("fake transcription provider" in s.text for s in segments)
    assert all("no speech recognition ran" in s.text for s in segments)
    assert f"The search lands on lecture {lecture.id} ('Demo lecture') at 0-10 s" in demo.stdout
    assert "<mark>fake</mark>" in demo.stdout
    # Every run in one test: each starts a server and a worker, and the suite's time counts.
    # The user it names: the printed dev_token line gives a token that sees the lecture.
    lines = re.findall(r"TOKEN=\$\(\.venv/bin/python manage\.py (dev_token [^)]*)\)", demo.stdout)
    assert lines == ["dev_token --user alice"] * 2  # before the first request and at the end
    token = manage(*lines[0].split(), env=dev_env).stdout.strip()
    seen = httpx.get(
        f"{server.url}/api/lectures/{lecture.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert (seen.status_code, seen.json()["title"]) == (200, "Demo lecture")
    # How to use a real provider instead, on the port the user chose.
    assert (
        "TRANSCRIPTION_BACKEND=openai TRANSCRIPTION_BASE_URL=https://api.openai.com/v1 "
        f"TRANSCRIPTION_API_KEY=sk-… PORT={server.port} make run"
    ) in demo.stdout


def test_the_demo_says_how_to_restart_a_service_that_does_not_transcribe(
    service, dev_env, tmp_path
):
    provider_port = free_port()
    server = service(**LOOPBACK_SOURCES)

    demo = run_demo(server, tmp_path / "demo", seconds=1, provider_port=provider_port, env=dev_env)

    assert demo.returncode == 1
    assert "status=completed progress=100" in demo.stdout
    assert (
        "transcription is off in the server: restart it with PANOPTO_ALLOWED_HOSTS=127.0.0.1 "
        "PANOPTO_ALLOW_PRIVATE_NETWORKS=true TRANSCRIPTION_BACKEND=openai "
        f"TRANSCRIPTION_BASE_URL=http://127.0.0.1:{provider_port}/v1 PORT={server.port} make run"
    ) in demo.stderr


def test_the_demo_says_how_to_restart_a_server_that_refuses_loopback_sources(
    transactional_db, dev_env, tmp_path
):
    server = LiveServer(dev_env, tmp_path / "gunicorn.log", workers=1).wait_ready()
    try:
        demo = run_demo(server, tmp_path / "demo", seconds=1, provider_port=8300, env=dev_env)
    finally:
        server.stop()

    assert demo.returncode == 1
    assert (
        "the server refuses loopback sources: restart it with PANOPTO_ALLOWED_HOSTS=127.0.0.1 "
        "PANOPTO_ALLOW_PRIVATE_NETWORKS=true TRANSCRIPTION_BACKEND=openai "
        f"TRANSCRIPTION_BASE_URL=http://127.0.0.1:8300/v1 PORT={server.port} make run"
    ) in demo.stderr
    assert not Lecture.objects.exists()
