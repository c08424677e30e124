"""Turns a configuration error into one clear line instead of a traceback, at start-up."""

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit() -> None:
    """Import the settings now; on a malformed value print one line and exit 2."""
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching a setting imports the module
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"configuration error: {exc}\n")
        sys.exit(2)


def check_or_exit() -> None:
    """Set Django up and run the system checks (settings that contradict each other are
    errors there); on an error print one line for each, with its id, and exit 2.

    What the web process, the WSGI/ASGI application and the worker run before they serve.
    """
    import django
    from django.core import checks

    load_settings_or_exit()
    django.setup(set_prefix=False)
    errors = [m for m in checks.run_checks() if m.is_serious() and not m.is_silenced()]
    for error in errors:
        where = f"{error.obj}: " if error.obj is not None else ""
        sys.stderr.write(f"configuration error: {where}{error.msg} ({error.id})\n")
    if errors:
        sys.exit(2)


def prepare_metrics_dir(role: str) -> str:
    """``METRICS_DIR/<role>``, created and emptied, for the processes a launcher starts
    (``deploy/web.py``: ``web``, ``deploy/worker.py``: ``worker``) to record their metrics
    in (``PROMETHEUS_MULTIPROC_DIR``). Emptied because its files are the counts of a run
    that ended: one file per process, so a directory kept across restarts only grows, and
    a count that starts again from zero is what Prometheus expects of a restart. The
    directory itself stays: another process may be about to write into it."""
    from django.conf import settings

    directory = Path(settings.METRICS_DIR) / role
    directory.mkdir(parents=True, exist_ok=True)
    for leftover in directory.glob("*.db"):
        leftover.unlink(missing_ok=True)
    return str(directory)
