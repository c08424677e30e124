"""The Procfile's ``worker`` process: ``manage.py qcluster``, stopped the way it can stop.

django-q2 1.11's cluster hangs for ever when SIGTERM reaches *every* process of it: its
guard process dies on the signal while waiting on the stop event, and the main process then
waits for the guard. That is what honcho (``make run``'s Ctrl-C) and systemd's default stop
mode send: a signal to the whole process group. So the cluster runs in a session of its
own, and a SIGTERM or SIGINT to this process (or to its group) reaches the cluster's main
process only, which stops its workers and exits; an idle worker is gone within a second
or two. A second signal, or a cluster still running after ``STOP_GRACE_SECONDS``, kills it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Longer than a job needs to notice the stop and write its row back (the heartbeat's
# interval); a job still running after that is recovered by the next delivery anyway.
STOP_GRACE_SECONDS = 30


def _metrics_dir() -> str:
    """The cluster's ``METRICS_DIR/worker`` (``studybuddy.startup.prepare_metrics_dir``)."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
    from studybuddy.startup import load_settings_or_exit, prepare_metrics_dir

    load_settings_or_exit()
    return prepare_metrics_dir("worker")


def main() -> int:
    # Every process of the cluster records its metrics there; the web process's
    # GET /metrics sums them with its own.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": _metrics_dir()}
    cluster = subprocess.Popen(
        [sys.executable, "manage.py", "qcluster"], cwd=ROOT, env=env, start_new_session=True
    )
    stop_requested_at: float | None = None

    def stop(signum, frame) -> None:
        nonlocal stop_requested_at
        if stop_requested_at is None:
            stop_requested_at = time.monotonic()
            cluster.send_signal(signal.SIGTERM)
        else:
            os.killpg(cluster.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while True:
        try:
            cluster.wait(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            stopping_for = time.monotonic() - (stop_requested_at or time.monotonic())
            if stopping_for > STOP_GRACE_SECONDS:
                os.killpg(cluster.pid, signal.SIGKILL)
    return cluster.returncode if stop_requested_at is None else 0


if __name__ == "__main__":
    sys.exit(main())
