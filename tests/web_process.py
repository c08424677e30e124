"""The Procfile's web process, ``python deploy/web.py`` (nginx in front of gunicorn, or
gunicorn alone where nginx is not installed), on a loopback port and the test database.

Data a test wants the server to see must be committed: use ``transactional_db``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from tests.live_server import ROOT, current_database_url, free_port
from tests.waiting import wait_until

NGINX_INSTALLED = bool(shutil.which("nginx") or Path("/usr/sbin/nginx").exists())


@dataclass(frozen=True)
class WebProcess:
    url: str
    process: subprocess.Popen

    def gunicorn_workers(self) -> list[psutil.Process]:
        """gunicorn's worker processes: the children of its master, which is the child of
        ``deploy/web.py`` that runs gunicorn (or ``deploy/web.py`` itself, which becomes
        gunicorn where nginx is not installed)."""
        web = psutil.Process(self.process.pid)
        master = next(
            (p for p in [web, *web.children()] if "gunicorn" in " ".join(p.cmdline())), web
        )
        return master.children()


@contextmanager
def web_process(log: Path, **env: str) -> Iterator[str]:
    """``deploy/web.py`` with the production-like base (``DEBUG=false``) and ``env``, its
    output in ``log``: its URL once ``/healthz`` answers; stopped with SIGTERM after."""
    with serving(log, **env) as web:
        yield web.url


@contextmanager
def serving(log: Path, **env: str) -> Iterator[WebProcess]:
    """``web_process``, with the process itself too."""
    port = free_port()
    full_env = {
        "PATH": os.environ["PATH"] + ":/usr/sbin",
        "HOME": os.environ.get("HOME", "/tmp"),
        "DJANGO_SETTINGS_MODULE": "studybuddy.settings.test",
        "DATABASE_URL": current_database_url(),
        "DEBUG": "false",
        "WEB_HOST": "127.0.0.1",
        "PORT": str(port),
        # The launcher empties its metrics directory: this test's own, not the checkout's.
        "METRICS_DIR": str(log.parent / "metrics"),
        **env,
    }
    url = f"http://127.0.0.1:{port}"
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "deploy/web.py"],
            cwd=ROOT,
            env=full_env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            wait_until(
                lambda: _ready(url, process, log), timeout=30, message="deploy/web.py not ready"
            )
            yield WebProcess(url, process)
        finally:
            process.terminate()
            process.wait(timeout=30)


def _ready(url: str, process: subprocess.Popen, log: Path) -> bool:
    assert process.poll() is None, f"deploy/web.py exited:\n{log.read_text()[-4000:]}"
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
