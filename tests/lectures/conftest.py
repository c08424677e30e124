"""Fixtures for the lecture tests: generated media and the misbehaving media server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lectures.sources import SourcePolicy
from tests.lectures.media import MediaSet, generate_media_set
from tests.lectures.media_server import MediaServer


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> MediaSet:
    """Every test recording, generated once per session."""
    return generate_media_set(tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="session")
def media_server(media: MediaSet) -> Iterator[MediaServer]:
    """The media server on 127.0.0.1 (random port), serving ``media.root`` at /files/."""
    server = MediaServer(media.root).start()
    yield server
    server.stop()


@pytest.fixture
def policy() -> SourcePolicy:
    """What tests download with: loopback allowed (the server is there), quick retries."""
    return SourcePolicy(
        allowed_hosts=("127.0.0.1",),
        allow_private_networks=True,
        connect_timeout=2.0,
        read_timeout=2.0,
        max_retries=2,
        backoff_base=0.01,
        backoff_cap=0.05,
    )


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    """Where a download lands."""
    return tmp_path / "source.bin"


@pytest.fixture
def lecture_settings(settings, tmp_path: Path):
    """The Django side of the pipeline pointed at the loopback media server."""
    settings.PANOPTO_ALLOWED_HOSTS = ["127.0.0.1"]
    settings.PANOPTO_ALLOW_PRIVATE_NETWORKS = True
    settings.LECTURE_CONNECT_TIMEOUT_SECONDS = 2.0
    settings.LECTURE_READ_TIMEOUT_SECONDS = 2.0
    settings.LECTURE_DOWNLOAD_RETRIES = 2
    settings.LECTURE_RETRY_BACKOFF_SECONDS = 0.01
    settings.DOWNLOAD_TEMP_DIR = str(tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    return settings
