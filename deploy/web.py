"""The Procfile's ``web`` process: nginx reading every request in full, gunicorn behind it.

nginx listens on ``WEB_HOST:PORT`` and hands complete requests to gunicorn (``gthread``
workers) over a unix socket, so slow or stalled clients never hold a gunicorn worker (see
``deploy/nginx.conf.template``). Without nginx on the PATH, gunicorn listens itself: allowed
under ``DEBUG`` (``make run`` on loopback) and with ``WEB_BEHIND_BUFFERING_PROXY=true`` (the
platform's proxy buffers requests), refused otherwise. The two processes live and die
together: when either exits, the other is stopped, and SIGTERM/SIGINT stop both.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
# Room for the multipart framing around the largest file the service accepts.
MULTIPART_OVERHEAD_BYTES = 1024 * 1024

# nginx reads a request's head (request line and headers) into at most HEAD_BUFFERS buffers
# of HEAD_BUFFER_BYTES (large_client_header_buffers); the request line and each header line
# must fit in one. Larger heads are refused by nginx with the JSON error body (414, 431).
HEAD_BUFFERS = 4
HEAD_BUFFER_BYTES = 16 * 1024
# nginx's wait for gunicorn's next bytes when no answer streams for longer.
PROXY_READ_TIMEOUT_SECONDS = 120
# gunicorn's own refusals are HTML pages, so behind nginx gunicorn's limits sit above
# anything nginx passes on, and nginx is the only gate:
# - request line: gunicorn takes at most 8190 bytes unless the limit is 0 (none); nginx's
#   one buffer bounds the line.
# - one header: nginx joins every X-Forwarded-For into one and appends the client's
#   address, so a header it forwards is never longer than the whole head plus 1 KiB
#   (gunicorn reads a field size of 0 as its default, 8190, so the limit is that number).
# - headers: one takes at least 3 bytes ("a:" and LF), so a head holds at most 21,845;
#   gunicorn's largest count, 32768, is above that.
BEHIND_NGINX_LIMITS = [
    "--limit-request-line",
    "0",
    "--limit-request-field_size",
    str(HEAD_BUFFERS * HEAD_BUFFER_BYTES + 1024),
    "--limit-request-fields",
    "32768",
]


def _settings():
    """The settings, read without setting Django up: this process only supervises nginx and
    gunicorn, and need not hold every app in memory while it does. The system checks run in
    gunicorn's master as it loads the application (``--preload``, ``studybuddy.wsgi``),
    before it opens its socket or forks a worker, so before nginx starts; on an error it
    exits 2 with one line for each."""
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studybuddy.settings.production")
    from django.conf import settings

    from studybuddy.startup import load_settings_or_exit

    load_settings_or_exit()
    return settings


def gunicorn_log_config(settings) -> dict:
    """gunicorn's logging: its own lines (start, workers, a worker's time-out) through the
    service's handler, so they have its format (``LOG_FORMAT``) and its redaction. No access
    log: Django logs each request (``studybuddy.requests``) with its id and route template,
    where gunicorn's line would have the path and the query string, which may hold a token
    or a signed URL."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        **{part: settings.LOGGING[part] for part in ("filters", "formatters", "handlers")},
        "root": {"handlers": ["console"], "level": settings.LOG_LEVEL},
        "loggers": {
            "gunicorn.error": {
                "handlers": ["console"],
                "level": settings.LOG_LEVEL,
                "propagate": False,
            },
            "gunicorn.access": {"handlers": [], "level": "CRITICAL", "propagate": False},
        },
    }


def _gunicorn_command(bind: str, settings, runtime_dir: Path) -> list[str]:
    # gunicorn reads its logging configuration from a file, at start and on SIGHUP.
    log_config = runtime_dir / "gunicorn-logging.json"
    log_config.write_text(json.dumps(gunicorn_log_config(settings)))
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "studybuddy.wsgi",
        "--bind",
        bind,
        "--worker-class",
        "gthread",
        "--workers",
        str(settings.WEB_CONCURRENCY),
        "--threads",
        str(settings.WEB_THREADS),
        "--timeout",
        "120",
        # The application is imported once, in the master, and each worker is a fork of it:
        # a worker costs no import of its own (2 workers: 1.5 s of CPU from start to ready
        # against 2.9 s) and shares the master's pages until it writes them. A new release
        # is a restart of this process; SIGHUP re-forks workers from the code already loaded.
        "--preload",
        "--log-config-json",
        str(log_config),
    ]


def render_nginx_conf(runtime_dir: Path, *, bind: str, settings) -> Path:
    """Write the nginx configuration for this run into ``runtime_dir``."""
    max_body = settings.WEB_MAX_BODY_BYTES + MULTIPART_OVERHEAD_BYTES
    values = {
        "RUNTIME_DIR": str(runtime_dir),
        "BIND": bind,
        "CLIENT_TIMEOUT": str(settings.WEB_CLIENT_TIMEOUT_SECONDS),
        "MAX_BODY_BYTES": str(max_body),
        "HEAD_BUFFERS": str(HEAD_BUFFERS),
        "HEAD_BUFFER_BYTES": str(HEAD_BUFFER_BYTES),
        "PROXY_READ_TIMEOUT": str(
            max(PROXY_READ_TIMEOUT_SECONDS, settings.ASSISTANT_TIMEOUT_SECONDS + 10)
        ),
        # As root, nginx's workers drop to an unprivileged user; they write its temp files.
        "USER": "user nobody nogroup;" if os.geteuid() == 0 else "",
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    conf = runtime_dir / "nginx.conf"
    conf.write_text(text)
    return conf


def _runtime_dir() -> Path:
    runtime = Path(tempfile.mkdtemp(prefix="studybuddy-web-"))
    runtime.chmod(0o755)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (runtime / name).mkdir()
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(runtime / name, nobody.pw_uid, nobody.pw_gid)
    return runtime


def _wait_for_socket(path: Path, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            if process.returncode < 0:
                raise SystemExit(f"gunicorn was stopped by signal {-process.returncode}")
            # gunicorn said why (a failed system check): its status is ours.
            raise SystemExit(process.returncode or 1)
        if time.monotonic() > deadline:
            raise SystemExit(f"gunicorn did not open {path} within {timeout:.0f} s")
        time.sleep(0.05)


def _supervise(processes: list[subprocess.Popen]) -> int:
    """Run until one process exits or a stop signal comes; then stop the rest."""
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while not stopping:
        exited = [p for p in processes if p.poll() is not None]
        if exited:
            status = exited[0].returncode or 1
            break
        time.sleep(0.2)
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM if process is processes[0] else signal.SIGQUIT)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    return 0 if stopping else status


def main() -> int:
    settings = _settings()
    from studybuddy.startup import prepare_metrics_dir

    # Every gunicorn worker records its metrics there, and GET /metrics sums them.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = prepare_metrics_dir("web")
    bind = f"{os.environ.get('WEB_HOST', '0.0.0.0')}:{os.environ.get('PORT', '8000')}"  # noqa: S104
    nginx = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )
    if nginx is None:
        # This process refuses, or becomes gunicorn: the checks first, so that a
        # configuration error is the one line it prints.
        from studybuddy.startup import check_or_exit

        check_or_exit()
        if not (settings.DEBUG or settings.WEB_BEHIND_BUFFERING_PROXY):
            print(
                "configuration error: nginx is not installed, and gunicorn alone is taken down "
                "by slow clients; install nginx, or set WEB_BEHIND_BUFFERING_PROXY=true if a "
                "proxy in front buffers whole requests",
                file=sys.stderr,
            )
            return 2
        print(f"web: nginx not found; gunicorn serves {bind} itself", file=sys.stderr)
        # The directory outlives this process (exec) for gunicorn, which rereads its
        # logging configuration there on SIGHUP.
        runtime = Path(tempfile.mkdtemp(prefix="studybuddy-web-"))
        os.execv(sys.executable, _gunicorn_command(bind, settings, runtime))

    runtime = _runtime_dir()
    socket_path = runtime / "gunicorn.sock"
    gunicorn = subprocess.Popen(
        [
            *_gunicorn_command(f"unix:{socket_path}", settings, runtime),
            *BEHIND_NGINX_LIMITS,
            "--umask",
            "0",
        ],
        cwd=ROOT,
    )
    try:
        _wait_for_socket(socket_path, gunicorn)
        conf = render_nginx_conf(runtime, bind=bind, settings=settings)
        nginx_process = subprocess.Popen(
            [nginx, "-e", "stderr", "-p", str(runtime), "-c", str(conf), "-g", "daemon off;"]
        )
        return _supervise([gunicorn, nginx_process])
    finally:
        if gunicorn.poll() is None:
            gunicorn.terminate()
            gunicorn.wait(timeout=30)
        shutil.rmtree(runtime, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
