"""Enqueue → start latency of django-q2 tasks with the configured broker (``TASK_BROKER``).

``python -m tests.benchmarks.queue_latency COUNT`` (Django settings from the environment,
a ``qcluster`` on the same settings already running) enqueues COUNT trivial tasks one at a
time, each after the previous one ran and after a random pause (so enqueues do not
phase-lock with the broker's polling), and prints the latencies in seconds as JSON.
"""

from __future__ import annotations

import json
import random
import sys
import time

import django

TIMEOUT_SECONDS = 30.0


def main() -> None:
    django.setup()
    from django_q.tasks import async_task, result

    count = int(sys.argv[1])
    rng = random.Random(7)
    latencies = []
    for _ in range(count):
        time.sleep(rng.uniform(0.0, 0.3))
        enqueued = time.time()
        task_id = async_task("tests.benchmarks.tasks.started")
        started = result(task_id, wait=int(TIMEOUT_SECONDS * 1000))
        if started is None:
            raise SystemExit(f"task {task_id} did not run within {TIMEOUT_SECONDS:.0f} s")
        latencies.append(started - enqueued)
    print(json.dumps(latencies))


if __name__ == "__main__":
    main()
