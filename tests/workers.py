"""What each pytest-xdist worker keeps to itself, so that workers running at once never
share state outside their own test database (pytest-django makes ``test_…_gw0``, ``_gw1``…),
and what they share.

Everything else a test starts is per worker already: servers bind port 0, files go under
``tmp_path``, and each worker's session starts its own S3, media and provider servers. The
generated recordings are the one thing the workers of a run share (``made_once``): written
once, then only read.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# "gw0", "gw1", … under ``pytest -n``; unset in a plain ``pytest`` run.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
INDEX = int(WORKER[2:]) if WORKER.startswith("gw") else 0

# A Redis server has 16 logical databases: 0 is left to ``make run``, 1-15 are one worker's
# each. The rate limits' Redis store clears its keys between tests, so two workers in one
# database would wipe each other's counts.
REDIS_DATABASES = 15
if INDEX >= REDIS_DATABASES:
    raise RuntimeError(
        f"pytest-xdist worker {WORKER}: at most {REDIS_DATABASES} workers have a Redis "
        "database of their own; run with fewer (-n 15)"
    )
REDIS_URL = f"redis://127.0.0.1:6379/{1 + INDEX}"


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (created if missing), shared with the other workers."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def made_once(run_dir: Path, name: str, make: Callable[[Path], T]) -> T:
    """``make(directory)``, run by the first worker of the run that asks; the others wait
    for it and get the same (pickled) result, so what it wrote must stay read-only.
    ``run_dir`` is shared by the run's workers and by no other run."""
    result = run_dir / f"{name}.pickle"
    with locked(run_dir / f"{name}.lock"):
        if result.exists():
            return pickle.loads(result.read_bytes())  # noqa: S301 - written by this run
        directory = run_dir / name
        # What a worker that failed here left, so that the next one tries afresh.
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir()
        made = make(directory)
        partial = result.with_suffix(".partial")
        partial.write_bytes(pickle.dumps(made))
        partial.replace(result)  # whole or absent, for a worker that reads it
        return made
