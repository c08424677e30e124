"""Fixtures for the lecture tests: generated media and the misbehaving media server."""

from __future__ import annotations

from pathlib import Path

import pytest

from lectures import jobs
from lectures.fetch import SourcePolicy


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
    """A scratch directory like the job's: what a download keeps on disk (HLS probes, a
    file downloaded whole) goes here. Apart from ``lecture_settings``' DOWNLOAD_TEMP_DIR."""
    path = tmp_path / "download"
    path.mkdir()
    return path


@pytest.fixture
def scratch_seen(monkeypatch):
    """What the job's scratch directory held once the audio was extracted."""
    seen: list[list[str]] = []
    real = jobs.extract_audio

    def spy(source, dest, progress=None):
        result = real(source, dest, progress)
        seen.append(sorted(p.name for p in Path(dest).parent.iterdir()))
        return result

    monkeypatch.setattr(jobs, "extract_audio", spy)
    return seen
