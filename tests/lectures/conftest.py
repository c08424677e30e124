"""Fixtures for the lecture tests: generated media and the misbehaving media server."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    """Where a download lands."""
    return tmp_path / "source.bin"
