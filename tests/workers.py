"""What each pytest-xdist worker keeps to itself, so that workers running at once never
share state outside their own test database (pytest-django makes ``test_…_gw0``, ``_gw1``…).

Everything else a test starts is per worker already: servers bind port 0, files go under
``tmp_path``, and each worker's session starts its own S3, media and provider servers.
"""

from __future__ import annotations

import os

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
